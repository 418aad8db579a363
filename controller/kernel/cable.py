"""The charging cable's rating (proximity pilot), which limits a socket's current.

Only a Type 2 socket has a cable of its own to read; a tethered connector has none.
"""

from __future__ import annotations

from ..everest import Ampacity, ConnectorType, CpState
from .states import State


class Cable:
    """The PP rating read since plug-in, with Charger.cpp's socket rules."""

    def __init__(self, connector_type: ConnectorType) -> None:
        self._socket = connector_type is ConnectorType.IEC62196Type2Socket
        self._rating = Ampacity.None_

    def note(self, cp: CpState, reading: Ampacity) -> None:
        """Charger.cpp keeps max_current_cable once read until the EV leaves: a PP reading
        that drops out mid-session does not lift the cable's limit."""
        if not cp.plugged:
            self._rating = Ampacity.None_
        elif reading is not Ampacity.None_:
            self._rating = reading

    def ampacity(self, state: State, reading: Ampacity) -> Ampacity:
        """Charger.cpp get_max_current_internal: the PP rating limits only a Type 2 socket,
        and only outside Idle (max_current_cable is reset there)."""
        if not self._socket or state is State.Idle:
            return Ampacity.None_
        return self._pp(reading)

    def unknown(self, reading: Ampacity) -> bool:
        """Charger.cpp WaitingForAuthentication: a socket waits until PP is reported."""
        return self._socket and self._pp(reading) is Ampacity.None_

    def _pp(self, reading: Ampacity) -> Ampacity:
        """The rating read since plug-in (or the current reading before any)."""
        return reading if self._rating is Ampacity.None_ else self._rating
