"""Optionally, the entry's connector also reports to a charging backend (CSMS) as an
OCPP 1.6J / 2.0.1 charge point: the controller's ``csms`` client, set up from the
entry's options (URL, charge point id, version, password), as the standalone
controller's ``csms`` section does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .const import (
    CONF_CSMS_CHARGE_POINT_ID,
    CONF_CSMS_PASSWORD,
    CONF_CSMS_URL,
    CONF_CSMS_VERSION,
    CONNECTOR_NAME,
)
from .controller.manager import EvseManager
from .controller.ocpp.backend.client import CsmsClient
from .controller.ocpp.backend.settings import CsmsSettings, csms_settings


def entry_csms_settings(options: Mapping[str, Any]) -> CsmsSettings:
    """The client settings from an entry's options (vol.Invalid / ValueError when
    invalid); the entry's one connector is connector / EVSE 1."""
    data: dict[str, Any] = {
        "url": str(options[CONF_CSMS_URL]).strip(),
        "charge_point_id": str(options.get(CONF_CSMS_CHARGE_POINT_ID) or "").strip(),
        "version": options.get(CONF_CSMS_VERSION, "1.6"),
    }
    if options.get(CONF_CSMS_PASSWORD):
        data["password"] = options[CONF_CSMS_PASSWORD]
    return csms_settings(data, [CONNECTOR_NAME])


def csms_client(manager: EvseManager, settings: CsmsSettings, store: Path) -> CsmsClient:
    """The client of one connector (not started); its queue lives in the entry's store."""
    return CsmsClient({CONNECTOR_NAME: manager}, settings, store)
