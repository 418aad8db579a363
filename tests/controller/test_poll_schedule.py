"""Polls at a fixed rate, spread across the period (issue 14).

The next poll is one interval after the one scheduled, not after the previous poll
ended, so a connector does not drift by its own bus time every period, and a busy loop
skips the polls it missed instead of firing them back to back. A controller with many
connectors gives each its own place in the period.
"""

from __future__ import annotations

import pytest

from controller.app import Controller
from controller.config import parse_config
from controller.manager import _next_poll

from ..app.test_controller import for_simulator, simulator


def test_the_next_poll_is_one_interval_after_the_scheduled_one():
    # The poll was due at 10.0 and took 0.3 s: the next is at 11.0, not at 11.3.
    assert _next_poll(10.0, 10.3, 1.0) == 11.0


def test_polls_missed_while_busy_are_skipped_on_the_grid():
    # Due at 10.0, the loop was busy until 12.5: the next is at 13.0 (not 11.0, 12.0).
    assert _next_poll(10.0, 12.5, 1.0) == 13.0
    assert _next_poll(10.0, 11.0, 1.0) == 12.0  # exactly on a grid point: the one after


def test_an_early_poll_keeps_the_scheduled_one():
    # poll_now() at 10.4 with the next poll due at 11.0: that one still comes.
    assert _next_poll(11.0, 10.4, 1.0) == 11.0


async def test_connectors_are_spread_across_the_poll_period(tmp_path, socket_enabled):
    sims = [simulator() for _ in range(4)]
    for sim in sims:
        await sim.start()
    try:
        config = parse_config(
            {
                "store": str(tmp_path / "sessions.db"),
                "connectors": {
                    f"c{i}": {**for_simulator(sim), "poll_interval_s": 2.0}
                    for i, sim in enumerate(sims)
                },
            }
        )
        controller = Controller(config)
        try:
            await controller.start()
            offsets = [controller.managers[f"c{i}"].poll_offset for i in range(4)]
        finally:
            await controller.stop()
    finally:
        for sim in sims:
            await sim.stop()
    assert offsets == pytest.approx([0.0, 0.5, 1.0, 1.5])
