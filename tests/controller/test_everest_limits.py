"""Limits, phases, reservation, arbitration and start-up as EVerest's EvseManager has them
(issue 13, "Limits, phases, reservation, arbitration, start-up"). Each test cites the
EVerest function it follows (modules/EVSE/EvseManager in EVerest/everest-core)."""

from dataclasses import replace

import pytest

from controller.errors import CommandError
from controller.everest import (
    EnableDisableSource,
    EnableSource,
    EnableState,
    EnforcedLimits,
    LimitsRes,
    NumberWithSource,
    StopTransactionReason,
    StopTransactionRequest,
)
from controller.kernel.machine import KernelConfig
from controller.kernel.states import State
from controller.ports import CpMode
from controller.simulation.station import DEFAULT_CAPABILITIES

from .conftest import limits


def vote(source: EnableSource, state: EnableState, priority: int) -> EnableDisableSource:
    return EnableDisableSource(enable_source=source, enable_state=state, enable_priority=priority)


def published(rig, var):
    return [u.value for u in rig.updates if u.var == var]


# ---------------------------------------------------------------- limits


async def test_limits_max_current_is_the_limit_as_set(rig):
    """evse_managerImpl.cpp signal_max_current <- Charger.cpp set_max_current: the limit as
    set (get_max_current_internal), not the PWM current, and at once."""
    await rig.start_charging()
    await rig.manager.set_enforced_limits(limits(amps=5.8))
    assert rig.manager.vars()["limits"].max_current == 5.8
    assert rig.manager.state is State.ChargingPausedEVSE
    await rig.manager.set_enforced_limits(limits(amps=16))
    assert rig.manager.vars()["limits"].max_current == 16
    assert rig.manager.state is State.Charging


async def test_every_pwm_change_waits_five_seconds_after_the_last(rig):
    """Charger.cpp Charging (not its entry): update_pwm_max_every_5seconds_ampere, so a
    lower limit, too, waits until 5 s after the last PWM update (IEC_PWM_MAX_UPDATE_INTERVAL)."""
    await rig.start_charging()
    await rig.advance(5)
    await rig.manager.set_enforced_limits(limits(amps=20))
    assert rig.station.output.current_A == 20  # 5 s since the PWM was set
    await rig.advance(2)
    await rig.manager.set_enforced_limits(limits(amps=10))
    assert rig.station.output.current_A == 20
    assert rig.manager.vars()["limits"].max_current == 10
    await rig.advance(2)
    assert rig.station.output.current_A == 20
    await rig.advance(1)
    assert rig.station.output.current_A == 10


async def test_ev_pause_limits_pwm_changes_too(rig):
    """Charger.cpp ChargingPausedEV (basic charging): update_pwm_max_every_5seconds_ampere."""
    await rig.start_charging()
    rig.station.pause()
    await rig.poll()
    assert rig.manager.state is State.ChargingPausedEV
    await rig.manager.set_enforced_limits(limits(amps=10))
    assert rig.station.output.current_A == 32
    await rig.advance(5)
    assert rig.station.output.current_A == 10


async def test_valid_for_zero_is_not_applied(rig):
    """Charger.cpp set_max_current refuses a limit whose valid_until is not in the future:
    the old limit stays (the caller is told: a deviation on purpose)."""
    await rig.start_charging()
    with pytest.raises(CommandError, match="valid_for"):
        await rig.manager.set_enforced_limits(limits(amps=10, valid_for=0))
    assert "enforced_limits" not in rig.manager.vars()
    assert rig.manager.vars()["limits"].max_current == 32
    await rig.advance(5)
    assert rig.station.output.current_A == 32


async def test_limit_for_another_node_is_ignored(rig):
    """energyImpl.cpp handle_enforce_limits: only `value.uuid == energy_flow_request.uuid`."""
    await rig.start_charging()
    other = replace(limits(amps=10), uuid="evse_manager_2")
    with pytest.raises(CommandError, match="evse_manager_2"):
        await rig.manager.set_enforced_limits(other)
    assert "enforced_limits" not in rig.manager.vars()
    assert rig.manager.vars()["limits"].max_current == 32
    await rig.advance(5)
    assert rig.station.output.current_A == 32


async def test_power_only_limit_is_converted_with_the_requested_phases(rig):
    """energyImpl.cpp converts total_power_W with ac_nominal_voltage and the phases active
    after the request (it starts from 0 A, so a power-only limit gives 0 A there: our
    deviation on purpose converts it)."""
    power_only = EnforcedLimits(
        uuid="evse_manager",
        valid_for=60,
        limits_root_side=LimitsRes(total_power_W=NumberWithSource(value=4600.0, source="em")),
    )
    await rig.manager.set_enforced_limits(power_only)
    assert rig.manager.vars()["limits"].max_current == pytest.approx(4600 / 230 / 3)
    one_phase = limits(watts=4600, phases=1)
    await rig.manager.set_enforced_limits(one_phase)
    published_limits = rig.manager.vars()["limits"]
    assert published_limits.nr_of_phases_available == 1
    assert published_limits.max_current == pytest.approx(20.0)
    rig.station.plug_in()
    rig.station.draw_power(32.0, 3)
    await rig.poll()
    await rig.authorize()
    await rig.poll()
    assert rig.manager.state is State.Charging
    assert rig.station.output.current_A == pytest.approx(20.0)
    assert rig.station.output.phases == 1


# ---------------------------------------------------------------- phases


async def test_phase_switch_outside_charging_is_immediate(rig):
    """Charger.cpp switch_three_phases_while_charging: outside Charging the BSP is told at
    once, no SwitchPhases state and no SwitchingPhases event; energyImpl.cpp publishes
    nr_of_phases_available (signalNrOfPhasesAvailable) at the request."""
    rig.station.plug_in()
    await rig.poll()
    await rig.authorize()
    assert rig.manager.state is State.PrepareCharging
    rig.take_events()
    await rig.manager.set_enforced_limits(limits(amps=16, phases=1))
    assert rig.take_events() == []
    assert rig.manager.state is State.PrepareCharging
    assert rig.station.output.phases == 1
    assert rig.manager.vars()["limits"].nr_of_phases_available == 1


async def test_phase_switch_while_charging_goes_through_switch_phases(rig):
    """Charger.cpp SwitchPhases: SwitchingPhases, X1 (switch_3ph1ph_cp_state), the BSP is
    switched after switch_3ph1ph_delay_s (10 s), then PrepareCharging; the phase count is
    published at the request."""
    await rig.start_charging()
    rig.take_events()
    await rig.manager.set_enforced_limits(limits(amps=16, phases=1))
    assert rig.take_events() == ["SwitchingPhases"]
    assert rig.manager.vars()["limits"].nr_of_phases_available == 1
    assert rig.station.output.cp is CpMode.X1
    assert rig.station.output.phases == 3
    await rig.advance(9)
    assert rig.manager.state is State.SwitchPhases
    await rig.advance(1)
    assert rig.station.output.phases == 1
    assert rig.take_events() == ["PrepareCharging", "ChargingStarted"]


async def test_phase_switch_delay_and_cp_state_options(rig_with):
    """Manifest switch_3ph1ph_delay_s / switch_3ph1ph_cp_state: F for the given seconds."""
    rig = await rig_with(KernelConfig(switch_3ph1ph_delay_s=3, switch_3ph1ph_cp_state="F"))
    await rig.start_charging()
    await rig.manager.set_enforced_limits(limits(amps=16, phases=1))
    assert rig.station.output.cp is CpMode.F
    await rig.advance(3)
    assert rig.manager.state is State.Charging
    assert rig.station.output.phases == 1


async def test_phase_request_on_hardware_that_cannot_switch_is_ignored(rig_with):
    """energyImpl.cpp: without supports_changing_phases_during_charging the request is only
    logged, in every state."""
    caps = replace(DEFAULT_CAPABILITIES, supports_changing_phases_during_charging=False)
    rig = await rig_with(capabilities=caps)
    await rig.manager.set_enforced_limits(limits(amps=16, phases=1))
    assert rig.manager.vars()["limits"].nr_of_phases_available == 3
    rig.station.plug_in()
    await rig.poll()
    assert rig.station.output.phases == 3


# ---------------------------------------------------------------- reservation


async def test_session_started_carries_the_reservation_of_a_plug_in(rig):
    """evse_managerImpl.cpp session_started: reservation_id whenever reserved (the
    reservation ends silently only for an Authorized start; TransactionStarted ends it)."""
    assert await rig.manager.reserve(7) is True
    rig.take_events()
    rig.station.plug_in()
    await rig.poll()
    (started,) = rig.event_payloads("SessionStarted")
    assert started.session_started.reservation_id == 7
    await rig.authorize()
    (transaction,) = rig.event_payloads("TransactionStarted")
    assert transaction.transaction_started.reservation_id == 7
    assert "ReservationEnd" not in rig.events()


async def test_global_reservation_can_be_made_specific(rig):
    """EvseManager.cpp reserve: reserved with id -1 accepts a specific id (ReservationStart
    again); the same id again is accepted silently; another id is refused."""
    rig.take_events()
    assert await rig.manager.reserve(-1) is True
    assert await rig.manager.reserve(5) is True
    assert rig.take_events() == ["ReservationStart", "ReservationStart"]
    assert await rig.manager.reserve(5) is True
    assert rig.take_events() == []
    assert await rig.manager.reserve(6) is False
    rig.station.plug_in()
    await rig.poll()
    (started,) = rig.event_payloads("SessionStarted")
    assert started.session_started.reservation_id == 5


# ---------------------------------------------------------------- enable/disable


async def test_all_sources_unassigned_give_the_default_winner(rig):
    """Charger.cpp parse_enable_disable_source_table: with no assigned entry the winner is
    {Unspecified, Unassigned, 10000}; the Enabled event carries it."""
    csms = EnableSource.CSMS
    assert await rig.manager.enable_disable(0, vote(csms, EnableState.Disable, 100)) is False
    unspecified = vote(EnableSource.Unspecified, EnableState.Unassigned, 10000)
    assert await rig.manager.enable_disable(0, unspecified) is False
    rig.take_events()
    assert await rig.manager.enable_disable(0, vote(csms, EnableState.Unassigned, 100)) is True
    (enabled,) = rig.event_payloads("Enabled")
    assert enabled.source == unspecified
    assert rig.manager.state is State.Idle


async def test_of_two_disables_at_one_priority_the_later_entry_wins(rig):
    """Charger.cpp parse_enable_disable_source_table walks the table in order; at equal
    priority a Disable entry replaces the winner."""
    local = EnableSource.LocalAPI
    await rig.manager.enable_disable(0, vote(local, EnableState.Enable, 10))
    await rig.manager.enable_disable(0, vote(EnableSource.MobileApp, EnableState.Disable, 50))
    await rig.manager.enable_disable(0, vote(EnableSource.CSMS, EnableState.Disable, 50))
    assert rig.manager.state is State.Idle
    rig.take_events()
    assert await rig.manager.enable_disable(0, vote(local, EnableState.Unassigned, 10)) is False
    (disabled,) = rig.event_payloads("Disabled")
    assert disabled.source == vote(EnableSource.CSMS, EnableState.Disable, 50)


async def test_enable_on_connector_0_does_not_undo_a_disable_on_connector_1(rig):
    """ChargerTest.cpp EnableDisableSourceConnectorEnabled0: connector_enabled changes only
    for a non-zero connector id; Charger.cpp enable_disable still signals Enabled."""
    csms = EnableSource.CSMS
    assert await rig.manager.enable_disable(1, vote(csms, EnableState.Disable, 100)) is False
    assert rig.manager.state is State.Disabled
    rig.take_events()
    assert await rig.manager.enable_disable(0, vote(csms, EnableState.Enable, 100)) is True
    assert rig.take_events() == ["Enabled"]
    assert rig.manager.state is State.Disabled
    assert rig.station.output.cp is CpMode.F
    assert await rig.manager.enable_disable(1, vote(csms, EnableState.Enable, 100)) is True
    assert rig.take_events() == []
    assert rig.manager.state is State.Idle


# ---------------------------------------------------------------- start-up and the rest


async def test_force_unlock_connector_0_unlocks(rig):
    """evse_managerImpl.cpp handle_force_unlock ignores the connector id."""
    rig.station.plug_in()
    await rig.poll()
    assert rig.station.output.locked is True
    assert await rig.manager.force_unlock(0) is True
    assert rig.station.output.locked is False


async def test_selected_protocol_is_unknown_outside_a_session(rig):
    """evse_managerImpl.cpp: "IEC61851-1" at SessionStarted, "Unknown" at
    TransactionFinished and SessionFinished."""
    assert rig.manager.vars()["selected_protocol"] == "Unknown"
    await rig.start_charging()
    assert rig.manager.vars()["selected_protocol"] == "IEC61851-1"
    await rig.manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    assert rig.manager.vars()["selected_protocol"] == "Unknown"
    rig.station.unplug()
    await rig.poll()
    assert published(rig, "selected_protocol")[-1] == "Unknown"


async def test_pause_reasons_are_ordered_error_noenergy_userpause(rig):
    """Charger.cpp ChargingPausedEVSE pushes Error, NoEnergy, UserPause in that order."""
    await rig.start_charging()
    assert await rig.manager.pause_charging() is True
    await rig.manager.set_enforced_limits(limits(amps=0))
    rig.station.inject_error("evse_board_support/DiodeFault")
    rig.updates.clear()
    await rig.poll()
    (event,) = rig.event_payloads("ChargingPausedEVSE")
    assert event.to_json()["charging_paused_evse"] == {
        "reasons": ["Error", "NoEnergy", "UserPause"]
    }
