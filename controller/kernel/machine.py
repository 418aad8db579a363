"""The charging kernel of one connector: EVerest's EvseManager as a pure state machine.

Bring-your-own-I/O (like h11): inputs are method calls carrying facts (a charger poll, a
meter sample, a command), time comes from an injected clock, and the results are a list of
effects (``take_effects``) plus the level-based charger output (``output``). Each input is
followed by ``_step``, which asks the current state's guard for a trigger and follows the
transition table until the state is stable.

This module only composes the parts, hands each input or command to the part that owns
what it changes, and runs the step loop. The parts, each with its own data:
``Timers`` (deadlines), ``Outbox`` (effects and published variables), ``Bookkeeper``
(session, authorization, transaction, reservation), ``EnableArbiter``, ``ActiveErrors``,
``EnergyLimits``, ``Phases``, ``Cable``, ``PwmSignal``, ``OvercurrentMonitor``,
``FaultPulse`` and ``Readiness``. The guards (``guards.py``) and the charger output
(``output.py``) are functions of the read-only ``Facts`` view (``_facts``); the entry and
internal actions (``actions.py``) are the only code a transition runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..clock import Clock
from ..errors import CommandError
from ..everest import (
    AuthorizationStatus,
    CarManufacturer,
    Connector,
    CpState,
    EnableDisableSource,
    EnableSource,
    EnableState,
    EnergyTransferMode,
    EnforcedLimits,
    Error,
    EVInfo,
    Evse,
    EvseManagerError,
    ExternalLimits,
    Limits,
    PauseChargingEVSEReason,
    PlugAndChargeConfiguration,
    Powermeter,
    ProvidedIdToken,
    SessionEventEnum,
    Severity,
    StopTransactionReason,
    StopTransactionRequest,
    UpdateAllowedEnergyTransferModesResult,
    ValidationResult,
)
from ..ports import ChargerInfo, ChargerOutput, ChargerStatus, CpMode
from .actions import Actions
from .arbitration import EnableArbiter
from .bookkeeping import Bookkeeper
from .cable import Cable
from .config import KernelConfig, new_session_id
from .effects import Effect, EndSession
from .facts import Facts, Parts
from .fault_pulse import FaultPulse
from .faults import METER_LINK_ORIGIN, ActiveErrors
from .guards import choose
from .limits import EnergyLimits
from .outbox import Outbox
from .output import charger_output, cp_mode
from .overcurrent import OvercurrentMonitor
from .phases import Phases
from .pwm import MIN_CURRENT_A, PwmSignal
from .readiness import Readiness
from .session import SessionRecord, StoppedSession, TransactionRecord
from .states import State, Trigger
from .timers import Timers
from .transitions import next_state

__all__ = ["COMMUNICATION_FAULT", "MAX_STEPS", "ChargingKernel", "KernelConfig"]

MAX_STEPS = 32
COMMUNICATION_FAULT = "evse_board_support/CommunicationFault"
_BEFORE_CHARGING = (State.Disabled, State.Idle, State.WaitingForAuthentication)


class ChargingKernel:
    """State, facts and transitions of one connector. No I/O, no sleeping."""

    def __init__(
        self,
        config: KernelConfig,
        clock: Clock,
        charger: ChargerInfo,
        meter_sample: Powermeter,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._info = charger
        caps = charger.capabilities
        self.state = State.Disabled
        self._status = ChargerStatus(cp=CpState.A, relays_on=False)
        self._meter = meter_sample
        self._pnc_config = PlugAndChargeConfiguration()
        self._timers = Timers(clock)
        self._stepped_at = -math.inf  # when the last step began (see ``tick``)
        self._limits_published: tuple[float, int] | None = None  # (current, phases)
        self._out = Outbox(clock)
        self._arbiter = EnableArbiter(
            EnableDisableSource(
                enable_source=EnableSource.Unspecified,
                enable_state=EnableState.Enable if config.start_enabled else EnableState.Disable,
                enable_priority=10000,
            )
        )
        self._errors = ActiveErrors(
            config.fail_on_powermeter_errors, config.inoperative_error_use_vendor_id
        )
        self._limits = EnergyLimits(caps, config.max_current_A, config.nominal_voltage_V)
        self._phases = Phases(caps)
        self._cable = Cable(caps.connector_type)
        self._pwm = PwmSignal()
        self._overcurrent = OvercurrentMonitor(
            config.soft_over_current_tolerance_percent,
            config.soft_over_current_measurement_noise_A,
            config.soft_over_current_timeout_ms,
        )
        self._fault_pulse = FaultPulse(config.state_F_after_fault_ms)
        self._readiness = Readiness(config.external_ready)
        self._book = Bookkeeper(
            config,
            clock,
            self._timers,
            self._out,
            meter=lambda: self._meter,
            new_id=new_id or (lambda: new_session_id(config.session_id_type)),
        )
        self._parts = Parts(
            info=charger,
            arbiter=self._arbiter,
            readiness=self._readiness,
            book=self._book,
            errors=self._errors,
            limits=self._limits,
            phases=self._phases,
            cable=self._cable,
            pwm=self._pwm,
            timers=self._timers,
        )
        self._actions = Actions(
            config,
            self._facts,
            book=self._book,
            timers=self._timers,
            out=self._out,
            phases=self._phases,
            errors=self._errors,
            limits=self._limits,
            readiness=self._readiness,
            arbiter=self._arbiter,
        )

    # ------------------------------------------------------------------ lifecycle

    def start(
        self,
        status: ChargerStatus,
        restored: TransactionRecord | None = None,
        last_session: SessionRecord | None = None,
        stopped: StoppedSession | None = None,
    ) -> None:
        """First poll after connect: publish the static variables, take over what the
        previous process left open, then settle the state.

        EvseManager.cpp init: SessionResumed and the clean-up of an open transaction come
        before ready_to_start_charging (Enabled/Disabled, then ready); the step does both
        in that order (END_SESSION, then ANNOUNCE)."""
        self._status = status
        self._publish_static()
        if last_session is not None:
            self._out.set_var("last_session", last_session)
        resume = self.config.transaction_at_restart == "resume"
        plugged = status.cp.plugged
        if restored is not None and resume:
            self._book.restore(restored, plugged)
        elif restored is not None:
            self._book.finish_restored(restored)
        elif stopped is not None and resume:
            self._book.restore_stopped(stopped, plugged)
        elif stopped is not None:
            self._out.add(EndSession(stopped.session_id))  # EVerest keeps none
        self._readiness.started()
        self._step()

    def _publish_static(self) -> None:
        caps = self._info.capabilities
        modes = [EnergyTransferMode.AC_single_phase_core]
        if caps.max_phase_count_import >= 3:
            modes.append(EnergyTransferMode.AC_three_phase_core)
        out = self._out
        out.set_var("evse_id", self.config.evse_id)
        out.set_var("hw_capabilities", caps)
        out.set_var("selected_protocol", "Unknown")
        out.set_var("supported_energy_transfer_modes", modes)
        out.set_var("waiting_for_external_ready", self._readiness.waiting_for_external)
        out.set_var("ev_info", EVInfo())
        out.set_var("car_manufacturer", CarManufacturer.Unknown)
        out.set_var("powermeter", self._meter)
        out.set_var("errors", [])
        out.set_var("state", self.state)
        out.set_var("cp_state", self._status.cp)

    # ------------------------------------------------------------------ public facts

    @property
    def enabled(self) -> bool:
        """Result of the enable/disable arbitration."""
        return self._arbiter.enabled

    @property
    def transaction(self) -> TransactionRecord | None:
        """The open transaction, if any."""
        return self._book.facts.transaction

    @property
    def has_lock(self) -> bool:
        """Whether the hardware has a connector lock."""
        return self._info.has_lock

    @property
    def meter(self) -> Powermeter:
        """The latest meter sample."""
        return self._meter

    def vars(self) -> dict[str, Any]:
        """Snapshot of every published variable."""
        return self._out.vars()

    def take_effects(self) -> list[Effect]:
        """Hand the pending effects to the runner (in order) and forget them."""
        return self._out.take()

    def pause_reasons(self) -> frozenset[PauseChargingEVSEReason]:
        """Why the EVSE holds charging now (empty: it does not)."""
        return self._facts().pause_reasons

    def output(self) -> ChargerOutput:
        """What the charge controller must do now (level-based; the port diffs it)."""
        return charger_output(self._facts(), self.config)

    def next_deadline(self) -> float | None:
        """Earliest monotonic time at which ``tick`` has something to do."""
        times = [t for t in (self._timers.next(),) if t is not None]
        expires_at = self._limits.expires_at
        if expires_at is not None and not self._limits.expired(self._timers.now()):
            times.append(expires_at)
        external_change = self._limits.next_external_change(self._timers.now())
        if external_change is not None:
            times.append(external_change)
        return min(times) if times else None

    # ------------------------------------------------------------------ inputs

    def on_poll(self, sample: Powermeter, status: ChargerStatus) -> None:
        """A poll that read both devices: ``on_meter`` then ``on_charger_status``, in one
        step where the meter's step would change nothing. Its step runs first only when
        the sample raised an error or reset the counter, or a deadline fell since the last
        step: the guards read the meter through nothing else, so otherwise it would find
        the state as the last step left it (and publish what the next one publishes)."""
        if self._take_meter(sample) or self._time_passed():
            self._step()
        self._take_status(status)
        self._step()

    def _time_passed(self) -> bool:
        """A deadline or the limits' expiry fell since the last step."""
        expires_at = self._limits.expires_at
        return self._timers.fell_due(self._stepped_at) or (
            expires_at is not None and expires_at <= self._timers.now()
        )

    def on_charger_status(self, status: ChargerStatus) -> None:
        """A poll of the charge controller."""
        self._take_status(status)
        self._step()

    def _take_status(self, status: ChargerStatus) -> None:
        previous = self._status
        self._note_cp_f(status.cp is CpState.F)
        self._cable.note(status.cp, status.pp_ampacity)
        if status.cp is CpState.F:
            # While the EVSE drives -12 V it cannot see the EV: keep the last EV state.
            status = replace(status, cp=previous.cp)
        self._status = status
        self._out.set_var("cp_state", status.cp)
        self._errors.sync_origin("board", (replace(e, origin="board") for e in status.errors))
        self._errors.check_ventilation(status.cp, self.config.has_ventilation)
        if previous.cp.plugged and not status.cp.plugged:
            self._errors.clear_on_unplug()
        self._publish_errors()
        if status.telemetry is not None:
            self._out.set_var("telemetry", status.telemetry)
        facts = self._book.facts
        if status.stop_requested and facts.transaction is not None and facts.stop is None:
            facts.stop = StopTransactionRequest(reason=StopTransactionReason.Local)

    def _note_cp_f(self, in_f: bool) -> None:
        """IECStateMachine.cpp case F: timeout_unlock_state_F runs while the board reads F."""
        if not in_f:
            self._timers.cancel("unlock_in_f")
        elif not self._timers.pending("unlock_in_f"):
            self._timers.arm("unlock_in_f", self.config.unlock_in_state_f_timeout_s)

    def on_meter(self, sample: Powermeter) -> None:
        """A meter sample: the billing value every event carries. A counter lower than
        the last one is a counter reset (a replaced or power-cycled meter)."""
        self._take_meter(sample)
        self._step()

    def _take_meter(self, sample: Powermeter) -> bool:
        """The sample's facts, checked for over-current; True if it raised an error or
        reset the counter (what a step must see before the next input)."""
        before = self._meter.energy_Wh_import.total
        self._meter = sample
        reset = sample.energy_Wh_import.total < before
        if reset:
            self._book.counter_reset(before)
        self._out.set_var("powermeter", sample)
        excess = self._overcurrent.check(
            self.state is State.Charging, sample, self._pwm.current_A, self._timers.now()
        )
        if excess is not None:
            self._raise_own(EvseManagerError.MREC4OverCurrentFailure, excess)
        return reset or excess is not None

    def on_link_lost(self, device: str, detail: str, answering: bool = False) -> None:
        """The runner could not talk to a device, or (``answering``) the device answers
        with values that cannot be used (a meter counter that keeps going back): inhibit
        charging until it is usable again."""
        what = "unusable" if answering else "unreachable"
        error = Error(
            type=COMMUNICATION_FAULT,
            sub_type=device,
            message=f"{device} {what}: {detail}",
            severity=Severity.High,
            origin=METER_LINK_ORIGIN if device == "meter" else "link",
        )
        if self._errors.raise_error(error):
            self._publish_errors()
        self._step()

    def on_link_restored(self, device: str) -> None:
        """Communication with ``device`` works again."""
        if self._errors.clear(COMMUNICATION_FAULT, device):
            self._publish_errors()
        self._step()

    def on_meter_transaction_started(self, ok: bool, detail: str = "") -> None:
        """Result of StartMeterTransaction."""
        self._book.facts.meter_start_pending = False
        if ok:
            self._book.open_transaction()
        else:
            self._book.facts.meter_start_failed = True
            self._raise_own(EvseManagerError.PowermeterTransactionStartFailed, detail)
        self._step()

    def tick(self) -> None:
        """Time passed: expire deadlines and limits.

        The guards read time only through the deadlines and the limits' expiry: a tick in
        which neither fell since the last step (as after every poll, which stepped just
        before) would find the state as that step left it, and takes no step."""
        since = self._stepped_at
        fell_due = self._timers.fell_due(since)
        self._timers.ticked()
        if self._timers.due("auth_timeout"):
            if self._book.facts.transaction is None:
                self.withdraw_authorization()
            else:
                self._timers.cancel("auth_timeout")
        lapsed = self._limits.lapse(self._timers.now())
        if lapsed is not None:
            self._out.set_var("enforced_limits", lapsed)
        if fell_due or lapsed is not None:
            self._step()

    # ------------------------------------------------------------------ commands

    def get_evse(self) -> Evse:
        """The EVSE and its one connector."""
        return Evse(
            id=self.config.evse_index,
            connectors=[Connector(id=self.config.connector_id, type=self.config.connector_type)],
        )

    def enable_disable(self, connector_id: int, source: EnableDisableSource) -> bool:
        """Record a source's vote; returns whether the EVSE is enabled afterwards."""
        if connector_id not in (0, self.config.connector_id):
            return self.enabled
        # Charger.cpp enable_disable: an event when the winner's state changes to or from
        # Disable, even if the connector flag keeps the EVSE in Disabled; the table's
        # verdict is the answer.
        before = self._arbiter.winner()
        verdict = self._arbiter.vote(connector_id, source)
        after = self._arbiter.winner()
        states = (before.enable_state, after.enable_state)
        if EnableState.Disable in states and states[0] is not states[1]:
            self._book.emit(
                SessionEventEnum.Enabled if verdict else SessionEventEnum.Disabled,
                source=after,
                connector_id=1 if connector_id else None,
            )
        if not self.enabled:
            self._book.end_reservation()
        self._step()
        return verdict

    def authorize_response(self, token: ProvidedIdToken, result: ValidationResult) -> None:
        """The authorization module's verdict on ``token``."""
        if result.authorization_status is not AuthorizationStatus.Accepted:
            return
        facts = self._book.facts
        if facts.auth is not None or facts.transaction is not None or facts.stop is not None:
            return
        if self.state in (State.Finished, State.Disabled) or self._errors.inoperative:
            return
        self._book.authorize(token, result.reservation_id, self._status.cp.plugged)
        self._step()

    def withdraw_authorization(self) -> None:
        """Authorization is no longer valid (e.g. the connection timeout ran out).

        Charger.cpp deauthorize_internal: Deauthorized for any session; before charging,
        an unauthorized session gets PluginTimeout and keeps waiting for authorization,
        an authorized one loses it (and, if no EV is plugged in, has nothing left to
        wait for: the step ends it).
        """
        self._timers.cancel("auth_timeout")
        facts = self._book.facts
        if facts.session is None:
            return
        self._book.emit(SessionEventEnum.Deauthorized, authorization_event=self._book.auth_event())
        if self.state in _BEFORE_CHARGING and facts.transaction is None:
            if facts.auth is None:
                self._plugin_timeout()
            else:
                facts.auth = None
                if not self._status.cp.plugged:
                    facts.ending = True  # nothing left to wait for: the step ends it
        self._step()

    def _plugin_timeout(self) -> None:
        self._book.emit(SessionEventEnum.PluginTimeout)
        if self.config.raise_mrec9:
            self._raise_own(EvseManagerError.MREC9AuthorizationTimeout, "no authorization")

    def reserve(self, reservation_id: int) -> bool:
        """Reserve the idle EVSE; a negative id reserves it for a global reservation (-1)."""
        if self.state is not State.Idle or self._book.facts.session is not None:
            return False
        if not self.enabled or self._errors.inoperative:
            return False
        return self._book.reserve(reservation_id)

    def cancel_reservation(self) -> None:
        """End the reservation, if any, with ReservationEnd."""
        self._book.end_reservation()

    def pause_charging(self) -> bool:
        """Pause by the EVSE (UserPause); true whenever a transaction is open.

        Charger.cpp pause_charging only sets flag_paused_by_evse: in PrepareCharging and
        during an EV pause it takes effect when the EV asks for power.
        """
        return self._set_user_pause(True)

    def resume_charging(self) -> bool:
        """End a pause by the EVSE; true whenever a transaction is open (Charger.cpp)."""
        return self._set_user_pause(False)

    def _set_user_pause(self, paused: bool) -> bool:
        if self._book.facts.transaction is None:
            return False
        self._book.facts.user_pause = paused
        self._step()
        return True

    def stop_transaction(self, request: StopTransactionRequest) -> bool:
        """End the transaction with ``request.reason``; charging needs a replug afterwards."""
        facts = self._book.facts
        if facts.transaction is None or facts.stop is not None:
            return False
        facts.stop = request
        self._step()
        return True

    def force_unlock(self, connector_id: int) -> bool:
        """Unlock now (stopping the transaction first); False without a lock."""
        # evse_managerImpl.cpp handle_force_unlock does not look at the connector id.
        if connector_id not in (0, self.config.connector_id) or not self._info.has_lock:
            return False
        facts = self._book.facts
        if facts.transaction is not None and facts.stop is None:
            facts.stop = StopTransactionRequest(reason=StopTransactionReason.UnlockCommand)
        facts.unlock_requested = True
        self._step()
        return True

    def external_ready_to_start_charging(self) -> bool:
        """Signal from another module that charging may start; only if configured."""
        if not self.config.external_ready:
            return False
        if not self._readiness.ready:
            self._readiness.signal()
            self._step()
        return True

    def set_plug_and_charge_configuration(self, config: PlugAndChargeConfiguration) -> None:
        """Kept for ISO 15118; basic charging has no contract authorization."""
        self._pnc_config = config

    def update_allowed_energy_transfer_modes(
        self, modes: list[EnergyTransferMode]
    ) -> UpdateAllowedEnergyTransferModesResult:
        """Accepted but without effect: there is no HLC on a PWM-only charger."""
        if not modes:
            raise CommandError("allowed_energy_transfer_modes must not be empty")
        return UpdateAllowedEnergyTransferModesResult.NoHlc

    def set_max_current(self, amps: float) -> float:
        """The user's maximum current (a ceiling every limit stays under, the energy
        manager's too); clamped to the installation's maximum. Returns the value kept."""
        kept = self._limits.set_user_max(amps)
        self._step()
        return kept

    def set_enforced_limits(self, limits: EnforcedLimits) -> None:
        """Energy-manager input: allowed current/power and phase count.

        energyImpl.cpp handle_enforce_limits: a limit for another node's uuid is ignored,
        and Charger.cpp set_max_current refuses one that is no longer valid (valid_for <= 0).
        Both are refused here with an error, as the command is addressed to this connector.
        Otherwise the limit is published, a phase count is applied (Charger.cpp
        switch_three_phases_while_charging) and the current limit is set.
        """
        if limits.uuid != self.config.module_uuid:
            raise CommandError(
                f"limits for uuid {limits.uuid!r} ignored: this connector is "
                f"{self.config.module_uuid!r} (see the limits variable)"
            )
        if limits.valid_for <= 0:
            raise CommandError("limits with valid_for <= 0 are already out of date: ignored")
        self._out.set_var("enforced_limits", limits)
        self._limits.update(limits, self._timers.now())
        self._request_phases()
        self._step()

    def set_external_limits(self, limits: ExternalLimits) -> None:
        """External limits (the CSMS's charging profiles), beside the energy manager's:
        EVerest's external_energy_limits.set_external_limits on the EVSE's energy node.
        The current allowed is the lower of both (see ``EnergyLimits``); an empty
        ``schedule_import`` lifts them. Published as ``external_limits``."""
        try:
            self._limits.set_external(limits, self._clock.now(), self._timers.now())
        except ValueError as err:
            raise CommandError(f"external limits: {err}") from err
        self._out.set_var("external_limits", limits)
        self._request_phases()
        self._step()

    def _request_phases(self) -> None:
        """The phase count the energy manager and the external limits allow (the lower;
        neither: no request, Charger.cpp switch_three_phases_while_charging)."""
        counts = []
        enforced = self._limits.enforced
        if enforced is not None and enforced.limits_root_side.ac_max_phase_count is not None:
            counts.append(enforced.limits_root_side.ac_max_phase_count.value)
        external = self._limits.external_now(self._timers.now())
        if external is not None and external.ac_max_phase_count is not None:
            counts.append(external.ac_max_phase_count.value)
        self._phases.request(min(counts) if counts else None)

    # ------------------------------------------------------------------ the machine

    def _facts(self) -> Facts:
        """What the guards and the output may read: the state and the facts, now."""
        return Facts(self.state, self._status, self._parts)

    def _allowed_current(self) -> float:
        return self._facts().allowed_A

    def _guard(self) -> Trigger | None:
        """The current state's guard, on the facts as they are now."""
        return choose(self._facts())

    def _step(self) -> None:
        """Follow triggers until the state is stable, then refresh derived variables."""
        self._stepped_at = self._timers.now()  # what a deadline falling after it needs
        start_state = self.state
        for _ in range(MAX_STEPS):
            trigger = self._guard()
            if trigger is None:
                break
            self._transition(trigger)
        else:
            self._raise_own(
                EvseManagerError.Internal, f"state machine does not settle ({self.state})"
            )
        paused = start_state is State.ChargingPausedEVSE is self.state
        f_s = self._fault_pulse.after_step(self._errors.inoperative, paused)
        if f_s is not None:
            self._timers.arm("fault_f_end", f_s)
        self._after_step(start_state)

    def _transition(self, trigger: Trigger) -> None:
        target = next_state(self.state, trigger)
        if target is self.state:
            self._actions.internal(trigger)
            return
        self._actions.exit(self.state)
        self.state = target
        self._actions.enter(target, trigger)
        self._out.set_var("state", target)

    def _after_step(self, start_state: State) -> None:
        """Keep the signalled current, limits and session figures current."""
        out = self._out
        out.set_var("enabled", self.enabled)
        # evse_managerImpl.cpp: "IEC61851-1" from SessionStarted, "Unknown" again from
        # TransactionFinished / SessionFinished.
        in_session = self._book.facts.session is not None and self.state is not State.Finished
        out.set_var("selected_protocol", "IEC61851-1" if in_session else "Unknown")
        allowed = self._update_signalled_current(entered=start_state is not self.state)
        # evse_managerImpl.cpp signal_max_current: the limit as set (get_max_current_internal),
        # not the PWM current the EV sees; nr_of_phases_available as requested. Built only
        # when one of them changed (every step ends here).
        key = (allowed, self._phases.requested)
        if key != self._limits_published:
            self._limits_published = key
            out.set_var(
                "limits",
                Limits(
                    uuid=self.config.module_uuid,
                    max_current=allowed,
                    nr_of_phases_available=self._phases.requested,
                ),
            )
        self._phases.sync(self.state)
        if self._errors.inoperative:
            self._book.end_reservation()
        self._book.publish_session_info(self.state)

    def _update_signalled_current(self, entered: bool) -> float:
        """Charger.cpp: PrepareCharging and the entry into Charging set the PWM at once
        (update_pwm_now_if_changed_ampere); later in Charging and in ChargingPausedEV
        every change, up or down, waits until 5 s after the last PWM update
        (update_pwm_max_every_5seconds_ampere, IEC 61851-1). A lack of power pauses at once
        through the guards, whatever the PWM. Returns the allowed current."""
        allowed = self._allowed_current()
        target = 0.0 if allowed < MIN_CURRENT_A else allowed
        limited = self.state is State.ChargingPausedEV or (
            self.state is State.Charging and not entered
        )
        now = self._timers.now()
        wait = self._pwm.follow(target, limited, now, self.config.pwm_update_s)
        if wait is None:
            self._timers.cancel("pwm_update")
        else:
            self._timers.arm_at("pwm_update", wait)
        self._pwm.note_output(cp_mode(self._facts(), self.config) is CpMode.PWM, now)
        return allowed

    def _publish_errors(self) -> None:
        self._out.set_var("errors", self._errors.active())

    def _raise_own(self, kind: EvseManagerError, message: str) -> None:
        if self._errors.raise_own(kind, message):
            self._publish_errors()
