"""The CSMS's charging profiles and the energy manager's limit together, as in EVerest:
the profiles are external limits (set_external_limits), the energy manager's
enforce_limits another input, and the simulated charger is written the lower of both;
each of them ends on its own (the energy manager's after valid_for, a profile with its
schedule's duration or when it is cleared)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.commands import execute
from controller.energy.manager import EnergyManager
from controller.everest import LimitsReq, NumberWithSource
from controller.kernel.limits import EXPIRED_SOURCE

from .conftest import Rig, open_rig
from .test_commands import clear, profile, setpoint

EM_MAX_A = 13.0


def energy_manager(rig: Rig) -> EnergyManager:
    assert rig.controller.energy is not None
    return rig.controller.energy


def explained(rig: Rig) -> dict[str, Any]:
    value = rig.manager.vars()["energy_manager"]
    assert isinstance(value, dict)
    return value


@pytest.fixture
async def em_rig(tmp_path: Path, version: str, socket_enabled: None) -> Any:
    async with open_rig(tmp_path, version, {"mode": "fast", "max_current_A": EM_MAX_A}) as r:
        yield r


async def test_the_lower_of_csms_and_energy_manager_applies(em_rig: Rig) -> None:
    rig, version = em_rig, em_rig.csms.version
    await energy_manager(rig).step()
    await rig.charge()
    await setpoint(rig, EM_MAX_A)  # the energy manager's fast mode

    # The CSMS allows less: its limit applies, and the energy manager stays under it.
    assert (await rig.csms.call(profile(version, 10.0))).status == "Accepted"
    await setpoint(rig, 10.0)
    external = rig.manager.vars()["external_limits"].to_json()
    (entry,) = external["schedule_import"]
    assert entry["limits_to_leaves"]["ac_max_current_A"] == {"value": 10.0, "source": "CSMS"}
    enforced = rig.manager.vars()["enforced_limits"].limits_root_side.ac_max_current_A
    assert (enforced.value, enforced.source) == (EM_MAX_A, "energy_manager/fast")  # not replaced
    limits = await energy_manager(rig).step()
    assert limits == {"evse1": 10.0}
    assert (explained(rig)["limit_A"], explained(rig)["limited_by"]) == (10.0, "external")

    # The CSMS allows more than the energy manager: once the energy manager has decided
    # again (it had given 10 A), its own limit applies.
    assert (await rig.csms.call(profile(version, 16.0))).status == "Accepted"
    await rig.until(
        lambda: (
            rig.manager.vars()["external_limits"].schedule_import[0].limits_to_leaves
            == LimitsReq(ac_max_current_A=NumberWithSource(value=16.0, source="CSMS"))
        ),
        "16 A from the CSMS",
    )
    assert rig.manager.vars()["limits"].max_current == 10.0
    assert await energy_manager(rig).step() == {"evse1": EM_MAX_A}
    await setpoint(rig, EM_MAX_A)
    assert explained(rig)["limited_by"] == "fast"

    # The energy manager stops: its limit lapses on its own (0 A), the CSMS's stays.
    await energy_manager(rig).stop()
    rig.clock.advance(61)  # limit_valid_s 60
    await rig.manager.poll_now()
    await rig.until(lambda: rig.manager.vars()["limits"].max_current == 0.0, "0 A")
    enforced = rig.manager.vars()["enforced_limits"].limits_root_side.ac_max_current_A
    assert enforced.source == EXPIRED_SOURCE
    assert "external_limits" in rig.manager.vars()

    # Cleared at the CSMS: the external limits are lifted (an empty schedule).
    assert (await rig.csms.call(clear(version))).status == "Accepted"
    await rig.until(lambda: rig.manager.vars()["external_limits"].schedule_import == [], "lifted")


async def test_a_profile_ends_with_its_schedule(rig: Rig) -> None:
    """Without an energy manager the CSMS's limit applies directly, and a schedule with a
    duration ends by itself (the kernel follows the schedule it was given)."""
    version = rig.csms.version
    await rig.charge()
    await setpoint(rig, 16.0)
    assert (await rig.csms.call(profile(version, 8.0, duration_s=600))).status == "Accepted"
    await setpoint(rig, 8.0)
    schedule = rig.manager.vars()["external_limits"].to_json()["schedule_import"]
    assert [e["limits_to_leaves"] for e in schedule] == [
        {"ac_max_current_A": {"value": 8.0, "source": "CSMS"}},
        {},  # from the schedule's end on: no limit
    ]
    rig.clock.advance(590)  # setpoint let 5 s pass
    await rig.manager.poll_now()
    assert rig.manager.vars()["limits"].max_current == 8.0
    rig.clock.advance(5)
    await rig.manager.poll_now()
    await setpoint(rig, 16.0)


async def test_external_limits_command_is_validated(rig: Rig) -> None:
    """set_external_limits is a command like enforce_limits: bad input is an error."""
    bad_time = {
        "schedule_import": [{"timestamp": "soon", "limits_to_root": {}, "limits_to_leaves": {}}],
        "schedule_export": [],
        "schedule_setpoints": [],
    }
    result = await execute(rig.manager, "set_external_limits", {"value": bad_time})
    assert not result.ok
    assert "timestamp" in (result.error or "")
    result = await execute(rig.manager, "set_external_limits", {"value": {"schedule": []}})
    assert not result.ok
    assert rig.manager.running
