"""Reading the user's YAML files (configuration, device maps) without trusting them.

One bounded reader for both: only regular files (a FIFO would block, ``/dev/zero`` never
ends), at most ``limit`` bytes, UTF-8 or a clear error, and YAML without alias bombs.
Errors never quote the file's content, since a mistyped path may name a file of secrets.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_YAML_BYTES = 1024 * 1024  # a map is ~10 KiB, a configuration less
MAX_NODES = 200_000  # values in the document with aliases expanded ("billion laughs")
MAX_DEPTH = 64  # flow nesting ([ and {) before parsing
MAX_PATH_CHARS = 4096
_BRACKETS = re.compile(r"[\[\]{}]")


def read_text(path: str | Path, limit: int = MAX_YAML_BYTES) -> str:
    """The file's text; ``ValueError`` with the path and the reason otherwise."""
    name = str(path)
    if len(name) > MAX_PATH_CHARS:
        raise ValueError(f"{name[:64]}...: path too long")
    try:
        info = os.stat(name)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{name}: not a regular file")
        if info.st_size > limit:
            raise ValueError(f"{name}: larger than {limit} bytes")
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):  # swapped since stat
                raise ValueError(f"{name}: not a regular file")
            data = file.read(limit + 1)
    except OSError as err:
        raise ValueError(f"{name}: cannot read: {err.strerror or err}") from None
    if len(data) > limit:
        raise ValueError(f"{name}: larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{name}: not UTF-8 text (byte {err.start})") from None


def load_yaml(text: str, where: str) -> Any:
    """Parse YAML; errors give the position only, never the offending line.

    Nesting is bounded before parsing and the size of the result after it (aliases let a
    small file stand for an exponentially large document, which validation would walk).
    """
    if _flow_depth(text) > MAX_DEPTH:
        raise ValueError(f"{where}: YAML nested deeper than {MAX_DEPTH} levels")
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{where}: not valid YAML{at}: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{where}: not valid YAML ({type(err).__name__})") from None
    except RecursionError:
        raise ValueError(f"{where}: YAML nested too deeply") from None
    if not _within(data, MAX_NODES):
        raise ValueError(f"{where}: YAML document too large once aliases are expanded")
    return data


def _flow_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting (quotes not considered: an upper bound)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def _within(data: Any, budget: int) -> bool:
    """Whether the document, with every alias expanded, has at most ``budget`` nodes."""
    stack = [data]
    while stack:
        budget -= 1
        if budget < 0:
            return False
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True
