"""The charging kernel of one connector: EVerest's EvseManager as a pure state machine.

Bring-your-own-I/O (like h11): inputs are method calls carrying facts (a charger poll, a
meter sample, a command), time comes from an injected clock, and the results are a list of
effects (``take_effects``) plus the level-based charger output (``output``). Each input is
followed by ``_step``, which asks the current state's guard for a trigger and follows the
transition table until the state is stable.

This module keeps construction, the inputs, the commands and the stepping loop. The parts
they drive live in mixins over ``KernelCore`` (``core.py``): the guards (``guards.py``),
the entry/exit actions (``entries.py``), session and transaction bookkeeping
(``bookkeeping.py``) and the derived charger output (``output.py``).
"""

from __future__ import annotations

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
    Limits,
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
from ..ports import ChargerInfo, ChargerStatus
from .arbitration import EnableArbiter
from .bookkeeping import BookkeepingMixin
from .core import KernelConfig, new_session_id
from .effects import Effect, EndSession
from .entries import EntriesMixin
from .faults import METER_LINK_ORIGIN, ActiveErrors
from .guards import GuardsMixin
from .limits import EnergyLimits
from .output import OutputMixin
from .pwm import PwmSignal
from .session import SessionFacts, SessionRecord, StoppedSession, TransactionRecord
from .states import State, Trigger
from .transitions import next_state

__all__ = ["COMMUNICATION_FAULT", "MAX_STEPS", "ChargingKernel", "KernelConfig"]

MAX_STEPS = 32
COMMUNICATION_FAULT = "evse_board_support/CommunicationFault"


class ChargingKernel(GuardsMixin, EntriesMixin, BookkeepingMixin, OutputMixin):
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
        self._new_id = new_id or (lambda: new_session_id(config.session_id_type))
        self.state = State.Disabled
        self._effects = []
        self._vars = {}
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
        self._limits = EnergyLimits(
            charger.capabilities, config.max_current_A, config.nominal_voltage_V
        )
        caps = charger.capabilities
        self._phases = caps.max_phase_count_import
        self._bsp_phases = self._phases
        self._status = ChargerStatus(cp=CpState.A, relays_on=False)
        self._meter = meter_sample
        self._facts = SessionFacts()
        self._reservation = None
        self._ready = not config.external_ready
        self._pnc_config = PlugAndChargeConfiguration()
        self._deadlines = {}
        self._paused_reasons = frozenset()
        self._pwm = PwmSignal()
        self._overcurrent_since = None
        self._trigger = None

    # ------------------------------------------------------------------ lifecycle

    def start(
        self,
        status: ChargerStatus,
        restored: TransactionRecord | None = None,
        last_session: SessionRecord | None = None,
        stopped: StoppedSession | None = None,
    ) -> None:
        """First poll after connect: publish the static variables, deal with what the
        previous process left open, then Enabled/Disabled and ready, and settle the state.

        EvseManager.cpp init: SessionResumed and the clean-up of an open transaction come
        before ready_to_start_charging (Enabled/Disabled, then ready)."""
        self._status = status
        self._publish_static()
        if last_session is not None:
            self._set_var("last_session", last_session)
        resume = self.config.transaction_at_restart == "resume"
        if restored is not None and resume:
            self._restore(restored)
        elif restored is not None:
            self._finish_restored(restored)
        elif stopped is not None and resume:
            self._restore_stopped(stopped)
        elif stopped is not None:
            self._effects.append(EndSession(stopped.session_id))  # EVerest keeps none
        if self._ready:
            self._publish_initial_state()
        self._step()

    def _publish_initial_state(self) -> None:
        """EvseManager.cpp ready_to_start_charging: Enabled/Disabled, then ready (true)."""
        self._emit(
            SessionEventEnum.Enabled if self.enabled else SessionEventEnum.Disabled,
            source=self._arbiter.winner(),
        )
        self._set_var("ready", True)

    def _publish_static(self) -> None:
        caps = self._info.capabilities
        modes = [EnergyTransferMode.AC_single_phase_core]
        if caps.max_phase_count_import >= 3:
            modes.append(EnergyTransferMode.AC_three_phase_core)
        self._set_var("evse_id", self.config.evse_id)
        self._set_var("hw_capabilities", caps)
        self._set_var("selected_protocol", "Unknown")
        self._set_var("supported_energy_transfer_modes", modes)
        self._set_var("waiting_for_external_ready", self.config.external_ready and not self._ready)
        self._set_var("ev_info", EVInfo())
        self._set_var("car_manufacturer", CarManufacturer.Unknown)
        self._set_var("powermeter", self._meter)
        self._set_var("errors", [])
        self._set_var("state", self.state)
        self._set_var("cp_state", self._status.cp)

    def _restore(self, record: TransactionRecord) -> None:
        """A transaction was open when the previous process died: resume or finish it."""
        started_at = record.session_started_at or record.started_at
        self._resume_session(record.session_id, started_at, record.session_reason)
        self._facts.transaction = record
        self._facts.auth = record.id_tag
        counted_from = record.start_energy_Wh if record.baseline_Wh is None else record.baseline_Wh
        if self._meter.energy_Wh_import.total < counted_from:
            self._counter_reset(counted_from)  # reset while no controller ran
        self._emit(SessionEventEnum.SessionResumed)
        if not self._status.cp.plugged:
            self._facts.stop = StopTransactionRequest(reason=StopTransactionReason.PowerLoss)
            self._finish_transaction()
            self._end_session()

    def _finish_restored(self, record: TransactionRecord) -> None:
        """EvseManager.cpp init: SessionResumed with the stored session id, then
        Charger.cpp cleanup_transactions_on_startup stops the meter's transaction and emits
        TransactionFinished(PowerLoss) without id_tag; the charger has no session then, so
        that event's uuid is empty and no SessionFinished follows. A plugged-in EV starts a
        new session."""
        self._emit(SessionEventEnum.SessionResumed, uuid=record.session_id)
        self._facts.transaction = record
        counted_from = record.start_energy_Wh if record.baseline_Wh is None else record.baseline_Wh
        if self._meter.energy_Wh_import.total < counted_from:
            self._counter_reset(counted_from)
        self._facts.stop = StopTransactionRequest(reason=StopTransactionReason.PowerLoss)
        self._finish_transaction()
        self._facts.stop = None

    def _restore_stopped(self, stopped: StoppedSession) -> None:
        """The previous process had finished this session's transaction with the EV left
        plugged in: the session stays stopped until the unplug (no new transaction)."""
        self._resume_session(stopped.session_id, stopped.started_at, stopped.session_reason)
        self._facts.replug_needed = True
        self._emit(SessionEventEnum.SessionResumed)
        if not self._status.cp.plugged:
            self._end_session()  # the EV left meanwhile: ended before Enabled

    # ------------------------------------------------------------------ public facts

    @property
    def transaction(self) -> TransactionRecord | None:
        """The open transaction, if any."""
        return self._facts.transaction

    @property
    def has_lock(self) -> bool:
        """Whether the hardware has a connector lock."""
        return self._info.has_lock

    def vars(self) -> dict[str, Any]:
        """Snapshot of every published variable."""
        return dict(self._vars)

    def take_effects(self) -> list[Effect]:
        """Hand the pending effects to the runner (in order) and forget them."""
        effects, self._effects = self._effects, []
        return effects

    def next_deadline(self) -> float | None:
        """Earliest monotonic time at which ``tick`` has something to do."""
        # A deadline the last tick already saw due stays until new facts change things:
        # it must not make the runner tick (and poll) again at once, over and over.
        times = [t for t in self._deadlines.values() if t > self._ticked_at]
        if self._limits.expires_at is not None and not self._limits.expired(self._now()):
            times.append(self._limits.expires_at)
        return min(times) if times else None

    # ------------------------------------------------------------------ inputs

    def on_charger_status(self, status: ChargerStatus) -> None:
        """A poll of the charge controller."""
        previous = self._status
        self._note_cp_f(status.cp is CpState.F)
        self._note_pp(status)
        if status.cp is CpState.F:
            # While the EVSE drives -12 V it cannot see the EV: keep the last EV state.
            status = replace(status, cp=previous.cp)
        self._status = status
        self._set_var("cp_state", status.cp)
        self._errors.sync_origin("board", (replace(e, origin="board") for e in status.errors))
        self._check_ventilation(status.cp)
        if previous.cp.plugged and not status.cp.plugged:
            self._errors.clear_on_unplug()
        self._publish_errors()
        if status.telemetry is not None:
            self._set_var("telemetry", status.telemetry)
        if (
            status.stop_requested
            and self._facts.transaction is not None
            and self._facts.stop is None
        ):
            self._facts.stop = StopTransactionRequest(reason=StopTransactionReason.Local)
        self._step()

    @property
    def meter(self) -> Powermeter:
        """The latest meter sample."""
        return self._meter

    def on_meter(self, sample: Powermeter) -> None:
        """A meter sample: the billing value every event carries. A counter lower than
        the last one is a counter reset (a replaced or power-cycled meter)."""
        before = self._meter.energy_Wh_import.total
        self._meter = sample
        if sample.energy_Wh_import.total < before:
            self._counter_reset(before)
        self._set_var("powermeter", sample)
        self._check_overcurrent(sample)
        self._step()

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
        self._facts.meter_start_pending = False
        if ok:
            self._open_transaction()
        else:
            self._facts.meter_start_failed = True
            self._raise_own(EvseManagerError.PowermeterTransactionStartFailed, detail)
        self._step()

    def tick(self) -> None:
        """Time passed: expire deadlines and limits."""
        self._ticked_at = self._now()
        self._check_auth_timeout()
        lapsed = self._limits.lapse(self._now())
        if lapsed is not None:
            self._set_var("enforced_limits", lapsed)
        self._step()

    def _check_auth_timeout(self) -> None:
        if not self._due("auth_timeout"):
            return
        if self._facts.transaction is None:
            self.withdraw_authorization()
        else:
            self._deadlines.pop("auth_timeout", None)

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
            self._emit(
                SessionEventEnum.Enabled if verdict else SessionEventEnum.Disabled,
                source=after,
                connector_id=1 if connector_id else None,
            )
        if not self.enabled:
            self._end_reservation()
        self._step()
        return verdict

    def authorize_response(self, token: ProvidedIdToken, result: ValidationResult) -> None:
        """The authorization module's verdict on ``token``."""
        if result.authorization_status is not AuthorizationStatus.Accepted:
            return
        if (
            self._facts.auth is not None
            or self._facts.transaction is not None
            or self._facts.stop is not None
        ):
            return
        if self.state in (State.Finished, State.Disabled) or self._errors.inoperative:
            return
        self._authorize(token, result.reservation_id)
        self._step()

    def withdraw_authorization(self) -> None:
        """Authorization is no longer valid (e.g. the connection timeout ran out).

        Charger.cpp deauthorize_internal: Deauthorized for any session; before charging,
        an unauthorized session gets PluginTimeout and keeps waiting for authorization,
        an authorized one loses it (and ends if no EV is plugged in).
        """
        self._deadlines.pop("auth_timeout", None)
        if self._facts.session is None:
            return
        self._emit(SessionEventEnum.Deauthorized, authorization_event=self._auth_event())
        before_charging = (State.Disabled, State.Idle, State.WaitingForAuthentication)
        if self.state in before_charging and self._facts.transaction is None:
            if self._facts.auth is None:
                self._plugin_timeout()
            else:
                self._facts.auth = None
                if not self._status.cp.plugged:
                    self._end_session()
        self._step()

    def reserve(self, reservation_id: int) -> bool:
        """Reserve the idle EVSE; a negative id reserves it for a global reservation (-1).

        EvseManager.cpp reserve: a global reservation may be made specific by a later id
        (ReservationStart again); the same specific id again is accepted silently.
        """
        if self.state is not State.Idle or self._facts.session is not None:
            return False
        if not self.enabled or self._errors.inoperative:
            return False
        stored = -1 if self._reservation is None else self._reservation
        overwrite = stored == reservation_id
        if self._reservation is not None and stored != -1 and not overwrite:
            return False
        self._reservation = reservation_id if reservation_id >= 0 else stored
        if not overwrite or self._reservation == -1:
            self._emit(SessionEventEnum.ReservationStart, uuid="")
        return True

    def cancel_reservation(self) -> None:
        """End the reservation, if any, with ReservationEnd."""
        self._end_reservation()

    def pause_charging(self) -> bool:
        """Pause by the EVSE (UserPause); true whenever a transaction is open.

        Charger.cpp pause_charging only sets flag_paused_by_evse: in PrepareCharging and
        during an EV pause it takes effect when the EV asks for power.
        """
        if self._facts.transaction is None:
            return False
        self._facts.user_pause = True
        self._step()
        return True

    def resume_charging(self) -> bool:
        """End a pause by the EVSE; true whenever a transaction is open (Charger.cpp)."""
        if self._facts.transaction is None:
            return False
        self._facts.user_pause = False
        self._step()
        return True

    def stop_transaction(self, request: StopTransactionRequest) -> bool:
        """End the transaction with ``request.reason``; charging needs a replug afterwards."""
        if self._facts.transaction is None or self._facts.stop is not None:
            return False
        self._facts.stop = request
        self._step()
        return True

    def force_unlock(self, connector_id: int) -> bool:
        """Unlock now (stopping the transaction first); False without a lock."""
        # evse_managerImpl.cpp handle_force_unlock does not look at the connector id.
        if connector_id not in (0, self.config.connector_id) or not self._info.has_lock:
            return False
        if self._facts.transaction is not None and self._facts.stop is None:
            self._facts.stop = StopTransactionRequest(reason=StopTransactionReason.UnlockCommand)
        self._facts.unlock_requested = True
        self._step()
        return True

    def external_ready_to_start_charging(self) -> bool:
        """Signal from another module that charging may start; only if configured."""
        if not self.config.external_ready:
            return False
        if not self._ready:
            self._ready = True
            self._publish_initial_state()
            self._set_var("waiting_for_external_ready", False)
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
        self._set_var("enforced_limits", limits)
        count = limits.limits_root_side.ac_max_phase_count
        requested = None if count is None else count.value
        caps = self._info.capabilities
        if requested is not None and requested != self._phases:
            possible = caps.min_phase_count_import <= requested <= caps.max_phase_count_import
            if possible and caps.supports_changing_phases_during_charging:
                self._phases = requested
        self._limits.update(limits, self._now())
        self._step()

    # ------------------------------------------------------------------ the machine

    def _step(self) -> None:
        """Follow triggers until the state is stable, then refresh derived variables."""
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
        self._update_fault_f(start_state)
        self._after_step(start_state)

    def _transition(self, trigger: Trigger) -> None:
        target = next_state(self.state, trigger)
        self._trigger = trigger
        if target is self.state:
            self._internal(trigger)
            return
        self._exit(self.state)
        self.state = target
        self._trigger = trigger
        self._enter(target, trigger)
        self._set_var("state", target)

    def _after_step(self, start_state: State) -> None:
        """Keep the signalled current, limits and session figures current."""
        self._set_var("enabled", self.enabled)
        # evse_managerImpl.cpp: "IEC61851-1" from SessionStarted, "Unknown" again from
        # TransactionFinished / SessionFinished.
        in_session = self._facts.session is not None and self.state is not State.Finished
        self._set_var("selected_protocol", "IEC61851-1" if in_session else "Unknown")
        self._update_signalled_current(entered=start_state is not self.state)
        # evse_managerImpl.cpp signal_max_current: the limit as set (get_max_current_internal),
        # not the PWM current the EV sees; nr_of_phases_available as requested.
        self._set_var(
            "limits",
            Limits(
                uuid=self.config.module_uuid,
                max_current=self._allowed_current(),
                nr_of_phases_available=self._phases,
            ),
        )
        self._sync_bsp_phases()
        if self._errors.inoperative:
            self._end_reservation()
        self._publish_session_info()
