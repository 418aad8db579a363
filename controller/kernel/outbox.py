"""What the kernel tells the world: effects in order and the published variables.

The one way anything in the kernel publishes: ``set_var`` publishes a variable only when its
value changes, ``emit`` publishes a session event, ``add`` queues any other effect; the
runner takes them all in order (``take``), which is how "persisted before acknowledged"
holds.
"""

from __future__ import annotations

from typing import Any

from ..clock import Clock, rfc3339
from ..everest import SessionEvent, SessionEventEnum
from .effects import Effect, Publish

_UNSET = object()


class Outbox:
    """Pending effects and the last published value of each variable."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._effects: list[Effect] = []
        self._vars: dict[str, Any] = {}

    def set_var(self, name: str, value: Any) -> None:
        """Publish ``value`` as variable ``name`` unless it already has that value."""
        if self._vars.get(name, _UNSET) != value:
            self._vars[name] = value
            self._effects.append(Publish(name, value))

    def emit(self, event: SessionEventEnum, uuid: str, **payload: Any) -> None:
        """Publish a session event of session ``uuid``, stamped now."""
        stamped = SessionEvent(
            uuid=uuid, timestamp=rfc3339(self._clock.now()), event=event, **payload
        )
        self._effects.append(Publish("session_event", stamped))

    def add(self, effect: Effect) -> None:
        """Queue an effect other than a publication (meter, store)."""
        self._effects.append(effect)

    def vars(self) -> dict[str, Any]:
        """Snapshot of every published variable."""
        return dict(self._vars)

    def take(self) -> list[Effect]:
        """The pending effects, in order; they are forgotten here."""
        effects, self._effects = self._effects, []
        return effects
