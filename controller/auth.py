"""The token validator: which RFID cards (id tags) may charge at a connector.

EVerest passes a token presented at the charger to its Auth module, which validates it
and calls the EvseManager's ``authorize_response``. Ours is a local list: the top-level
``auth: {id_tags: [...]}`` holds for every connector, a connector's own ``auth`` adds
its cards. Id tags compare case-insensitively (OCPP 1.6 IdToken is a case-insensitive
string; RFID UIDs are hex written either way). Without any list every card is refused:
a charger's card reader then starts nothing.

``present_token`` is the one way a token presented by a user reaches a connector (the
``present_token`` command: a Home Assistant service, an MQTT command; for a charger
without a card reader, or a dashboard button "authorize card X"): a connector that
reports to a CSMS asks it (Authorize, as EVerest's Auth module asks its OCPP
validator), falling back to the card list while the CSMS cannot answer; any other
connector checks its card list. A card read at an OCPP wallbox is validated the same
way (``validate``, within the central system's bound: the wallbox waits for its answer).
The verdict is handed to the kernel's ``authorize_response``, which decides the charging.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

import voluptuous as vol

from .everest import (
    AuthorizationStatus,
    AuthorizationType,
    IdToken,
    IdTokenType,
    ProvidedIdToken,
    ValidationResult,
)

if TYPE_CHECKING:
    from .manager import EvseManager

# A CSMS's verdict on a token presented at one connector.
RemoteValidator = Callable[[ProvidedIdToken], Awaitable[ValidationResult]]
# What a CSMS says when it cannot be asked (offline, no answer): the card list decides.
UNANSWERED = frozenset({AuthorizationStatus.Timeout, AuthorizationStatus.Unknown})

# OCPP 2.0.1 IdToken is 36 characters at most (1.6 idTag 20).
ID_TAG = vol.All(str, vol.Strip, vol.Length(min=1, max=36))
AUTH_SCHEMA = vol.Schema({vol.Optional("id_tags", default=list): [ID_TAG]})


def same_tag(a: str | None, b: str | None) -> bool:
    """Two id tags are the same card (case-insensitive; None matches nothing)."""
    return a is not None and b is not None and a.casefold() == b.casefold()


class TokenValidator:
    """A local list of accepted id tags."""

    def __init__(self, id_tags: Iterable[str] = ()) -> None:
        self.id_tags = frozenset(tag.casefold() for tag in id_tags)

    def validate(self, id_tag: str) -> ValidationResult:
        """Accepted for a listed card, Invalid for any other."""
        known = isinstance(id_tag, str) and id_tag.casefold() in self.id_tags
        status = AuthorizationStatus.Accepted if known else AuthorizationStatus.Invalid
        return ValidationResult(authorization_status=status)

    def accepts(self, id_tag: str) -> bool:
        """Whether ``id_tag`` is accepted."""
        return self.validate(id_tag).authorization_status is AuthorizationStatus.Accepted


def card_token(id_tag: str) -> ProvidedIdToken:
    """A card read at the charger as EVerest's provided token (an ISO 14443 RFID UID)."""
    return ProvidedIdToken(
        id_token=IdToken(value=id_tag, type=IdTokenType.ISO14443),
        authorization_type=AuthorizationType.RFID,
    )


def user_token(id_tag: str, token_type: IdTokenType = IdTokenType.ISO14443) -> ProvidedIdToken:
    """A token a user presents for a connector (by default a card's UID, typed in)."""
    return ProvidedIdToken(
        id_token=IdToken(value=id_tag, type=token_type),
        authorization_type=AuthorizationType.RFID,
    )


async def validate(
    manager: EvseManager, token: ProvidedIdToken, timeout_s: float | None = None
) -> ValidationResult:
    """The verdict on ``token`` at ``manager``'s connector (see the module docstring); a
    CSMS that has not answered within ``timeout_s`` counts as one that cannot."""
    local = manager.token_validator or TokenValidator()
    remote = manager.csms_validator
    if remote is not None:
        try:
            result = await asyncio.wait_for(remote(token), timeout_s)
        except TimeoutError:
            result = ValidationResult(authorization_status=AuthorizationStatus.Timeout)
        if result.authorization_status not in UNANSWERED or not local.accepts(token.id_token.value):
            return result
    return local.validate(token.id_token.value)


async def present_token(manager: EvseManager, token: ProvidedIdToken) -> ValidationResult:
    """A token presented at ``manager``'s connector: validated, then the kernel's
    ``authorize_response`` (it decides whether and when charging starts)."""
    result = await validate(manager, token)
    await manager.authorize_response(token, result)
    return result
