"""Configuration of one connector's kernel: EVerest's EvseManager options and defaults."""

from __future__ import annotations

import base64
import uuid as uuidlib
from dataclasses import dataclass

from ..everest import ConnectorTypeEnum


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
    # EvseManager manifest: the SwitchPhases pause and its CP state ("X1" or "F").
    switch_3ph1ph_delay_s: int = 10
    switch_3ph1ph_cp_state: str = "X1"
    # EvseManager manifest soft_over_current_*: MREC4 when a phase draws more than
    # (signalled + noise) * (1 + tolerance/100) for the timeout.
    soft_over_current_tolerance_percent: float = 10.0
    soft_over_current_measurement_noise_A: float = 0.5
    soft_over_current_timeout_ms: int = 7000
    # EvseManager manifest: a failing power meter makes the EVSE inoperative.
    fail_on_powermeter_errors: bool = True
    # EvseManager manifest: without ventilation, an EV in CP D gets no power.
    has_ventilation: bool = True
    # EvseManager manifest: a log directory per session (controller.session_log).
    session_logging: bool = False
    session_logging_path: str = "/tmp"
    # EvseManager manifest: evse_manager/Inoperative carries its cause's vendor_id.
    inoperative_error_use_vendor_id: bool = False
    # EvseManager manifest: an EVSE without a car asks the energy manager for 0 A.
    request_zero_power_in_idle: bool = False
    # EvseManager manifest (utils.hpp generate_session_id): UUID, UUID_BASE64, SHORT_BASE64.
    session_id_type: str = "UUID"
    pwm_update_s: float = 5.0
    # IECStateMachine.hpp power_off_under_load_in_c1_timeout: after PWM off in C, the relays
    # stay permitted until the EV goes to B or this passes (IEC 61851-1 Table A.6 seq. 10.2).
    power_off_under_load_in_c1_timeout_s: float = 6.0
    # EvseManager manifest: lock the socket in CP state B too (IEC 61851-1 D.6.5).
    lock_connector_in_state_b: bool = True
    # IECStateMachine.hpp unlock_in_state_f_timeout: a lock held in CP F opens after this.
    unlock_in_state_f_timeout_s: float = 5.0
    # EvseManager manifest: F for this long when a fault arrives during an EVSE pause.
    state_F_after_fault_ms: int = 300
    # An open transaction found at start-up: "resume" it (one session across a restart) or
    # "finish" it with PowerLoss as EVerest does (Charger.cpp cleanup_transactions_on_startup).
    transaction_at_restart: str = "resume"


def new_session_id(kind: str = "UUID") -> str:
    """utils.hpp generate_session_id: a UUID (36 characters), a UUID in base64 without
    padding (UUID_BASE64, 22) or 12 random bytes in base64 (SHORT_BASE64, 16)."""
    raw = uuidlib.uuid4().bytes
    if kind == "UUID_BASE64":
        return base64.b64encode(raw).decode().rstrip("=")
    if kind == "SHORT_BASE64":
        return base64.b64encode(raw[:12]).decode()
    return str(uuidlib.UUID(bytes=raw))
