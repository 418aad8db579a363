"""What arrives on the broker, made safe: command requests, control values and raw payloads.

Pure functions, so the bridge only routes; every malformed payload becomes a clear error
(``parse_request``) or a ``ValueError`` naming what was expected (``parse_control``).
"""

from __future__ import annotations

import math
from typing import Any

from ..catalog import BUTTON, NUMBER, SELECT, SWITCH, EntitySpec
from ..commands import parse_json
from .discovery import PRESS

PAYLOAD_EXCERPT = 64  # characters of a rejected input payload shown in the log


def excerpt(payload: str | None) -> str:
    """The start of a payload, for a log line."""
    body = payload or ""
    return body if len(body) <= PAYLOAD_EXCERPT else body[:PAYLOAD_EXCERPT] + "..."


def payload_text(payload: Any) -> str | None:
    """An MQTT payload as text (None for an empty message)."""
    if payload is None:
        return None
    if isinstance(payload, bytes | bytearray):
        return bytes(payload).decode("utf-8", errors="replace")
    return str(payload)


def parse_request(payload: str | None) -> tuple[Any, Any, str | None]:
    """``(id, args, error)`` of a command payload.

    Accepted: ``{"id": ..., "args": {...}}``, a bare arguments object, or nothing.
    """
    if payload is None or not payload.strip():
        return None, {}, None
    try:
        data = parse_json(payload)
    except ValueError as err:
        return None, None, str(err)
    if not isinstance(data, dict):
        return None, None, "payload must be a JSON object"
    if data and set(data) <= {"id", "args"}:
        args = data.get("args")
        return data.get("id"), {} if args is None else args, None
    return None, data, None


def parse_control(spec: EntitySpec, payload: str | None) -> Any:
    """The control value HA sent (switch ON/OFF, a number, button PRESS); ValueError if bad."""
    text = (payload or "").strip()
    if spec.platform == SWITCH:
        upper = text.upper()
        if upper in ("ON", "TRUE", "1"):
            return True
        if upper in ("OFF", "FALSE", "0"):
            return False
        raise ValueError(f"expected ON or OFF, got {text!r}")
    if spec.platform == NUMBER:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {text!r}")
        return number
    if spec.platform == BUTTON:
        if text.upper() not in ("", PRESS):
            raise ValueError(f"expected {PRESS}, got {text!r}")
        return None
    if spec.platform == SELECT:
        if text not in (spec.options or ()):
            raise ValueError(f"expected one of {', '.join(spec.options or ())}, got {text!r}")
        return text
    raise ValueError(f"{spec.key} is not a control")
