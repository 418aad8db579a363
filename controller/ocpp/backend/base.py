"""What both versions' CSMS sessions and codecs share.

A session is the ``ocpp`` package's charge point class over one WebSocket; it reuses
the central system's ``_Session`` for what is the same on either side of the link
(a call that fails fast when the link drops, and a router that answers anything
malformed with a CALLERROR instead of ending the session). A codec turns ``Report``s
into the version's messages; it outlives the connections (it encodes while offline).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..central import _Session, _spawn
from .outbox import Message, Outbox
from .report import Report, TxUpdated

if TYPE_CHECKING:
    from .client import CsmsClient


@dataclass(frozen=True)
class Identity:
    """What the BootNotification says about us."""

    vendor: str
    model: str
    serial: str | None = None
    firmware: str | None = None


@dataclass(frozen=True)
class Answer:
    """What a delivered message's answer asks of us."""

    deauthorize: str | None = None  # our transaction the CSMS refused the token of


class Codec(Protocol):
    """One OCPP version's messages."""

    subprotocol: str

    def connected(self) -> None:
        """A new connection was booted (what was sent before is forgotten)."""
        ...

    def boot(self, identity: Identity) -> Any:
        """BootNotification."""
        ...

    def heartbeat(self) -> Any:
        """Heartbeat."""
        ...

    def authorize(self, id_tag: str) -> Any:
        """Authorize."""
        ...

    def authorization_status(self, result: Any) -> str:
        """The token's status in an Authorize answer."""
        ...

    def encode(self, report: Report, outbox: Outbox) -> None:
        """Queue the messages a report causes (transaction ones durably)."""
        ...

    def meter_values(self, report: TxUpdated, outbox: Outbox) -> None:
        """Queue MeterValues (TriggerMessage)."""
        ...

    def prepare(self, message: Message, outbox: Outbox) -> Any:
        """The call for a queued message (ids resolved), None to drop it."""
        ...

    def answered(self, message: Message, result: Any, outbox: Outbox) -> Answer:
        """Note what an answer tells (the CSMS's transaction id, a refused token)."""
        ...

    def our_tx(self, transaction_id: Any, outbox: Outbox, open_txs: list[str]) -> str | None:
        """Our session id for the transaction the CSMS names."""
        ...


class StationSession(_Session):
    """Our side of one connection to the CSMS (version classes add the handlers)."""

    client: CsmsClient

    def _attach(self, client: CsmsClient) -> None:
        self.client = client
        self.tasks: set[asyncio.Task[None]] = set()

    def later(self, coro: Any) -> None:
        """Run a follow-up after the answer is sent (a call made from inside a handler
        would wait for an answer the receive loop cannot read meanwhile)."""
        _spawn(self.tasks, coro)

    def close_tasks(self) -> None:
        """The connection ended: its follow-ups go too."""
        for task in list(self.tasks):
            task.cancel()


def clip(text: str | None, length: int) -> str | None:
    """A CiString field cut to its maximum length (the schema refuses longer)."""
    return None if text is None else text[:length]


def known(value: str, enum: Any, default: str) -> str:
    """``value`` if the version's enum has it, else ``default``."""
    return value if value in {e.value for e in enum} else default


def parse_expiry(text: Any) -> datetime | None:
    """A ReserveNow expiry (a dateTime; one without a zone is UTC), None if unreadable."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
