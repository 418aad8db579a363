"""Diagnostics redaction and the generated static files (strings, services, icons)."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

from homeassistant.components.diagnostics import REDACTED
from packaging.requirements import Requirement
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.evse_manager.controller.catalog import entities, state_key
from custom_components.evse_manager.controller.commands import COMMANDS
from scripts.gen_ha_files import rendered

from .conftest import poll

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "evse_manager"
TOKEN = {"id_token": {"value": "DEADBEEF", "type": "ISO14443"}, "authorization_type": "RFID"}


async def test_diagnostics_redact_tokens_serials_and_hosts(hass, hass_client, loaded, sim):
    hass.config_entries.async_update_entry(loaded, options={"poll_interval_s": 60.0})
    manager = loaded.runtime_data.manager
    sim.station.plug_in()
    await poll(hass, loaded, sim, steps=3)
    from custom_components.evse_manager.controller.commands import execute

    await execute(
        manager,
        "authorize_response",
        {"provided_token": TOKEN, "validation_result": {"authorization_status": "Accepted"}},
    )
    await poll(hass, loaded, sim, steps=3)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded)
    text = json.dumps(diagnostics)
    assert "DEADBEEF" not in text
    assert "127.0.0.1" not in text
    assert diagnostics["entry"]["data"]["charger"]["connection"]["host"] == REDACTED
    assert diagnostics["available"] is True
    assert diagnostics["vars"]["powermeter"]["energy_Wh_import"]["total"] >= 0
    assert diagnostics["charger"]["model"] == "Wallbox Energy Control"


def test_generated_files_are_current():
    """scripts/gen_ha_files.py regenerates these from the catalog and commands."""
    for path, text in rendered().items():
        assert path.read_text(encoding="utf-8") == text, f"regenerate {path.name}"


def test_strings_cover_every_entity_state_and_service():
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    for spec in entities():
        entry = strings["entity"][spec.platform][spec.key]
        assert entry["name"]
        if spec.platform == "sensor" and spec.options:
            assert set(entry["state"]) == {state_key(o) for o in spec.options}
    assert set(strings["services"]) == {*COMMANDS, "simulate_ev"}
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    assert manifest["domain"] == "evse_manager"
    # Only packages from PyPI, pinned as the tests pin them: the controller itself travels
    # inside the integration folder (scripts/release), never as a requirement. pymodbus is a
    # range holding the tests' pin and Home Assistant core's Modbus pins (README:
    # Installation), so neither integration reinstalls it over the other.
    pins = dict(
        line.split("==")
        for line in (INTEGRATION.parents[1] / "requirements-test.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert manifest["requirements"] == [
        "pymodbus>=3.8.3,<3.17",
        *(f"{name}=={pins[name]}" for name in ("aiomqtt", "pyserial", "ocpp", "websockets")),
    ]
    admitted = Requirement(manifest["requirements"][0]).specifier
    assert admitted.contains(pins["pymodbus"])
    core_modbus = find_spec("homeassistant.components.modbus")  # found, not imported
    assert core_modbus is not None
    assert core_modbus.origin is not None
    core = json.loads(Path(core_modbus.origin).with_name("manifest.json").read_text())
    (core_pin,) = Requirement(core["requirements"][0]).specifier  # core's Modbus: pymodbus==
    assert admitted.contains(core_pin.version)
