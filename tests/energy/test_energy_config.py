"""The energy section of a connector's configuration: installation facts and tuning."""

import pytest

from controller.config import ConfigError, connector_config


def _connector(charger_map: str, energy: dict[str, object]):
    return connector_config(
        "garage",
        {
            "charger": {"map": charger_map, "connection": {"host": "192.0.2.1"}},
            "meter": "charger",
            "energy": energy,
        },
    )


def test_setpoint_resolution_comes_from_the_charger_map():
    """alfen_eve takes 0.1 A setpoints, webasto_next whole amps (their maps'
    current_step_A): the surplus follows in the steps the charger can take."""
    fine, coarse = _connector("alfen_eve", {}), _connector("webasto_next", {})
    assert fine.energy is not None
    assert coarse.energy is not None
    assert (fine.energy.current_step_A, coarse.energy.current_step_A) == (0.1, 1)


def test_import_budget_is_an_energy_option():
    tuned, default = _connector("alfen_eve", {"import_budget_Wh": 40}), _connector("alfen_eve", {})
    assert tuned.energy is not None
    assert default.energy is not None
    assert (tuned.energy.import_budget_Wh, default.energy.import_budget_Wh) == (40, 150)


def test_battery_soc_thresholds_are_energy_options():
    socs = {"priority_soc": 20, "buffer_soc": 50, "buffer_start_soc": 90}
    tuned, default = _connector("alfen_eve", socs), _connector("alfen_eve", {})
    assert tuned.energy is not None
    assert default.energy is not None
    assert (tuned.energy.priority_soc, tuned.energy.buffer_soc) == (20, 50)
    assert tuned.energy.buffer_start_soc == 90
    assert (default.energy.priority_soc, default.energy.buffer_soc) == (0, 0)


def test_battery_soc_thresholds_out_of_order_are_a_config_error():
    """evcc core/site_api.go SetPrioritySoc: priority must not be above buffer."""
    with pytest.raises(ConfigError, match="priority_soc is above buffer_soc"):
        _connector("alfen_eve", {"priority_soc": 60, "buffer_soc": 50})
