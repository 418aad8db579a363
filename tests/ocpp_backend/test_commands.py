"""What the CSMS asks, done on the simulator: remote start / stop, availability,
charging profiles, unlock, triggers; and anything unsupported or malformed answered
with a CALLERROR while the connection and the controller carry on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.v16 import call as c16
from ocpp.v201 import call as c201

from controller.kernel.states import State

from .conftest import Rig, open_rig


def remote_start(version: str, token: str) -> Any:
    if version == "1.6":
        return c16.RemoteStartTransaction(id_tag=token, connector_id=1)
    return c201.RequestStartTransaction(
        id_token={"id_token": token, "type": "Central"}, remote_start_id=7, evse_id=1
    )


def availability(version: str, operative: bool) -> Any:
    kind = "Operative" if operative else "Inoperative"
    if version == "1.6":
        return c16.ChangeAvailability(connector_id=0, type=kind)
    return c201.ChangeAvailability(operational_status=kind)


def profile(
    version: str,
    limit: float,
    unit: str = "A",
    profile_id: int = 1,
    duration_s: int | None = None,
) -> Any:
    """A TxDefaultProfile of ``limit`` (in ``unit``) on connector / EVSE 1, for
    ``duration_s`` seconds when given."""
    schedule: dict[str, Any] = {
        "charging_rate_unit": unit,
        "charging_schedule_period": [{"start_period": 0, "limit": limit}],
    }
    if duration_s is not None:
        schedule["duration"] = duration_s
    common = {
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Relative",
    }
    if version == "1.6":
        return c16.SetChargingProfile(
            connector_id=1,
            cs_charging_profiles={
                "charging_profile_id": profile_id,
                **common,
                "charging_schedule": schedule,
            },
        )
    return c201.SetChargingProfile(
        evse_id=1,
        charging_profile={"id": profile_id, **common, "charging_schedule": [{"id": 1, **schedule}]},
    )


def clear(version: str) -> Any:
    if version == "1.6":
        return c16.ClearChargingProfile(id=1)
    return c201.ClearChargingProfile(charging_profile_id=1)


async def test_remote_start_and_stop_drive_the_simulator(rig: Rig) -> None:
    version = rig.csms.version
    answer = await rig.csms.call(remote_start(version, "REMOTE01"))
    assert answer.status == "Accepted"
    rig.station.plug_in()
    rig.station.draw_power(16.0, 3)
    await rig.until(lambda: rig.manager.state is State.Charging, "charging")
    assert rig.station.power_W() > 0
    await rig.delivered()
    if version == "1.6":
        (start,) = rig.csms.of("StartTransaction")
        assert start["id_tag"] == "REMOTE01"
        stop: Any = c16.RemoteStopTransaction(transaction_id=rig.csms.last_tx)
    else:
        started = rig.csms.of("TransactionEvent")[0]
        assert started["trigger_reason"] == "RemoteStart"
        assert started["transaction_info"]["remote_start_id"] == 7
        assert started["id_token"] == {"id_token": "REMOTE01", "type": "Central"}
        stop = c201.RequestStopTransaction(
            transaction_id=started["transaction_info"]["transaction_id"]
        )

    assert (await rig.csms.call(stop)).status == "Accepted"
    await rig.until(lambda: rig.manager.state is State.Finished, "stopped")
    assert rig.station.power_W() == 0
    await rig.delivered()
    if version == "1.6":
        assert rig.csms.of("StopTransaction")[0]["reason"] == "Remote"
    else:
        ended = rig.csms.of("TransactionEvent")[-1]
        assert ended["event_type"] == "Ended"
        assert ended["trigger_reason"] == "RemoteStop"
        assert ended["transaction_info"]["stopped_reason"] == "Remote"
    # A second stop names no running transaction.
    assert (await rig.csms.call(stop)).status == "Rejected"


async def test_remote_start_on_a_busy_connector_is_rejected(rig: Rig) -> None:
    await rig.charge()
    answer = await rig.csms.call(remote_start(rig.csms.version, "REMOTE02"))
    assert answer.status == "Rejected"


async def test_change_availability_disables_with_source_csms(rig: Rig) -> None:
    version = rig.csms.version
    assert (await rig.csms.call(availability(version, False))).status == "Accepted"
    await rig.until(lambda: rig.manager.state is State.Disabled, "disabled")
    (disabled,) = rig.events("Disabled")
    assert disabled.source.enable_source.value == "CSMS"
    assert disabled.source.enable_state.value == "Disable"
    await rig.delivered()
    assert rig.csms.statuses()[-1] == "Unavailable"

    assert (await rig.csms.call(availability(version, True))).status == "Accepted"
    await rig.until(lambda: rig.manager.state is State.Idle, "enabled again")
    await rig.delivered()
    assert rig.csms.statuses()[-1] == "Available"


async def test_change_availability_waits_for_the_transaction(rig: Rig) -> None:
    await rig.charge()
    answer = await rig.csms.call(availability(rig.csms.version, False))
    assert answer.status == "Scheduled"
    assert rig.manager.state is State.Charging
    await rig.unplug()
    await rig.until(lambda: rig.manager.state is State.Disabled, "disabled after the session")


async def test_charging_profile_lowers_the_current(rig: Rig) -> None:
    version = rig.csms.version
    await rig.charge()
    assert rig.sim.charger.setpoint_A == pytest.approx(16.0)

    assert (await rig.csms.call(profile(version, 10.0))).status == "Accepted"
    await setpoint(rig, 10.0)
    # An external limit (set_external_limits), not the energy manager's input.
    (entry,) = rig.manager.vars()["external_limits"].schedule_import
    assert entry.limits_to_leaves.ac_max_current_A.value == 10.0
    assert entry.limits_to_leaves.ac_max_current_A.source == "CSMS"
    assert "enforced_limits" not in rig.manager.vars() or (
        rig.manager.vars()["enforced_limits"].limits_root_side.ac_max_current_A is None
    )

    # In W: converted as every enforce_limits is (nominal voltage, active phases).
    assert (await rig.csms.call(profile(version, 4830.0, "W"))).status == "Accepted"
    await setpoint(rig, 7.0)

    assert (await rig.csms.call(clear(version))).status == "Accepted"
    await setpoint(rig, 16.0)
    assert (await rig.csms.call(clear(version))).status == "Unknown"


async def setpoint(rig: Rig, amps: float) -> None:
    """The kernel offers ``amps`` and the simulated charger was written it (EVerest
    changes the PWM 5 s after the last limit update)."""
    await rig.until(lambda: rig.manager.vars()["limits"].max_current == amps, f"{amps} A")
    rig.clock.advance(5)
    await rig.manager.poll_now()  # the output is applied once this poll's effects are done
    assert rig.sim.charger.setpoint_A == pytest.approx(amps)


async def test_unusable_profile_is_rejected(rig: Rig) -> None:
    version = rig.csms.version
    bad = profile(version, 10.0)
    if version == "1.6":
        bad.connector_id = 5  # no such connector
    else:
        bad.evse_id = 5
    assert (await rig.csms.call(bad)).status == "Rejected"


async def test_trigger_message_sends_status_and_meter_values(rig: Rig) -> None:
    version = rig.csms.version
    before = len(rig.csms.of("StatusNotification"))
    if version == "1.6":
        trigger: Any = c16.TriggerMessage(requested_message="StatusNotification", connector_id=1)
        meter: Any = c16.TriggerMessage(requested_message="MeterValues", connector_id=1)
        unknown: Any = c16.TriggerMessage(requested_message="DiagnosticsStatusNotification")
    else:
        trigger = c201.TriggerMessage(requested_message="StatusNotification", evse={"id": 1})
        meter = c201.TriggerMessage(requested_message="MeterValues", evse={"id": 1})
        unknown = c201.TriggerMessage(requested_message="LogStatusNotification")
    assert (await rig.csms.call(trigger)).status == "Accepted"
    assert (await rig.csms.call(meter)).status == "Accepted"
    await rig.csms.wait_for(lambda: len(rig.csms.of("StatusNotification")) > before, "status")
    await rig.csms.wait_for(lambda: bool(rig.csms.of("MeterValues")), "meter values")
    assert (await rig.csms.call(unknown)).status == "NotImplemented"


async def test_unlock_and_reset_are_answered(rig: Rig) -> None:
    version = rig.csms.version
    unlock: Any = (
        c16.UnlockConnector(connector_id=1)
        if version == "1.6"
        else c201.UnlockConnector(evse_id=1, connector_id=1)
    )
    answer = await rig.csms.call(unlock)
    assert answer.status in ("Unlocked", "UnlockFailed", "NotSupported")
    boots = rig.client.boots
    reset: Any = c16.Reset(type="Soft") if version == "1.6" else c201.Reset(type="Immediate")
    assert (await rig.csms.call(reset)).status == "Accepted"
    assert await rig.client.wait_for(lambda: rig.client.boots > boots), "no boot after reset"


async def test_configuration_reads_and_changes_the_intervals(rig: Rig) -> None:
    if rig.csms.version == "1.6":
        got = await rig.csms.call(c16.GetConfiguration(key=["HeartbeatInterval", "Nope"]))
        assert got.configuration_key[0]["value"] == "300"
        assert got.unknown_key == ["Nope"]
        changed = await rig.csms.call(c16.ChangeConfiguration(key="HeartbeatInterval", value="42"))
        assert changed.status == "Accepted"
        refused = await rig.csms.call(c16.ChangeConfiguration(key="Nope", value="1"))
        assert refused.status == "NotSupported"
    else:
        variable = {
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"},
        }
        changed = await rig.csms.call(
            c201.SetVariables(set_variable_data=[variable | {"attribute_value": "42"}])
        )
        assert changed.set_variable_result[0]["attribute_status"] == "Accepted"
        got = await rig.csms.call(c201.GetVariables(get_variable_data=[variable]))
        assert got.get_variable_result[0]["attribute_value"] == "42"
    assert rig.client.heartbeat_interval_s == 42


async def test_unsupported_calls_get_a_callerror(rig: Rig) -> None:
    if rig.csms.version == "1.6":
        unsupported: Any = c16.GetDiagnostics(location="ftp://example.invalid/")
    else:
        unsupported = c201.GetLog(
            log={"remote_location": "ftp://example.invalid/"},
            log_type="DiagnosticsLog",
            request_id=1,
        )
    with pytest.raises(OcppNotImplemented):
        await rig.csms.call(unsupported)
    assert rig.client.online


@pytest.mark.parametrize(
    ("frame", "codes"),
    [
        ("this is not json", {"FormationViolation", "FormatViolation"}),
        ('{"an": "object"}', {"FormationViolation", "FormatViolation"}),
        ('[2, "m1", "NoSuchAction", {}]', {"NotImplemented", "NotSupported"}),
        ('[2, "m2", "RemoteStartTransaction", {"idTag": 5}]', None),
        ('[2, "m3", "RequestStartTransaction", {"remoteStartId": "x"}]', None),
        ('[2, "m4", "ChangeAvailability", []]', None),
    ],
)
async def test_malformed_calls_get_a_callerror(rig: Rig, frame: str, codes: Any) -> None:
    reply = await rig.csms.raw_reply(frame)
    assert reply[0] == 4, reply  # a CALLERROR, never a result
    if codes is not None:
        assert reply[2] in codes
    assert rig.manager.running
    # The session still works.
    trigger: Any = (
        c16.TriggerMessage(requested_message="Heartbeat")
        if rig.csms.version == "1.6"
        else c201.TriggerMessage(requested_message="Heartbeat")
    )
    assert (await rig.csms.call(trigger)).status == "Accepted"
    await rig.csms.wait_for(lambda: bool(rig.csms.of("Heartbeat")), "heartbeat")


async def test_a_callresult_nobody_asked_for_is_ignored(rig: Rig) -> None:
    await rig.csms.send_raw('[3, "nobody-asked", {}]')
    await rig.csms.send_raw('[4, "nobody-asked", "InternalError", "", {}]')
    answer = await rig.csms.call(availability(rig.csms.version, True))
    assert answer.status == "Accepted"


async def test_charging_profiles_survive_a_restart(
    tmp_path: Path, version: str, socket_enabled: None
) -> None:
    async with open_rig(tmp_path, version) as rig:
        assert (await rig.csms.call(profile(version, 10.0))).status == "Accepted"
        await rig.until(lambda: rig.manager.vars()["limits"].max_current == 10.0, "10 A")
    async with open_rig(tmp_path, version) as rig:  # the same database
        await rig.until(lambda: rig.manager.vars()["limits"].max_current == 10.0, "10 A kept")
        await rig.charge()
        await setpoint(rig, 10.0)
        assert (await rig.csms.call(clear(version))).status == "Accepted"
        await setpoint(rig, 16.0)
