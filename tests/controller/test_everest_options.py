"""EVerest's EvseManager options (manifest.yaml names and defaults) in the standalone
configuration, and what each one changes (issue 13, "EVerest's configuration")."""

import re
from dataclasses import replace

import pytest

from controller.clock import ManualClock
from controller.config import load_config
from controller.errors import ConfigError
from controller.everest import Ampacity, CpState, Energy, Error, Powermeter, Severity
from controller.kernel.machine import ChargingKernel, KernelConfig
from controller.kernel.states import State
from controller.ports import ChargerInfo, ChargerStatus
from controller.simulation.station import DEFAULT_CAPABILITIES

from .conftest import limits, make_rig
from .test_config import VALID

# manifest.yaml default of each option, and another valid value.
OPTIONS = {
    "has_ventilation": (True, False),
    "state_F_after_fault_ms": (300, 0),
    "fail_on_powermeter_errors": (True, False),
    "switch_3ph1ph_delay_s": (10, 3),
    "switch_3ph1ph_cp_state": ("X1", "F"),
    "soft_over_current_tolerance_percent": (10.0, 20.0),
    "soft_over_current_measurement_noise_A": (0.5, 1.0),
    "soft_over_current_timeout_ms": (7000, 10000),
    "raise_mrec9": (False, True),
    "request_zero_power_in_idle": (False, True),
    "inoperative_error_use_vendor_id": (False, True),
    "session_id_type": ("UUID", "SHORT_BASE64"),
    "session_logging": (False, True),
    "session_logging_path": ("/tmp", "/var/log/evse"),
    "lock_connector_in_state_b": (True, False),
}


def _connector(tmp_path, extra=""):
    path = tmp_path / "evse.yaml"
    path.write_text(VALID + extra)
    (connector,) = load_config(path).connectors
    return connector.kernel


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_option_has_everests_default_and_reaches_the_kernel(tmp_path, name):
    default, other = OPTIONS[name]
    assert getattr(_connector(tmp_path), name) == default
    assert getattr(KernelConfig(), name) == default
    value = str(other).lower() if isinstance(other, bool) else other
    assert getattr(_connector(tmp_path, f"    {name}: {value}\n"), name) == other


def test_external_ready_to_start_charging_option(tmp_path):
    """manifest external_ready_to_start_charging (default false) -> KernelConfig.external_ready."""
    assert _connector(tmp_path).external_ready is False
    text = "    external_ready_to_start_charging: true\n"
    assert _connector(tmp_path, text).external_ready is True


def test_transaction_at_restart_option(tmp_path):
    """Not an EVerest option: "resume" (default) keeps one session across a restart;
    "finish" is EVerest's only behaviour (Charger.cpp cleanup_transactions_on_startup)."""
    assert _connector(tmp_path).transaction_at_restart == "resume"
    assert KernelConfig().transaction_at_restart == "resume"
    text = "    transaction_at_restart: finish\n"
    assert _connector(tmp_path, text).transaction_at_restart == "finish"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("    transaction_at_restart: keep\n", "transaction_at_restart"),
        ("    switch_3ph1ph_cp_state: E\n", "switch_3ph1ph_cp_state"),
        ("    soft_over_current_timeout_ms: 5000\n", "soft_over_current_timeout_ms"),
        ("    session_id_type: GUID\n", "session_id_type"),
    ],
)
def test_invalid_option_values_name_the_field(tmp_path, line, field):
    with pytest.raises(ConfigError, match=field):
        _connector(tmp_path, line)


# ---------------------------------------------------------------- behaviour


def _kernel(config: KernelConfig) -> ChargingKernel:
    sample = Powermeter(timestamp="2026-01-01T00:00:00.000Z", energy_Wh_import=Energy(total=0.0))
    info = ChargerInfo(capabilities=DEFAULT_CAPABILITIES, has_lock=True)
    # Free charging: every plug-in is authorized, so the tests reach Charging at once.
    kernel = ChargingKernel(replace(config, free_charging=True), ManualClock(), info, sample)
    kernel.start(ChargerStatus(cp=CpState.A, relays_on=False, pp_ampacity=Ampacity.A_32))
    return kernel


def _charge_in_d(kernel: ChargingKernel) -> None:
    kernel.on_charger_status(ChargerStatus(cp=CpState.B, relays_on=False))
    kernel.on_meter_transaction_started(True)
    kernel.on_charger_status(ChargerStatus(cp=CpState.D, relays_on=False))


def test_has_ventilation_false_gives_an_ev_in_d_no_power():
    """manifest has_ventilation (to the board: VentilationNotAvailable): D needs ventilation."""
    with_fan = _kernel(KernelConfig())
    _charge_in_d(with_fan)
    assert with_fan.state is State.Charging
    assert with_fan.output().allow_power is True
    without = _kernel(KernelConfig(has_ventilation=False))
    _charge_in_d(without)
    assert without.output().allow_power is False
    types = [e.type for e in without.vars()["errors"]]
    assert types[:2] == ["evse_manager/Inoperative", "evse_board_support/VentilationNotAvailable"]
    without.on_charger_status(ChargerStatus(cp=CpState.C, relays_on=False))
    assert [e.type for e in without.vars()["errors"]] == []
    assert without.output().allow_power is True


def test_fail_on_powermeter_errors_false_keeps_charging_without_the_meter():
    """manifest fail_on_powermeter_errors (default true): a failing meter is fatal."""
    for fail, inoperative in ((True, True), (False, False)):
        kernel = _kernel(KernelConfig(fail_on_powermeter_errors=fail))
        _charge_in_d(kernel)
        kernel.on_link_lost("meter", "timeout")
        types = [e.type for e in kernel.vars()["errors"]]
        assert ("evse_manager/Inoperative" in types) is inoperative
        assert "evse_board_support/CommunicationFault" in types
    kernel.on_link_lost("charger", "timeout")
    assert kernel.vars()["errors"][0].type == "evse_manager/Inoperative"


def test_inoperative_error_use_vendor_id_takes_the_causes_vendor():
    """ErrorHandling.cpp raise_inoperative_error: vendor_id of the cause if configured."""
    fault = Error(
        type="evse_board_support/VendorError", message="x", severity=Severity.High, vendor_id="ACME"
    )
    for use, vendor in ((False, None), (True, "ACME")):
        kernel = _kernel(KernelConfig(inoperative_error_use_vendor_id=use))
        kernel.on_charger_status(
            ChargerStatus(cp=CpState.A, relays_on=False, errors=frozenset({fault}))
        )
        inoperative = kernel.vars()["errors"][0]
        assert inoperative.type == "evse_manager/Inoperative"
        assert inoperative.vendor_id == vendor


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("UUID", r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"),
        ("UUID_BASE64", r"[A-Za-z0-9+/]{22}"),
        ("SHORT_BASE64", r"[A-Za-z0-9+/]{16}"),
    ],
)
def test_session_id_type_shapes_the_session_uuid(kind, pattern):
    """utils.hpp generate_session_id: 36, 22 or 16 characters."""
    kernel = _kernel(KernelConfig(session_id_type=kind))
    kernel.on_charger_status(ChargerStatus(cp=CpState.B, relays_on=False))
    (started,) = [
        e.value
        for e in kernel.take_effects()
        if getattr(e, "var", None) == "session_event" and e.value.event.value == "SessionStarted"
    ]
    assert re.fullmatch(pattern, started.uuid)


async def _overcurrent_after(tmp_path, config: KernelConfig, seconds: float) -> bool:
    rig = await make_rig(tmp_path, config)
    try:
        await rig.start_charging()
        await rig.manager.set_enforced_limits(limits(amps=10.0))
        await rig.advance(5)
        rig.station.ev.fixed_current_A = 13.0
        await rig.advance(seconds)
        return "evse_manager/MREC4OverCurrentFailure" in [
            e.type for e in rig.manager.vars()["errors"]
        ]
    finally:
        await rig.manager.stop()
        rig.store.close()


async def test_soft_over_current_options(tmp_path):
    """Charger.cpp check_soft_over_current: limit (signalled + noise) * (1 + tolerance)."""
    for i, (config, seconds, raised) in enumerate(
        [
            (KernelConfig(), 8, True),  # 13 A > (10 + 0.5) * 1.1
            (KernelConfig(soft_over_current_tolerance_percent=30.0), 8, False),  # 13.65 A
            (KernelConfig(soft_over_current_measurement_noise_A=2.0), 8, False),  # 13.2 A
            (KernelConfig(soft_over_current_timeout_ms=10000), 8, False),
            (KernelConfig(soft_over_current_timeout_ms=10000), 11, True),
        ]
    ):
        path = tmp_path / str(i)
        path.mkdir()
        assert await _overcurrent_after(path, config, seconds) is raised, config


async def test_session_logging_writes_one_log_per_session(tmp_path):
    """manifest session_logging / session_logging_path (SessionLog.cpp): SessionStarted
    names <path>/<timestamp>-<session id>; incomplete-eventlog.csv becomes eventlog.csv."""
    from controller.session_log import SessionLog

    logs = tmp_path / "logs"
    config = KernelConfig(session_logging=True, session_logging_path=str(logs))
    rig = await make_rig(tmp_path, config)
    try:
        rig.manager.subscribe(SessionLog(rig.clock).on_update)
        await rig.start_charging()
        (started,) = rig.event_payloads("SessionStarted")
        folder = logs / f"{started.timestamp}-{started.uuid}"
        assert started.session_started.logging_path == str(folder)
        assert (folder / "incomplete-eventlog.csv").exists()
        rig.station.unplug()
        await rig.poll()
        lines = (folder / "eventlog.csv").read_text().splitlines()
        events = [line.split(",", 2)[2] for line in lines if ",session_event," in line]
        assert '"event":"SessionStarted"' in events[0]
        assert '"event":"SessionFinished"' in events[-1]
        assert not (folder / "incomplete-eventlog.csv").exists()
    finally:
        await rig.manager.stop()
        rig.store.close()


async def test_without_session_logging_there_is_no_logging_path(rig):
    rig.station.plug_in()
    await rig.poll()
    (started,) = rig.event_payloads("SessionStarted")
    assert started.session_started.logging_path is None
