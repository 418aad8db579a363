"""A command that arrives when a poll is due is written first: the setpoint does not wait
for the poll's reads (command -> register latency), and the poll still comes."""

from __future__ import annotations

import asyncio
import time

from controller.everest import EnforcedLimits, LimitsRes, NumberWithSource

from .conftest import start_rig, stop_rig

POLL_S = 0.5


def _limit(amps: float) -> EnforcedLimits:
    return EnforcedLimits(
        uuid="evse_manager",
        valid_for=600,
        limits_root_side=LimitsRes(ac_max_current_A=NumberWithSource(value=amps, source="em")),
    )


async def test_a_command_with_a_poll_due_is_written_before_the_poll(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "heidelberg_energy_control", poll_interval=POLL_S)
    try:
        await rig.start_charging()
        rig.clock.advance(6)  # past the 5 s every PWM change is held (IEC 61851-1)
        await rig.manager.poll_now()
        charger = rig.simulator.charger
        seen: list[str] = []
        on_request, on_write = charger.on_request, charger.on_write

        def request() -> None:
            seen.append("request")
            on_request()

        def write(reg, words, value) -> None:
            seen.append(f"write {reg.name}")
            on_write(reg, words, value)

        charger.on_request, charger.on_write = request, write
        command = asyncio.create_task(rig.manager.set_enforced_limits(_limit(10.0)))
        await asyncio.sleep(0)  # the command is queued
        time.sleep(POLL_S * 1.5)  # noqa: ASYNC251 - the loop is held until a poll is due
        await command
        await rig.manager.poll_now()
        assert seen[:2] == ["request", "write max_current"]
        assert "request" in seen[2:]  # read back, then the poll that was due
        assert charger.setpoint_A == 10.0
    finally:
        await stop_rig(rig)
