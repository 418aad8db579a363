"""Safety and IEC 61851 behaviour as EVerest's EvseManager has it (issue 13, first part).

Each test cites the EVerest source it follows (everest-core, modules/EVSE/EvseManager/).
"""

from dataclasses import replace

import pytest

from controller.clock import ManualClock
from controller.everest import (
    Ampacity,
    ConnectorType,
    CpState,
    EnableDisableSource,
    EnableSource,
    EnableState,
    Energy,
    Error,
    EvseManagerError,
    Powermeter,
    Severity,
    StopTransactionReason,
    StopTransactionRequest,
)
from controller.kernel.faults import ActiveErrors
from controller.kernel.machine import ChargingKernel, KernelConfig
from controller.kernel.states import State
from controller.ports import ChargerInfo, ChargerStatus, CpMode
from controller.simulation.station import DEFAULT_CAPABILITIES

from .conftest import limits


def error_types(rig):
    return [e.type for e in rig.manager.vars()["errors"]]


# ---------------------------------------------------------------- relays under load


async def _pause(rig):
    assert await rig.manager.pause_charging() is True


async def _stop(rig):
    request = StopTransactionRequest(reason=StopTransactionReason.Local)
    assert await rig.manager.stop_transaction(request) is True


async def _no_energy(rig):
    await rig.manager.set_enforced_limits(limits(amps=0))


@pytest.mark.parametrize(
    ("how", "after"),
    [
        (_pause, State.ChargingPausedEVSE),
        (_stop, State.Finished),
        (_no_energy, State.ChargingPausedEVSE),
    ],
)
async def test_relays_stay_closed_until_ev_leaves_c_or_6s(rig, how, after):
    """Charger.cpp StoppingCharging only turns PWM off (cp_state_X1); IECStateMachine.cpp
    state_machine, case C (X2->C1), keeps the relays until the EV goes to B or
    power_off_under_load_in_c1_timeout (6 s) passes: contactors never open under load."""
    await rig.start_charging()
    rig.station.ev.fixed_current_A = 16.0  # an EV that keeps drawing in C (Table A.6 10.2)
    await how(rig)
    assert rig.manager.state is State.StoppingCharging
    assert rig.station.output.cp is CpMode.X1
    assert rig.station.relays_on()  # still under load: not opened
    await rig.advance(5.5, step=0.5)
    assert rig.station.relays_on()
    assert rig.manager.state is State.StoppingCharging
    await rig.advance(0.5, step=0.5)
    assert not rig.station.relays_on()  # 6 s: power off under load
    await rig.poll()
    assert rig.manager.state is after


async def test_relays_open_when_ev_goes_to_b_after_pwm_off(rig):
    """IECStateMachine.cpp case B: C->B withdraws power at once (Table A.6 seq. 8.1)."""
    await rig.start_charging()
    rig.station.ev.fixed_current_A = 16.0
    await rig.manager.pause_charging()
    assert rig.station.relays_on()
    rig.station.ev.fixed_current_A = None  # the EV reacts to X1: back to B
    await rig.poll()
    assert rig.manager.kernel.output().allow_power is False
    assert rig.manager.state is State.ChargingPausedEVSE


async def test_fatal_error_opens_relays_at_once(rig):
    """Charger.cpp emergency_shutdown/error_shutdown: allow_power_on(false) immediately."""
    await rig.start_charging()
    rig.station.ev.fixed_current_A = 16.0
    rig.station.inject_error("ac_rcd/DC", Severity.High)
    await rig.poll()
    assert not rig.station.relays_on()


# ---------------------------------------------------------------- connector lock


async def test_lock_in_state_b_before_authorization(rig):
    """IECStateMachine.cpp case B: connector_lock() when lock_connector_in_state_b (default
    true, IEC 61851-1 D.6.5 Table D.9)."""
    rig.station.plug_in()
    await rig.poll()
    assert rig.manager.state is State.WaitingForAuthentication
    assert rig.station.output.locked is True


async def test_lock_stays_after_stop_with_ev_plugged(rig):
    """IECStateMachine.cpp: the lock follows the CP state (B), not the transaction."""
    await rig.start_charging()
    await _stop(rig)
    await rig.poll()
    assert rig.manager.state is State.Finished
    assert rig.station.output.locked is True
    rig.station.unplug()
    await rig.poll()
    assert rig.station.output.locked is False  # case A: connector_unlock()


async def test_no_lock_in_b_when_configured(rig_with):
    """lock_connector_in_state_b: false -> IECStateMachine.cpp case B connector_unlock();
    C still locks (case C connector_lock())."""
    rig = await rig_with(KernelConfig(lock_connector_in_state_b=False))
    rig.station.plug_in()
    await rig.poll()
    assert rig.station.output.locked is False
    rig.station.draw_power(16.0, 3)
    await rig.authorize()
    await rig.poll()
    assert rig.manager.state is State.Charging
    assert rig.station.output.locked is True


async def test_cp_e_while_charging_unlocks_at_once(rig):
    """IECStateMachine.cpp case E: connector_unlock() and power off at once."""
    await rig.start_charging()
    assert rig.station.output.locked is True
    rig.station.ev.cp_short = True
    await rig.poll()
    assert not rig.station.relays_on()
    assert rig.station.output.locked is False


# ---------------------------------------------------------------- proximity pilot


async def test_socket_without_pp_waits_without_pwm(rig):
    """Charger.cpp WaitingForAuthentication: a Type 2 socket whose PP ampacity reads 0
    waits ("PP ampacity is zero, still waiting for BSP to report it") before the
    transaction, with PWM off; it proceeds once the BSP reports the cable."""
    rig.station.ampacity = Ampacity.None_
    rig.station.plug_in()
    rig.station.draw_power(16.0, 3)
    await rig.poll()
    await rig.authorize()
    await rig.advance(3)
    assert rig.take_events()[-2:] == ["AuthRequired", "Authorized"]
    assert rig.manager.state is State.WaitingForAuthentication
    assert rig.station.output.cp is CpMode.X1
    rig.station.ampacity = Ampacity.A_20
    await rig.poll()
    assert rig.take_events() == ["TransactionStarted", "PrepareCharging", "ChargingStarted"]
    assert rig.station.output.current_A == 20.0


async def test_tethered_cable_needs_no_pp(rig_with):
    """Charger.cpp reads PP only for IEC62196Type2Socket."""
    caps = replace(DEFAULT_CAPABILITIES, connector_type=ConnectorType.IEC62196Type2Cable)
    rig = await rig_with(capabilities=caps, ampacity=Ampacity.None_)
    await rig.start_charging()
    assert rig.manager.state is State.Charging
    assert rig.station.output.current_A == 32.0


async def test_63_70_a_cable_rule_uses_hardware_max_phases(rig_with):
    """IECStateMachine.cpp set_pp_ampacity: A_63_3ph_70_1ph is 70 A only when the hardware's
    max phase count (set_max_phases from max_phase_count_import) is one; a 3-phase EVSE
    charging on one phase still gets 63 A."""
    caps = replace(DEFAULT_CAPABILITIES, max_current_A_import=80.0)
    rig = await rig_with(capabilities=caps, ampacity=Ampacity.A_63_3ph_70_1ph)
    await rig.manager.set_enforced_limits(limits(phases=1))
    await rig.start_charging()
    assert rig.station.output.phases == 1
    assert rig.station.output.current_A == 63.0


# ---------------------------------------------------------------- errors


async def test_high_severity_error_while_charging_gives_x1_not_f(rig):
    """Charger.cpp emergency_shutdown: cp_state_X1 while charging; F only in Idle."""
    await rig.start_charging()
    rig.station.inject_error("ac_rcd/DC", Severity.High)
    await rig.poll()
    assert rig.manager.state is State.ChargingPausedEVSE
    assert rig.station.output.cp is CpMode.X1


async def test_fault_during_evse_pause_gives_f_for_300_ms(rig):
    """Charger.cpp ChargingPausedEVSE: entered_fatal_error_state() -> cp_state_F(), and
    after state_F_after_fault_ms (300) -> cp_state_X1()."""
    await rig.start_charging()
    await rig.manager.pause_charging()
    await rig.poll()
    assert rig.manager.state is State.ChargingPausedEVSE
    rig.updates.clear()
    rig.station.inject_error("ac_rcd/DC", Severity.High)
    await rig.poll()
    assert rig.station.output.cp is CpMode.F
    (event,) = rig.event_payloads("ChargingPausedEVSE")
    assert sorted(event.to_json()["charging_paused_evse"]["reasons"]) == ["Error", "UserPause"]
    await rig.advance(0.25, step=0.25)
    assert rig.station.output.cp is CpMode.F
    assert rig.manager.kernel.next_deadline() is not None
    await rig.advance(0.05, step=0.05)
    assert rig.station.output.cp is CpMode.X1


async def test_state_f_after_fault_zero_never_gives_f(rig_with):
    """state_F_after_fault_ms: 0 -> only PWM off (C2->C1)."""
    rig = await rig_with(KernelConfig(state_F_after_fault_ms=0))
    await rig.start_charging()
    await rig.manager.pause_charging()
    await rig.poll()
    rig.station.inject_error("ac_rcd/DC", Severity.High)
    await rig.poll()
    assert rig.station.output.cp is CpMode.X1


async def test_ac_over_voltage_reading_raises_nothing(rig):
    """EvseManager.cpp raises MREC5 only from its over-voltage monitor, which runs in DC
    CurrentDemand; an AC meter reading never stops charging."""
    await rig.start_charging()
    rig.station.voltage_V = 280.0
    await rig.poll()
    assert error_types(rig) == []
    assert rig.manager.state is State.Charging
    assert rig.station.relays_on()


async def test_inoperative_is_high_severity_whatever_the_cause(rig):
    """ErrorHandling.cpp raise_inoperative_error: Severity::High always."""
    rig.station.inject_error("evse_board_support/MREC14PilotFault", Severity.Medium)
    await rig.poll()
    inoperative = rig.manager.vars()["errors"][0]
    assert inoperative.type == "evse_manager/Inoperative"
    assert inoperative.severity is Severity.High


def test_internal_error_is_cleared_at_unplug():
    """Charger.cpp clear_errors_on_unplug: clear_internal_error() (and the isolation,
    cable-check and voltage-plausibility faults) along with MREC4/5/9."""
    errors = ActiveErrors()
    for kind in (
        EvseManagerError.Internal,
        EvseManagerError.MREC22ResistanceFault,
        EvseManagerError.MREC11CableCheckFault,
        EvseManagerError.VoltagePlausibilityFault,
    ):
        errors.raise_error(Error(type=kind.value, message="x", severity=Severity.High))
    assert errors.inoperative
    assert errors.clear_on_unplug() is True
    assert errors.active() == []


def _kernel(config: KernelConfig) -> tuple[ChargingKernel, ManualClock]:
    """The pure kernel on a socket with a lock, no runner."""
    clock = ManualClock()
    sample = Powermeter(timestamp="2026-01-01T00:00:00.000Z", energy_Wh_import=Energy(total=0.0))
    info = ChargerInfo(capabilities=DEFAULT_CAPABILITIES, has_lock=True)
    kernel = ChargingKernel(config, clock, info, sample)
    kernel.start(ChargerStatus(cp=CpState.A, relays_on=False, pp_ampacity=Ampacity.A_32))
    return kernel, clock


def test_lock_held_in_f_opens_after_5_s():
    """IECStateMachine.cpp case F: timeout_unlock_state_F (unlock_in_state_f_timeout, 5 s)
    then connector_unlock(); e.g. a disabled EVSE (F) lets the cable go."""
    kernel, clock = _kernel(KernelConfig())
    kernel.on_charger_status(ChargerStatus(cp=CpState.B, relays_on=False))
    assert kernel.output().locked is True
    kernel.enable_disable(
        0,
        EnableDisableSource(
            enable_source=EnableSource.LocalAPI, enable_state=EnableState.Disable, enable_priority=1
        ),
    )
    assert kernel.output().cp is CpMode.F
    kernel.on_charger_status(ChargerStatus(cp=CpState.F, relays_on=False))
    assert kernel.output().locked is True
    clock.advance(4.9)
    kernel.tick()
    assert kernel.output().locked is True
    clock.advance(0.1)
    kernel.tick()
    assert kernel.output().locked is False


async def test_pp_rating_is_kept_when_the_reading_drops_out(rig):
    """Charger.cpp: max_current_cable is read once and kept until Idle; a reading that
    drops to None mid-session must not lift the cable's 13 A limit."""
    rig.station.ampacity = Ampacity.A_13
    await rig.start_charging()
    assert rig.station.output.current_A == 13.0
    rig.station.ampacity = Ampacity.None_
    await rig.advance(10, step=5)
    assert rig.station.output.current_A == 13.0


def test_a_held_deadline_does_not_make_the_runner_spin():
    """While the relays stay on after the 6 s power-off (a stuck contactor), the expired
    deadline must not be reported again: the runner would tick and poll without pause."""
    kernel, clock = _kernel(KernelConfig(auth_timeout_s=None, free_charging=True))
    kernel.on_charger_status(ChargerStatus(cp=CpState.C, relays_on=True))
    kernel.on_meter_transaction_started(True)
    kernel.on_charger_status(ChargerStatus(cp=CpState.C, relays_on=True))
    assert kernel.state is State.Charging
    kernel.pause_charging()
    assert kernel.state is State.StoppingCharging
    deadline = kernel.next_deadline()
    assert deadline == clock.monotonic() + 6.0
    clock.advance(6.0)
    assert kernel.next_deadline() == deadline  # due, not yet ticked: tick now
    kernel.tick()
    assert kernel.output().allow_power is False
    later = kernel.next_deadline()
    assert later == clock.monotonic() + 14.0  # the 20 s stopping timeout


async def test_force_unlock_waits_for_the_relays(rig):
    """IECStateMachine.cpp connector_force_unlock/check_connector_lock: the lock stays
    while relais_on and opens when the relays do (here: the 6 s power-off in C)."""
    await rig.start_charging()
    rig.station.ev.fixed_current_A = 16.0
    assert await rig.manager.force_unlock(1) is True
    assert rig.station.relays_on()
    assert rig.station.output.locked is True
    await rig.advance(6, step=1)
    assert not rig.station.relays_on()
    assert rig.station.output.locked is False
