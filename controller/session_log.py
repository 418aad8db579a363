"""Per-session log files, as EVerest's EvseManager ``session_logging`` writes them.

SessionLog.cpp startSession: a directory ``<session_logging_path>/<timestamp>-<session id>``
(the ``logging_path`` of SessionStarted) holding ``incomplete-eventlog.csv`` while the
session runs, renamed to ``eventlog.csv`` at SessionFinished. Each line is one update of the
connector: time, variable, JSON value. A file that cannot be written is logged once and the
session goes on without it (a log must never stop charging).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import IO, Any

from .clock import Clock, SystemClock, rfc3339
from .manager import Update

_LOGGER = logging.getLogger(__name__)
INCOMPLETE = "incomplete-eventlog.csv"
COMPLETE = "eventlog.csv"


def _json(value: Any) -> str:
    data = value.to_json() if hasattr(value, "to_json") else value
    return json.dumps(data, default=str, separators=(",", ":"))


class SessionLog:
    """Subscribe ``on_update`` to a connector's manager."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._dir: Path | None = None
        self._file: IO[str] | None = None

    def on_update(self, update: Update) -> None:
        """Open at SessionStarted (with a logging_path), write, close at SessionFinished."""
        event = update.value.event.value if update.var == "session_event" else None
        if event == "SessionStarted":
            self._open(update.value.session_started.logging_path)
        self._write(update)
        if event == "SessionFinished":
            self._close()

    def _open(self, path: str | None) -> None:
        self._close()
        if path is None:
            return
        try:
            self._dir = Path(path)
            self._dir.mkdir(parents=True, exist_ok=True)
            self._file = (self._dir / INCOMPLETE).open("w", encoding="utf-8")
        except OSError as err:
            _LOGGER.error("session log %s: %s", path, err)
            self._dir = self._file = None

    def _write(self, update: Update) -> None:
        if self._file is None:
            return
        try:
            now = rfc3339(self._clock.now())
            self._file.write(f"{now},{update.var},{_json(update.value)}\n")
            self._file.flush()
        except OSError as err:
            _LOGGER.error("session log: %s", err)
            self._close()

    def _close(self) -> None:
        if self._file is None or self._dir is None:
            return
        try:
            self._file.close()
            (self._dir / INCOMPLETE).replace(self._dir / COMPLETE)
        except OSError as err:
            _LOGGER.error("session log: %s", err)
        self._dir = self._file = None
