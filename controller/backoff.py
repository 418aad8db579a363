"""Capped exponential backoff for every link the controller keeps up (the MQTT broker,
a charging backend): the first failure of a run is worth a log line, the retries are not."""

from __future__ import annotations

import asyncio


class Backoff:
    """Waits ``min_s``, doubling up to ``max_s``, between failed attempts."""

    def __init__(self, min_s: float, max_s: float) -> None:
        self.min_s = min_s
        self.max_s = max_s
        self.delay = min_s
        self.failures = 0

    def succeeded(self) -> None:
        """Connected: the next loss starts from the shortest wait."""
        self.failures, self.delay = 0, self.min_s

    def failed(self) -> bool:
        """One more failure; True for the first of a run (say it loudly once)."""
        self.failures += 1
        return self.failures == 1

    async def wait(self) -> None:
        """Sleep before the next attempt, longer each time."""
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, self.max_s)
