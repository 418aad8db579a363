"""The charging kernel of one connector: EVerest's EvseManager as a pure state machine.

Bring-your-own-I/O (like h11): inputs are method calls carrying facts (a charger poll, a
meter sample, a command), time comes from an injected clock, and the results are a list of
effects (``take_effects``) plus the level-based charger output (``output``). Each input is
followed by ``_step``, which asks the current state's guard for a trigger and follows the
transition table until the state is stable.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..clock import Clock, rfc3339
from ..errors import CommandError
from ..everest import (
    AuthorizationStatus,
    AuthorizationType,
    CarManufacturer,
    Connector,
    ConnectorTypeEnum,
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
    IdToken,
    IdTokenType,
    Limits,
    PauseChargingEVSEReason,
    PlugAndChargeConfiguration,
    Powermeter,
    ProvidedIdToken,
    SessionEvent,
    SessionEventEnum,
    Severity,
    StartSessionReason,
    StopTransactionReason,
    StopTransactionRequest,
    UpdateAllowedEnergyTransferModesResult,
    ValidationResult,
)
from ..everest.evse_manager import (
    AuthorizationEvent,
    ChargingPausedEVSEReasons,
    ChargingStateChangedEvent,
    SessionFinished,
    SessionStarted,
    TransactionFinished,
    TransactionStarted,
)
from ..ports import ChargerInfo, ChargerOutput, ChargerStatus, CpMode
from .arbitration import EnableArbiter
from .effects import (
    CloseTransaction,
    Effect,
    PersistTransaction,
    Publish,
    StartMeterTransaction,
    StopMeterTransaction,
)
from .faults import ActiveErrors
from .limits import EnergyLimits
from .pwm import MIN_CURRENT_A, duty_cycle
from .session import Session, SessionInfo, SessionRecord, TransactionRecord
from .states import ACTIVE_STATES, State, Trigger
from .transitions import next_state

MAX_STEPS = 32
FREE_TOKEN = ProvidedIdToken(
    id_token=IdToken(value="FREE", type=IdTokenType.NoAuthorization),
    authorization_type=AuthorizationType.RFID,
)
COMMUNICATION_FAULT = "evse_board_support/CommunicationFault"


@dataclass(frozen=True, kw_only=True)
class KernelConfig:
    """Behaviour switches and timeouts of one connector (EVerest's defaults)."""

    evse_id: str = "DE*EVM*E0001*1"
    evse_index: int = 1
    connector_id: int = 1
    connector_type: ConnectorTypeEnum = ConnectorTypeEnum.sType2
    module_uuid: str = "evse_manager"
    max_current_A: float | None = None
    nominal_voltage_V: float = 230.0
    overvoltage_V: float = 275.0
    auth_timeout_s: float | None = 60.0
    free_charging: bool = False
    raise_mrec9: bool = False
    external_ready: bool = False
    start_enabled: bool = True
    wakeup_after_s: float = 30.0
    wakeup_f_s: float = 4.0
    wakeup_x1_s: float = 0.75
    wakeup_pause_s: float = 10.0
    stopping_timeout_s: float = 20.0
    phase_switch_s: float = 10.0
    overcurrent_s: float = 7.0
    pwm_update_s: float = 5.0


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
        self._new_id = new_id or (lambda: str(uuidlib.uuid4()))
        self.state = State.Disabled
        self._effects: list[Effect] = []
        self._vars: dict[str, Any] = {}
        self._arbiter = EnableArbiter(
            EnableDisableSource(
                enable_source=EnableSource.Unspecified,
                enable_state=EnableState.Enable if config.start_enabled else EnableState.Disable,
                enable_priority=10000,
            )
        )
        self._errors = ActiveErrors()
        self._limits = EnergyLimits(
            charger.capabilities, config.max_current_A, config.nominal_voltage_V
        )
        caps = charger.capabilities
        self._phases = caps.max_phase_count_import
        self._phase_target: int | None = None
        self._status = ChargerStatus(cp=CpState.A, relays_on=False)
        self._meter = meter_sample
        self._session: Session | None = None
        self._transaction: TransactionRecord | None = None
        self._auth: ProvidedIdToken | None = None
        self._auth_reservation: int | None = None
        self._meter_start_pending = False
        self._meter_start_failed = False
        self._plugin_timed_out = False
        self._stop: StopTransactionRequest | None = None
        self._user_pause = False
        self._unlock_requested = False
        self._reservation: int | None = None
        self._ready = not config.external_ready
        self._pnc_config = PlugAndChargeConfiguration()
        self._deadlines: dict[str, float] = {}
        self._paused_reasons: frozenset[PauseChargingEVSEReason] = frozenset()
        self._signalled_A = 0.0
        self._signalled_at = -1e9
        self._overcurrent_since: float | None = None
        self._trigger: Trigger | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(
        self,
        status: ChargerStatus,
        restored: TransactionRecord | None = None,
        last_session: SessionRecord | None = None,
    ) -> None:
        """First poll after connect: publish the static variables and settle the state."""
        self._status = status
        self._publish_static()
        if last_session is not None:
            self._set_var("last_session", last_session)
        self._emit(
            SessionEventEnum.Enabled if self.enabled else SessionEventEnum.Disabled,
            source=self._arbiter.winner(),
        )
        if restored is not None:
            self._restore(restored)
        self._step()

    def _publish_static(self) -> None:
        caps = self._info.capabilities
        modes = [EnergyTransferMode.AC_single_phase_core]
        if caps.max_phase_count_import >= 3:
            modes.append(EnergyTransferMode.AC_three_phase_core)
        self._set_var("evse_id", self.config.evse_id)
        self._set_var("hw_capabilities", caps)
        self._set_var("selected_protocol", "IEC61851-1")
        self._set_var("supported_energy_transfer_modes", modes)
        self._set_var("ready", self._ready)
        self._set_var("waiting_for_external_ready", self.config.external_ready and not self._ready)
        self._set_var("ev_info", EVInfo())
        self._set_var("car_manufacturer", CarManufacturer.Unknown)
        self._set_var("powermeter", self._meter)
        self._set_var("errors", [])
        self._set_var("state", self.state)
        self._set_var("cp_state", self._status.cp)

    def _restore(self, record: TransactionRecord) -> None:
        """A transaction was open when the previous process died: resume or finish it."""
        self._session = Session(
            uuid=record.session_id,
            started_at=record.started_at,
            reason=record.session_reason,
            started_mono=self._clock.monotonic(),
        )
        self._transaction = record
        self._auth = record.id_tag
        self._emit(SessionEventEnum.SessionResumed)
        if not self._status.cp.plugged:
            self._stop = StopTransactionRequest(reason=StopTransactionReason.PowerLoss)
            self._finish_transaction()
            self._end_session()

    # ------------------------------------------------------------------ public facts

    @property
    def enabled(self) -> bool:
        """Result of the enable/disable arbitration."""
        return self._arbiter.enabled

    @property
    def transaction(self) -> TransactionRecord | None:
        """The open transaction, if any."""
        return self._transaction

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
        times = list(self._deadlines.values())
        if self._limits.expires_at is not None and not self._limits.expired(self._now()):
            times.append(self._limits.expires_at)
        return min(times) if times else None

    def pause_reasons(self) -> frozenset[PauseChargingEVSEReason]:
        """Why the EVSE holds charging now (empty: it does not)."""
        reasons: set[PauseChargingEVSEReason] = set()
        if self._user_pause:
            reasons.add(PauseChargingEVSEReason.UserPause)
        if self._errors.inoperative:
            reasons.add(PauseChargingEVSEReason.Error)
        if self._allowed_current() < MIN_CURRENT_A:
            reasons.add(PauseChargingEVSEReason.NoEnergy)
        return frozenset(reasons)

    # ------------------------------------------------------------------ inputs

    def on_charger_status(self, status: ChargerStatus) -> None:
        """A poll of the charge controller."""
        previous = self._status
        if status.cp is CpState.F:
            # While the EVSE drives -12 V it cannot see the EV: keep the last EV state.
            status = replace(status, cp=previous.cp)
        self._status = status
        self._set_var("cp_state", status.cp)
        self._errors.sync_origin("board", (replace(e, origin="board") for e in status.errors))
        if previous.cp.plugged and not status.cp.plugged:
            self._errors.clear_on_unplug()
        self._publish_errors()
        if status.telemetry is not None:
            self._set_var("telemetry", status.telemetry)
        if status.stop_requested and self._transaction is not None and self._stop is None:
            self._stop = StopTransactionRequest(reason=StopTransactionReason.Local)
        self._step()

    def on_meter(self, sample: Powermeter) -> None:
        """A meter sample: the billing value every event carries."""
        self._meter = sample
        self._set_var("powermeter", sample)
        self._check_voltage(sample)
        self._check_overcurrent(sample)
        self._step()

    def on_link_lost(self, device: str, detail: str) -> None:
        """The runner could not talk to a device: inhibit charging until it returns."""
        error = Error(
            type=COMMUNICATION_FAULT,
            sub_type=device,
            message=f"{device} unreachable: {detail}",
            severity=Severity.High,
            origin="link",
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
        self._meter_start_pending = False
        if ok:
            self._open_transaction()
        else:
            self._meter_start_failed = True
            self._raise_own(EvseManagerError.PowermeterTransactionStartFailed, detail)
        self._step()

    def tick(self) -> None:
        """Time passed: expire deadlines and limits."""
        self._check_auth_timeout()
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
        before = self._arbiter.winner()
        was_enabled = self.enabled
        self._arbiter.vote(source)
        after = self._arbiter.winner()
        disable_involved = any(
            w is not None and w.enable_state is EnableState.Disable for w in (before, after)
        )
        if disable_involved and was_enabled != self.enabled:
            self._emit(
                SessionEventEnum.Enabled if self.enabled else SessionEventEnum.Disabled,
                source=after or source,
                connector_id=1 if connector_id else None,
            )
        if not self.enabled:
            self._end_reservation()
        self._step()
        return self.enabled

    def authorize_response(self, token: ProvidedIdToken, result: ValidationResult) -> None:
        """The authorization module's verdict on ``token``."""
        if result.authorization_status is not AuthorizationStatus.Accepted:
            return
        if self._auth is not None or self._transaction is not None or self._stop is not None:
            return
        if self.state in (State.Finished, State.Disabled) or self._errors.inoperative:
            return
        self._authorize(token, result.reservation_id)
        self._step()

    def withdraw_authorization(self) -> None:
        """Authorization is no longer valid (e.g. the connection timeout ran out)."""
        self._deadlines.pop("auth_timeout", None)
        if self._session is None:
            return
        if self._auth is None:
            if self._status.cp.plugged and self.state is State.WaitingForAuthentication:
                self._plugin_timeout()
            self._step()
            return
        self._auth = None
        self._emit(SessionEventEnum.Deauthorized, authorization_event=self._auth_event())
        if self._transaction is None and not self._status.cp.plugged:
            self._end_session()
        self._step()

    def reserve(self, reservation_id: int) -> bool:
        """Reserve the idle EVSE; negative ids reserve it for a global reservation."""
        if self.state is not State.Idle or self._session is not None:
            return False
        if not self.enabled or self._errors.inoperative:
            return False
        if self._reservation is not None:
            return self._reservation == reservation_id
        self._reservation = reservation_id
        self._emit(SessionEventEnum.ReservationStart, uuid="")
        return True

    def cancel_reservation(self) -> None:
        """End the reservation, if any, with ReservationEnd."""
        self._end_reservation()

    def pause_charging(self) -> bool:
        """Pause by the EVSE (UserPause); only with an open transaction."""
        if self._transaction is None or self._stop is not None:
            return False
        self._user_pause = True
        self._step()
        return True

    def resume_charging(self) -> bool:
        """End a pause by the EVSE; an EV's own pause cannot be ended from here."""
        if self._transaction is None or not self._user_pause:
            return False
        self._user_pause = False
        self._step()
        return True

    def stop_transaction(self, request: StopTransactionRequest) -> bool:
        """End the transaction with ``request.reason``; charging needs a replug afterwards."""
        if self._transaction is None or self._stop is not None:
            return False
        self._stop = request
        self._step()
        return True

    def force_unlock(self, connector_id: int) -> bool:
        """Unlock now (stopping the transaction first); False without a lock."""
        if connector_id != self.config.connector_id or not self._info.has_lock:
            return False
        if self._transaction is not None and self._stop is None:
            self._stop = StopTransactionRequest(reason=StopTransactionReason.UnlockCommand)
        self._unlock_requested = True
        self._step()
        return True

    def external_ready_to_start_charging(self) -> bool:
        """Signal from another module that charging may start; only if configured."""
        if not self.config.external_ready:
            return False
        self._ready = True
        self._set_var("ready", True)
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

    def set_enforced_limits(self, limits: EnforcedLimits) -> None:
        """Energy-manager input: allowed current/power and phase count."""
        self._limits.update(limits, self._now())
        self._set_var("enforced_limits", limits)
        requested = self._limits.requested_phases()
        caps = self._info.capabilities
        if requested is not None and requested != self._phases:
            possible = caps.min_phase_count_import <= requested <= caps.max_phase_count_import
            self._phase_target = requested if possible else None
        self._step()

    # ------------------------------------------------------------------ the machine

    def _step(self) -> None:
        """Follow triggers until the state is stable, then refresh derived variables."""
        for _ in range(MAX_STEPS):
            trigger = self._guard()
            if trigger is None:
                break
            self._transition(trigger)
        else:
            self._raise_own(
                EvseManagerError.Internal, f"state machine does not settle ({self.state})"
            )
        self._after_step()

    def _transition(self, trigger: Trigger) -> None:
        target = next_state(self.state, trigger)
        self._exit(self.state)
        self.state = target
        self._trigger = trigger
        self._enter(target, trigger)
        self._set_var("state", target)

    def _guard(self) -> Trigger | None:
        if self.state is not State.Disabled and not self.enabled:
            return Trigger.DISABLE
        guard = getattr(self, f"_guard_{self.state.name}")
        trigger: Trigger | None = guard()
        return trigger

    def _guard_Disabled(self) -> Trigger | None:
        if self.enabled:
            return Trigger.ENABLE
        if self._session is not None and not self._status.cp.plugged:
            # Unplugged while disabled: the session ends here, the EVSE stays disabled.
            self._enter_Finished(Trigger.UNPLUG)
            self._end_session()
        return None

    def _guard_Idle(self) -> Trigger | None:
        if not self._ready or not self._status.cp.plugged:
            return None
        if self._transaction is not None:
            return Trigger.RESUME_TRANSACTION
        if self._errors.inoperative:
            return None
        return Trigger.PLUG_IN

    def _guard_WaitingForAuthentication(self) -> Trigger | None:
        if not self._status.cp.plugged:
            return Trigger.UNPLUG
        if self._plugin_timed_out or self._meter_start_failed or self._errors.inoperative:
            return Trigger.AUTH_FAILED
        if self._transaction is not None:
            return Trigger.TRANSACTION_STARTED
        if self._auth is not None and not self._meter_start_pending:
            self._meter_start_pending = True
            self._effects.append(StartMeterTransaction(self._session_id()))
        return None

    def _stop_wanted(self) -> bool:
        return not self._status.cp.plugged or self._stop is not None

    def _phase_switch_wanted(self) -> bool:
        return self._phase_target is not None and (
            self._info.capabilities.supports_changing_phases_during_charging
        )

    def _guard_PrepareCharging(self) -> Trigger | None:
        if self._stop_wanted():
            return Trigger.STOP
        if self.pause_reasons():
            return Trigger.EVSE_PAUSE
        if self._phase_switch_wanted():
            return Trigger.SWITCH_PHASES
        if self._status.cp.requests_power and self._signalled_A >= MIN_CURRENT_A:
            return Trigger.EV_REQUESTS_POWER
        if self._due("wakeup_pause"):
            return Trigger.WAKEUP_TIMEOUT
        self._run_wakeup()
        return None

    def _guard_Charging(self) -> Trigger | None:
        if self._stop_wanted():
            return Trigger.STOP
        if self.pause_reasons():
            return Trigger.EVSE_PAUSE
        if not self._status.cp.requests_power:
            return Trigger.EV_STOPS_POWER
        if self._phase_switch_wanted():
            return Trigger.SWITCH_PHASES
        return None

    def _guard_StoppingCharging(self) -> Trigger | None:
        if self._status.relays_on and not self._due("stopping"):
            return None
        if self._stop_wanted() or self._transaction is None:
            return Trigger.FINISH
        if self.pause_reasons():
            return Trigger.PAUSED_BY_EVSE
        return Trigger.PAUSED_BY_EV

    def _guard_ChargingPausedEV(self) -> Trigger | None:
        if self._stop_wanted():
            return Trigger.STOP
        if self.pause_reasons():
            return Trigger.EVSE_PAUSE
        if self._phase_switch_wanted():
            return Trigger.SWITCH_PHASES
        if self._status.cp.requests_power:
            return Trigger.EV_REQUESTS_POWER
        return None

    def _guard_ChargingPausedEVSE(self) -> Trigger | None:
        if self._stop_wanted():
            return Trigger.STOP
        reasons = self.pause_reasons()
        if not reasons:
            return Trigger.EVSE_RESUME
        if reasons != self._paused_reasons:
            self._emit_paused_evse(reasons)
        return None

    def _guard_SwitchPhases(self) -> Trigger | None:
        if self._stop_wanted():
            return Trigger.STOP
        if self._due("phase_switch"):
            self._phases = self._phase_target or self._phases
            self._phase_target = None
            return Trigger.PHASES_SWITCHED
        return None

    def _guard_Finished(self) -> Trigger | None:
        if not self._status.cp.plugged:
            return Trigger.UNPLUG
        return None

    # ------------------------------------------------------------------ entry / exit

    def _exit(self, state: State) -> None:
        for name in _STATE_DEADLINES.get(state, ()):
            self._deadlines.pop(name, None)

    def _enter(self, state: State, trigger: Trigger) -> None:
        entry = getattr(self, f"_enter_{state.name}", None)
        if entry is not None:
            entry(trigger)

    def _enter_Disabled(self, trigger: Trigger) -> None:
        self._end_reservation()

    def _enter_Idle(self, trigger: Trigger) -> None:
        if trigger is Trigger.UNPLUG:
            self._end_session()

    def _enter_WaitingForAuthentication(self, trigger: Trigger) -> None:
        if self._session is None:
            self._start_session(StartSessionReason.EVConnected, None)
        self._emit(SessionEventEnum.AuthRequired)
        if self._auth is None:
            self._arm_auth_timeout()
            if self.config.free_charging:
                self._authorize(FREE_TOKEN, None)

    def _enter_PrepareCharging(self, trigger: Trigger) -> None:
        self._emit(SessionEventEnum.PrepareCharging)
        self._deadlines["wakeup"] = self._now() + self.config.wakeup_after_s

    def _enter_Charging(self, trigger: Trigger) -> None:
        self._emit(
            SessionEventEnum.ChargingStarted,
            charging_state_changed_event=ChargingStateChangedEvent(meter_value=self._meter),
        )

    def _enter_StoppingCharging(self, trigger: Trigger) -> None:
        self._emit(SessionEventEnum.StoppingCharging)
        self._deadlines["stopping"] = self._now() + self.config.stopping_timeout_s

    def _enter_ChargingPausedEV(self, trigger: Trigger) -> None:
        self._emit(
            SessionEventEnum.ChargingPausedEV,
            charging_state_changed_event=ChargingStateChangedEvent(meter_value=self._meter),
        )

    def _enter_ChargingPausedEVSE(self, trigger: Trigger) -> None:
        self._emit_paused_evse(self.pause_reasons())

    def _enter_SwitchPhases(self, trigger: Trigger) -> None:
        self._emit(SessionEventEnum.SwitchingPhases)
        self._deadlines["phase_switch"] = self._now() + self.config.phase_switch_s

    def _enter_Finished(self, trigger: Trigger) -> None:
        self._deadlines.pop("auth_timeout", None)
        if self._transaction is not None:
            self._emit(SessionEventEnum.ChargingFinished)
            self._finish_transaction()
        self._auth = None

    # ------------------------------------------------------------------ actions

    def _now(self) -> float:
        return self._clock.monotonic()

    def _due(self, name: str) -> bool:
        deadline = self._deadlines.get(name)
        return deadline is not None and self._now() >= deadline

    def _session_id(self) -> str:
        return self._session.uuid if self._session is not None else ""

    def _emit(self, event: SessionEventEnum, uuid: str | None = None, **payload: Any) -> None:
        self._effects.append(
            Publish(
                "session_event",
                SessionEvent(
                    uuid=self._session_id() if uuid is None else uuid,
                    timestamp=rfc3339(self._clock.now()),
                    event=event,
                    **payload,
                ),
            )
        )

    def _set_var(self, name: str, value: Any) -> None:
        if self._vars.get(name, _UNSET) != value:
            self._vars[name] = value
            self._effects.append(Publish(name, value))

    def _publish_errors(self) -> None:
        self._set_var("errors", self._errors.active())

    def _raise_own(self, error: EvseManagerError, message: str) -> None:
        severity = (
            Severity.High if error is EvseManagerError.MREC4OverCurrentFailure else Severity.Medium
        )
        raised = self._errors.raise_error(
            Error(type=error.value, message=message or error.name, severity=severity)
        )
        if raised:
            self._publish_errors()

    def _auth_event(self) -> AuthorizationEvent:
        return AuthorizationEvent(meter_value=self._meter)

    def _start_session(self, reason: StartSessionReason, token: ProvidedIdToken | None) -> None:
        self._session = Session(
            uuid=self._new_id(),
            started_at=rfc3339(self._clock.now()),
            reason=reason,
            started_mono=self._now(),
        )
        self._set_var("ev_info", EVInfo())
        self._set_var("car_manufacturer", CarManufacturer.Unknown)
        reservation = self._reservation if reason is StartSessionReason.Authorized else None
        self._emit(
            SessionEventEnum.SessionStarted,
            session_started=SessionStarted(
                reason=reason, meter_value=self._meter, id_tag=token, reservation_id=reservation
            ),
        )
        if reason is StartSessionReason.Authorized:
            self._reservation = None  # ends silently: the reserved user arrived

    def _end_session(self) -> None:
        if self._session is None:
            return
        self._emit(
            SessionEventEnum.SessionFinished,
            session_finished=SessionFinished(meter_value=self._meter),
        )
        self._session = None
        self._auth = None
        self._stop = None
        self._user_pause = False
        self._unlock_requested = False
        self._plugin_timed_out = False
        self._meter_start_failed = False
        self._meter_start_pending = False
        self._deadlines.pop("auth_timeout", None)
        self._set_var("ev_info", EVInfo())
        self._set_var("session_info", None)
        if self._errors.clear_on_unplug():
            self._publish_errors()

    def _authorize(self, token: ProvidedIdToken, reservation_id: int | None) -> None:
        self._auth_reservation = reservation_id if reservation_id is not None else self._reservation
        if self._session is None:
            self._start_session(StartSessionReason.Authorized, token)
        self._auth = token
        self._emit(SessionEventEnum.Authorized, authorization_event=self._auth_event())
        if not self._status.cp.plugged:
            self._arm_auth_timeout()
        else:
            self._deadlines.pop("auth_timeout", None)

    def _arm_auth_timeout(self) -> None:
        if self.config.auth_timeout_s is not None:
            self._deadlines["auth_timeout"] = self._now() + self.config.auth_timeout_s

    def _check_auth_timeout(self) -> None:
        if not self._due("auth_timeout"):
            return
        if self._transaction is None:
            self.withdraw_authorization()
        else:
            self._deadlines.pop("auth_timeout", None)

    def _plugin_timeout(self) -> None:
        self._plugin_timed_out = True
        self._emit(SessionEventEnum.PluginTimeout)
        if self.config.raise_mrec9:
            self._raise_own(EvseManagerError.MREC9AuthorizationTimeout, "no authorization")

    def _open_transaction(self) -> None:
        if self._session is None or self._auth is None:
            return
        reservation = self._auth_reservation
        record = TransactionRecord(
            session_id=self._session.uuid,
            connector_id=self.config.connector_id,
            started_at=rfc3339(self._clock.now()),
            session_reason=self._session.reason,
            id_tag=self._auth,
            start_meter=self._meter,
            reservation_id=reservation,
        )
        self._effects.append(PersistTransaction(record))
        self._transaction = record
        self._reservation = None  # ends silently at TransactionStarted
        self._deadlines.pop("auth_timeout", None)
        self._emit(
            SessionEventEnum.TransactionStarted,
            transaction_started=TransactionStarted(
                id_tag=record.id_tag, meter_value=self._meter, reservation_id=reservation
            ),
        )

    def _finish_transaction(self) -> None:
        record = self._transaction
        if record is None:
            return
        if self._stop is not None:
            reason, id_tag = self._stop.reason, self._stop.id_tag
        elif not self._status.cp.plugged:
            reason, id_tag = StopTransactionReason.EVDisconnected, None
        else:
            reason, id_tag = StopTransactionReason.Other, None
        self._effects.append(StopMeterTransaction(record.session_id))
        finished_at = rfc3339(self._clock.now())
        stop_energy = self._meter.energy_Wh_import.total
        summary = SessionRecord(
            session_id=record.session_id,
            connector_id=record.connector_id,
            id_tag=record.id_tag.id_token.value,
            started_at=record.started_at,
            finished_at=finished_at,
            start_energy_Wh=record.start_energy_Wh,
            stop_energy_Wh=stop_energy,
            energy_Wh=stop_energy - record.start_energy_Wh,
            duration_s=_seconds_between(record.started_at, finished_at),
            start_reason=record.session_reason,
            stop_reason=reason,
        )
        self._effects.append(CloseTransaction(summary))
        self._set_var("last_session", summary)
        self._transaction = None
        self._emit(
            SessionEventEnum.TransactionFinished,
            transaction_finished=TransactionFinished(
                meter_value=self._meter, reason=reason, id_tag=id_tag
            ),
        )

    def _end_reservation(self) -> None:
        if self._reservation is None:
            return
        self._reservation = None
        self._emit(SessionEventEnum.ReservationEnd, uuid="")

    def _emit_paused_evse(self, reasons: frozenset[PauseChargingEVSEReason]) -> None:
        self._paused_reasons = reasons
        ordered = [r for r in PauseChargingEVSEReason if r in reasons]
        self._emit(
            SessionEventEnum.ChargingPausedEVSE,
            charging_paused_evse=ChargingPausedEVSEReasons(reasons=ordered),
            charging_state_changed_event=ChargingStateChangedEvent(meter_value=self._meter),
        )

    def _run_wakeup(self) -> None:
        """No EV response 30 s after PWM: one F pulse (T_step_EF), then wait 10 s more."""
        if self._due("wakeup"):
            del self._deadlines["wakeup"]
            self._deadlines["wakeup_f_end"] = self._now() + self.config.wakeup_f_s
        elif self._due("wakeup_f_end"):
            del self._deadlines["wakeup_f_end"]
            self._deadlines["wakeup_x1_end"] = self._now() + self.config.wakeup_x1_s
        elif self._due("wakeup_x1_end"):
            del self._deadlines["wakeup_x1_end"]
            self._deadlines["wakeup_pause"] = self._now() + self.config.wakeup_pause_s

    def _check_voltage(self, sample: Powermeter) -> None:
        voltage = sample.voltage_V
        if voltage is None:
            return
        phases = [v for v in (voltage.L1, voltage.L2, voltage.L3) if v is not None]
        if phases and max(phases) > self.config.overvoltage_V:
            self._raise_own(EvseManagerError.MREC5OverVoltage, f"{max(phases):.1f} V")

    def _check_overcurrent(self, sample: Powermeter) -> None:
        """MREC4: any phase above (signalled + 0.5 A) * 1.1 for 7 s while charging."""
        current = sample.current_A
        if self.state is not State.Charging or current is None:
            self._overcurrent_since = None
            return
        limit = (self._signalled_A + 0.5) * 1.1
        phases = [c for c in (current.L1, current.L2, current.L3) if c is not None]
        if not phases or max(phases) <= limit:
            self._overcurrent_since = None
            return
        if self._overcurrent_since is None:
            self._overcurrent_since = self._now()
        elif self._now() - self._overcurrent_since >= self.config.overcurrent_s:
            self._raise_own(
                EvseManagerError.MREC4OverCurrentFailure,
                f"{max(phases):.1f} A drawn, {self._signalled_A:.1f} A allowed",
            )

    # ------------------------------------------------------------------ derived outputs

    def _allowed_current(self) -> float:
        return self._limits.allowed_current(self._phases, self._status.pp_ampacity, self._now())

    def _after_step(self) -> None:
        """Keep the signalled current, limits and session figures current."""
        self._set_var("enabled", self.enabled)
        self._update_signalled_current()
        self._set_var(
            "limits",
            Limits(
                uuid=self.config.module_uuid,
                max_current=self._signalled_A,
                nr_of_phases_available=self._phases,
            ),
        )
        if self._phase_target is not None and self.state not in ACTIVE_STATES:
            self._phases, self._phase_target = self._phase_target, None
        if self._errors.inoperative:
            self._end_reservation()
        self._publish_session_info()

    def _update_signalled_current(self) -> None:
        """New current limits apply at once when lower, at most every 5 s when higher."""
        target = self._allowed_current()
        target = 0.0 if target < MIN_CURRENT_A else target
        if target == self._signalled_A:
            self._deadlines.pop("pwm_update", None)
            return
        held = (
            self.state is State.Charging
            and target > self._signalled_A
            and self._now() - self._signalled_at < self.config.pwm_update_s
        )
        if held:
            self._deadlines["pwm_update"] = self._signalled_at + self.config.pwm_update_s
            return
        self._deadlines.pop("pwm_update", None)
        self._signalled_A = target
        self._signalled_at = self._now()

    def _publish_session_info(self) -> None:
        if self._session is None:
            return
        start = self._transaction.start_energy_Wh if self._transaction else None
        energy = self._meter.energy_Wh_import.total - start if start is not None else 0.0
        power = self._meter.power_W.total if self._meter.power_W is not None else 0.0
        self._set_var(
            "session_info",
            SessionInfo(
                uuid=self._session.uuid,
                state=self.state.value,
                started_at=self._session.started_at,
                duration_s=round(self._now() - self._session.started_mono, 1),
                energy_Wh=energy,
                power_W=power,
                id_tag=self._auth.id_token.value if self._auth else None,
            ),
        )

    def output(self) -> ChargerOutput:
        """What the charge controller must do now (level-based; the port diffs it)."""
        cp = self._cp_mode()
        current = self._signalled_A if cp is CpMode.PWM else 0.0
        allow = (
            self.state is State.Charging
            and cp is CpMode.PWM
            and self._status.cp.requests_power
            and not self._errors.inoperative
        )
        return ChargerOutput(
            enabled=self.enabled,
            cp=cp,
            duty_cycle=duty_cycle(current) if cp is CpMode.PWM else 100.0,
            current_A=current,
            allow_power=allow,
            phases=self._phases,
            locked=self._locked(),
            overcurrent_limit_A=current,
        )

    def _cp_mode(self) -> CpMode:
        if not self.enabled or self.state is State.Disabled or self._errors.emergency:
            return CpMode.F
        if self.state is State.Idle and self._errors.inoperative:
            return CpMode.F
        if "wakeup_f_end" in self._deadlines:
            return CpMode.F
        if "wakeup_x1_end" in self._deadlines:
            return CpMode.X1
        pwm_states = (State.PrepareCharging, State.Charging, State.ChargingPausedEV)
        if self.state in pwm_states and self._signalled_A >= MIN_CURRENT_A:
            return CpMode.PWM
        return CpMode.X1

    def _locked(self) -> bool:
        if not self._info.has_lock or self._unlock_requested:
            return False
        return self._transaction is not None and self._status.cp.plugged


_UNSET = object()

_STATE_DEADLINES: dict[State, tuple[str, ...]] = {
    State.PrepareCharging: ("wakeup", "wakeup_f_end", "wakeup_x1_end", "wakeup_pause"),
    State.StoppingCharging: ("stopping",),
    State.SwitchPhases: ("phase_switch",),
}


def _seconds_between(start: str, end: str) -> float:
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    finish = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return (finish - begin).total_seconds()
