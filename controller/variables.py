"""Names of the variables the controller publishes (``Update.var``)."""

from __future__ import annotations

# The variables of EVerest's evse_manager interface, in its order.
INTERFACE_VARS = (
    "session_event",
    "hlc_session_failed",
    "limits",
    "ev_info",
    "car_manufacturer",
    "telemetry",
    "powermeter",
    "powermeter_public_key_ocmf",
    "evse_id",
    "hw_capabilities",
    "enforced_limits",
    "waiting_for_external_ready",
    "ready",
    "selected_protocol",
    "supported_energy_transfer_modes",
)

# Our additions: charger state, CP state, enable result, active errors, live session figures,
# the last finished session and the user's maximum current.
EXTENSION_VARS = (
    "state",
    "cp_state",
    "enabled",
    "errors",
    "session_info",
    "last_session",
    "max_current",
)

# Events, not states: published as they happen, never retained as "the current value".
EVENT_VARS = frozenset({"session_event", "hlc_session_failed"})
