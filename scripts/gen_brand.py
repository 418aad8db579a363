"""Draw the integration's brand images: custom_components/evse_manager/brand/*.png.

Home Assistant 2026.3+ shows a custom integration's own ``brand/`` images (icon.png,
icon@2x.png, logo.png, logo@2x.png); older versions ignore the folder. Sizes follow the
brands repository's rules: icons square 256 and 512 px, logos landscape with the shortest side
128 and 256 px, transparent background. The picture is a Type 2 plug face with a charging bolt,
drawn with Pillow at 4x and scaled down (anti-aliasing); tests/install checks the files.
Run: .venv/bin/python scripts/gen_brand.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
BRAND = ROOT / "custom_components" / "evse_manager" / "brand"
GREEN = (0, 150, 100, 255)
WHITE = (255, 255, 255, 255)
TEXT = (40, 48, 56, 255)
SCALE = 4  # draw large, then downsample


def _icon(size: int) -> Image.Image:
    """A green disc holding a white Type 2 plug face: six pins around a charging bolt."""
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    u = big / 256  # drawing units: a 256 grid
    draw.ellipse((8 * u, 8 * u, 248 * u, 248 * u), fill=GREEN)
    # The plug face: a circle with its top flattened, as Type 2 sockets are.
    draw.ellipse((48 * u, 52 * u, 208 * u, 212 * u), fill=WHITE)
    draw.rectangle((48 * u, 48 * u, 208 * u, 72 * u), fill=GREEN)
    pins = [(100, 96), (156, 96), (76, 134), (180, 134), (100, 174), (156, 174)]
    for x, y in pins:
        r = 9 if y == 96 else 13
        draw.ellipse(((x - r) * u, (y - r) * u, (x + r) * u, (y + r) * u), fill=GREEN)
    bolt = [(138, 96), (108, 140), (126, 140), (114, 180), (150, 128), (132, 128), (146, 96)]
    draw.polygon([(x * u, y * u) for x, y in bolt], fill=GREEN)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _logo(height: int) -> Image.Image:
    """The icon and the name beside it."""
    font = ImageFont.load_default(size=int(height * 0.42))
    name = "EVSE Manager"
    left, top, right, bottom = font.getbbox(name)
    gap = height // 6
    width = height + gap + (right - left) + gap
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.alpha_composite(_icon(height))
    draw = ImageDraw.Draw(image)
    draw.text(
        (height + gap - left, (height - (bottom - top)) // 2 - top), name, font=font, fill=TEXT
    )
    return image


def images() -> dict[str, Image.Image]:
    return {
        "icon.png": _icon(256),
        "icon@2x.png": _icon(512),
        "logo.png": _logo(128),
        "logo@2x.png": _logo(256),
    }


if __name__ == "__main__":
    BRAND.mkdir(parents=True, exist_ok=True)
    for name, image in images().items():
        image.save(BRAND / name, optimize=True)
        print(f"wrote {(BRAND / name).relative_to(ROOT)} {image.size[0]}x{image.size[1]}")
