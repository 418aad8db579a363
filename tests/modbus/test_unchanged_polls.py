"""No work without a change, and nothing lost by it: registers that read as at the previous
poll give the same values, a counter that moved gives its new exact energy, and the kernel's
timers and its over-current check still run while every poll reads the same.

Over real Modbus TCP against the simulator (``rig``, a ManualClock: a poll without advancing
it reads exactly the registers of the one before).
"""

from __future__ import annotations

import struct
from decimal import Decimal

from controller.everest import EnforcedLimits, LimitsRes, NumberWithSource
from controller.kernel.states import State

from .conftest import start_rig, stop_rig


def float32(value: float) -> bytes:
    return struct.pack(">f", value)


async def test_unchanged_registers_give_the_same_values_and_a_moved_counter_its_exact_energy(
    rig,
):
    await rig.start_charging()
    first = rig.manager.vars()["powermeter"]
    await rig.manager.poll_now()
    await rig.manager.poll_now()
    again = rig.manager.vars()["powermeter"]
    assert again.energy_Wh_import == first.energy_Wh_import
    assert (again.power_W, again.voltage_V, again.current_A, again.frequency_Hz) == (
        first.power_W,
        first.voltage_V,
        first.current_A,
        first.frequency_Hz,
    )
    assert rig.manager.state is State.Charging

    await rig.advance(60, step=60)
    moved = rig.manager.vars()["powermeter"].energy_Wh_import.total
    assert moved > first.energy_Wh_import.total
    # The SDM630 counts kWh in a float32: the value is the shortest decimal that is that
    # float32, in Wh (no binary noise such as 1234.5000505), and it is the station's.
    kwh = Decimal(repr(moved)) / 1000
    assert float32(float(kwh)) == float32(rig.station.energy_Wh / 1000)
    assert len(kwh.normalize().as_tuple().digits) <= 9
    # The other registers did not move: the same values as before.
    assert rig.manager.vars()["powermeter"].voltage_V == first.voltage_V


async def test_the_connection_timeout_runs_while_every_poll_reads_the_same(
    tmp_path, socket_enabled
):
    rig = await start_rig(tmp_path, "heidelberg_energy_control", free_charging=False)
    try:
        rig.station.plug_in()
        rig.station.draw_power(16.0, 3)
        await rig.advance(1, step=1)
        assert rig.manager.state is State.WaitingForAuthentication
        rig.updates.clear()
        status = rig.manager.vars()["cp_state"]
        energy = rig.manager.vars()["powermeter"].energy_Wh_import
        await rig.advance(58, step=1)  # nothing moves: no power without authorization
        assert [u for u in rig.updates if u.var == "session_event"] == []
        assert rig.manager.vars()["powermeter"].energy_Wh_import == energy
        await rig.advance(2, step=1)
        assert [e for e in rig.events() if e in ("Deauthorized", "PluginTimeout")] == [
            "Deauthorized",
            "PluginTimeout",
        ]
        assert rig.manager.vars()["cp_state"] == status
        assert rig.manager.state is State.WaitingForAuthentication
    finally:
        await stop_rig(rig)


async def test_over_current_is_caught_while_the_charger_reads_the_same(rig):
    await rig.start_charging()
    limit = EnforcedLimits(
        uuid="evse_manager",
        valid_for=3600,
        limits_root_side=LimitsRes(ac_max_current_A=NumberWithSource(value=10.0, source="test")),
    )
    await rig.manager.set_enforced_limits(limit)
    await rig.advance(6, step=1)  # the PWM drops 5 s after its last update
    assert rig.station.output.current_A == 10.0
    rig.station.ev.fixed_current_A = 16.0  # draws 16 A although 10 A are signalled
    await rig.advance(6, step=1)
    errors = [e.type for e in rig.manager.vars()["errors"]]
    assert "evse_manager/MREC4OverCurrentFailure" not in errors
    await rig.advance(2, step=1)
    errors = [e.type for e in rig.manager.vars()["errors"]]
    assert "evse_manager/MREC4OverCurrentFailure" in errors
    assert not rig.station.relays_on()
