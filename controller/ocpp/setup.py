"""Building OCPP connectors: one central system per controller, one manager per connector."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..auth import TokenValidator, card_token, validate
from ..clock import Clock
from ..everest import ValidationResult
from ..manager import EvseManager
from ..store import SessionStore
from .central import CentralSettings, CentralSystem
from .link import ConnectorLink
from .port import OcppCharger, OcppChargerSettings, OcppMeter
from .settings import OCPP_SCHEMA, ssl_context

if TYPE_CHECKING:
    from ..config import ConnectorConfig


def central_system(section: Mapping[str, Any] | None) -> CentralSystem:
    """The central system the ``ocpp`` section describes (defaults without one)."""
    s = OCPP_SCHEMA(dict(section or {}))
    return CentralSystem(
        CentralSettings(
            host=s["host"],
            port=s["port"],
            ssl_context=ssl_context(s),
            heartbeat_interval_s=s["heartbeat_interval_s"],
            meter_interval_s=s["meter_interval_s"],
        )
    )


def open_ocpp_connector(
    config: ConnectorConfig,
    central: CentralSystem,
    store: SessionStore,
    clock: Clock | None = None,
) -> EvseManager:
    """The manager for one OCPP connector (not started: call ``start()``)."""
    return ocpp_manager(config, register_link(config, central), store, clock)


def register_link(config: ConnectorConfig, central: CentralSystem) -> ConnectorLink:
    """The connector registered on ``central`` (ValueError when it already is)."""
    ocpp = config.ocpp
    assert ocpp is not None
    return central.register(
        ocpp.charge_point_id,
        ocpp.connector_id,
        ocpp.password,
        lenient=ocpp.skip_schema_validation,
    )


def ocpp_manager(
    config: ConnectorConfig,
    link: ConnectorLink,
    store: SessionStore,
    clock: Clock | None = None,
) -> EvseManager:
    """The manager driving a registered connector's link."""
    ocpp = config.ocpp
    assert ocpp is not None
    c = config.charger_settings
    settings = OcppChargerSettings(
        max_current_A=c.max_current_A or 32.0,
        min_current_A=c.min_current_A or 6.0,
        phases=c.phases or 3,
        id_tag=ocpp.id_tag,
        reservation_expiry_s=ocpp.reservation_expiry_s,
    )
    manager = EvseManager(
        OcppCharger(link, settings, clock),
        OcppMeter(link, settings, clock),
        store,
        config.kernel,
        name=config.name,
        clock=clock,
        poll_interval=config.poll_interval_s,
    )
    accept_cards(link, manager, config.id_tags)
    return manager


def accept_cards(link: ConnectorLink, manager: EvseManager, id_tags: Iterable[str]) -> None:
    """Cards read at the wallbox are validated as a presented token is (the connector's
    CSMS, the card list ``id_tags``); an accepted one is our kernel's authorization
    (EVerest: Auth -> authorize_response)."""
    manager.token_validator = TokenValidator(id_tags)

    async def check(id_tag: str, timeout_s: float) -> ValidationResult:
        return await validate(manager, card_token(id_tag), timeout_s)

    async def authorize(id_tag: str, result: ValidationResult) -> None:
        await manager.authorize_response(card_token(id_tag), result)

    def reserved_for(reservation_id: int) -> str | None:
        lookup = manager.reservation_token
        return lookup(reservation_id) if lookup is not None else None

    link.check_card = check
    link.reservation_tag = reserved_for
    link.on_card = authorize
