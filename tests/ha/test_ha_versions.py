"""Home Assistant versions: the integration must run on 2025.4.4 (tested here) and on 2026.x.

``BANNED`` lists what Home Assistant's developer blog deprecated or removed from 2025.5 on (and
older deprecations whose removal falls in that range); the README's "Home Assistant versions"
paragraph is the same list with what the integration uses instead. The check reads the
integration's own sources (not the bundled controller, which imports nothing from Home
Assistant).
"""

from __future__ import annotations

import re
from pathlib import Path

from homeassistant.config_entries import ConfigEntryState

from .conftest import CHARGER
from .test_config_flow import form

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "evse_manager"

# pattern -> what the blog says (and when)
BANNED = {
    r"\basync_update_reload_and_abort\b": "reloads a second time with an update listener: "
    "deprecated 2026.6, an error from 2026.12 (blog 2026-05-07)",
    r"\bshow_advanced_options\b": "advanced mode leaves data entry flows: deprecated 2026.6, "
    "removed 2027.6 (blog 2026-05-26)",
    r"\basync_forward_entry_setup\(": "removed 2025.6: async_forward_entry_setups",
    r"\bhass\.(helpers|components)\b": "removed: import the helper or component",
    r"\bself\.config_entry\s*=": "OptionsFlow sets config_entry itself: an error from 2025.12",
    r"\bregister_static_path\b": "removed 2025.7: async_register_static_paths",
    r"\basync_(add|run)_job\b": "removed: async_create_task / async_run_hass_job",
    r"\bAddEntitiesCallback\b": "config-entry platforms take AddConfigEntryEntitiesCallback",
    r"\b(HomeAssistantType|ServiceCallType|ContextType|EventType|ServiceDataType)\b": (
        "removed homeassistant.helpers.typing aliases"
    ),
    r"\b(PERCENTAGE|CONCENTRATION_\w+)\b": "unit constants deprecated 2026.7 (blog 2026-06-30)",
    r"\.suggested_area\b": "DeviceEntry.suggested_area removed 2026.9 (blog 2025-08-01)",
    r"\b(via_device|primary_config_entry|config_entries_subentries)\b": (
        "device registry: one config entry per device, deprecated 2026.8 (blog 2026-07-21)"
    ),
    r"\b(async_extract_config_entry_ids|async_extract_entity_ids|async_extract_entities|"
    r"extract_entity_ids|verify_domain_control)\(\s*hass\b": (
        "hass argument of service helpers removed 2026.10 (blog 2025-09-22)"
    ),
    r"\bserial_asyncio\b": "pyserial-asyncio is blocked from 2026.7 (blog 2026-01-05)",
}


def test_no_api_that_current_home_assistant_deprecated_or_removed():
    found = []
    for path in sorted(INTEGRATION.glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            found += [
                f"{path.name}:{number}: {why}"
                for pattern, why in BANNED.items()
                if re.search(pattern, code)
            ]
    assert found == []


def test_the_check_finds_what_it_bans():
    samples = {
        "return self.async_update_reload_and_abort(entry, data=data)",
        "if self.show_advanced_options:",
        "self.config_entry = config_entry",
        "await async_extract_config_entry_ids(hass, call)",
        "unit = PERCENTAGE",
    }
    for sample in samples:
        assert any(re.search(p, sample) for p in BANNED), sample


async def test_reconfigure_reloads_the_entry_once(hass, sim, entry, monkeypatch):
    """The update listener reloads; the flow itself does not reload again (failed before)."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, unique_id=f"{CHARGER}@127.0.0.1:{sim.simulator.port}/default"
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    reload = hass.config_entries.async_reload
    reloads: list[str] = []

    async def counting(entry_id: str) -> bool:
        reloads.append(entry_id)
        return await reload(entry_id)

    monkeypatch.setattr(hass.config_entries, "async_reload", counting)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(sim, name="Garage 2")
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert reloads == [entry.entry_id]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.title == "Garage 2"
    await hass.config_entries.async_unload(entry.entry_id)
