"""The one ISO 15118 type the evse_manager interface uses without HLC."""

from __future__ import annotations

from enum import StrEnum


class EnergyTransferMode(StrEnum):
    """Energy transfer modes of DIN 70121 / ISO 15118-2 / -20."""

    AC_single_phase_core = "AC_single_phase_core"
    AC_two_phase = "AC_two_phase"
    AC_three_phase_core = "AC_three_phase_core"
    DC_core = "DC_core"
    DC_extended = "DC_extended"
    DC_combo_core = "DC_combo_core"
    DC_unique = "DC_unique"
    DC = "DC"
    AC_BPT = "AC_BPT"
    AC_BPT_DER = "AC_BPT_DER"
    AC_DER = "AC_DER"
    DC_BPT = "DC_BPT"
    DC_ACDP = "DC_ACDP"
    DC_ACDP_BPT = "DC_ACDP_BPT"
    WPT = "WPT"
