"""Our kernel's reservation at the wallbox (OCPP 1.6J and 2.0.1, real WebSockets): reserve
-> ReserveNow, the wallbox shows Reserved and refuses other cards; cancel_reservation ->
CancelReservation; the reserved user, authorized through our kernel, ends it and charges."""

from __future__ import annotations

from datetime import timedelta

from controller.everest import AuthorizationStatus, ValidationResult
from controller.kernel.states import State
from controller.ocpp.link import Status
from controller.ocpp.port import GLOBAL_RESERVATION_ID
from tests.controller.conftest import TOKEN

from .conftest import CARD, SETTINGS, OcppRig
from .test_session import REMOTE_START, actions


async def test_reserve_is_reserve_now_and_cards_are_refused(rig: OcppRig) -> None:
    """reserve(7): one ReserveNow with id 7 and our token, the wallbox Reserved (our
    connector A, so nothing else changes); a card on our list is refused at the wallbox
    (it is reserved for another tag) and reaches neither us nor our kernel;
    cancel_reservation: CancelReservation 7, Available again, the card works then."""
    assert await rig.manager.reserve(7) is True
    await rig.turn(1)
    assert actions(rig, "ReserveNow") == [
        {
            "connector_id" if rig.box.version == "1.6" else "evse_id": 1,
            "id_tag": "evse_manager",
            "id": 7,
        }
    ]
    assert rig.box.status() == "Reserved"
    assert rig.link.status is Status.Reserved
    assert rig.manager.state is State.Idle
    assert await rig.box.present_card(CARD) is False
    assert rig.box.state.refused == [CARD]
    await rig.turn(1)
    assert "Authorized" not in rig.events()
    await rig.manager.cancel_reservation()
    await rig.turn(1)
    assert actions(rig, "CancelReservation") == [{"id": 7}]
    assert rig.box.status() == "Available"
    assert len(actions(rig, "ReserveNow")) == 1  # no renewal of a cancelled one
    assert await rig.box.present_card(CARD) is True
    assert rig.events().count("ReservationStart") == rig.events().count("ReservationEnd") == 1


async def test_reserved_user_authorized_by_our_kernel_charges(rig: OcppRig) -> None:
    """Reserved, the EV plugged in (the wallbox stays Reserved, so our kernel sees no EV
    yet); the reserved user's token accepted by our kernel ends the reservation (EVerest:
    the reserved user arrived): CancelReservation, the wallbox shows the EV, our remote
    start charges, and the session names the reservation."""
    assert await rig.manager.reserve(7) is True
    rig.station.plug_in()
    await rig.turn(1)
    assert rig.box.status() == "Reserved"
    assert rig.manager.state is State.Idle
    result = ValidationResult(authorization_status=AuthorizationStatus.Accepted, reservation_id=7)
    await rig.manager.authorize_response(TOKEN, result)
    await rig.turn(1)
    rig.station.draw_power(16, 3)
    await rig.turn(1)
    assert actions(rig, "CancelReservation") == [{"id": 7}]
    assert len(actions(rig, REMOTE_START[rig.box.version])) == 1
    assert rig.manager.state is State.Charging, rig.events()
    started = next(
        u.value
        for u in rig.updates
        if u.var == "session_event" and u.value.event.value == "TransactionStarted"
    )
    assert started.transaction_started.reservation_id == 7


async def test_reservation_renewed_while_held_and_global_one(rig: OcppRig) -> None:
    """The wallbox's reservation is sent again half-way to its expiry while our kernel
    holds it (our reserve has no end of its own); a global reservation (-1) gets one id
    per connector."""
    assert await rig.manager.reserve(-1) is True
    await rig.turn(1)
    await rig.turn(SETTINGS.reservation_expiry_s / 2 + 1)
    ids = [p["id"] for p in actions(rig, "ReserveNow")]
    assert ids == [GLOBAL_RESERVATION_ID + 1] * 2
    reservation = rig.box.state.reservation
    assert reservation is not None
    left = reservation.expiry - rig.clock.now()
    assert left > timedelta(seconds=SETTINGS.reservation_expiry_s * 0.99)
    assert rig.box.status() == "Reserved"


async def test_reservation_expires_at_the_wallbox_without_us(rig: OcppRig) -> None:
    """A controller gone leaves no lasting reservation: past its expiry the wallbox is
    Available again by itself."""
    assert await rig.manager.reserve(3) is True
    await rig.turn(1)
    await rig.manager.stop()
    rig.clock.advance(SETTINGS.reservation_expiry_s + 1)
    await rig.box.step()
    assert rig.box.state.reservation is None
    assert rig.box.status() != "Reserved"


async def test_reserve_now_answers_as_the_spec_says(rig: OcppRig) -> None:
    """The wallbox's answers, over the real link: Accepted; the same id again replaces
    it; another id while reserved, or an EV plugged in, Occupied; a faulted connector
    Faulted; a wallbox without reservations Rejected."""
    session = rig.link.session
    assert session is not None
    expiry = rig.clock.now() + timedelta(hours=1)
    assert await session.reserve(1, 5, "someone", expiry) == "Accepted"
    assert await session.reserve(1, 5, "someone", expiry) == "Accepted"
    assert await session.reserve(1, 6, "other", expiry) == "Occupied"
    assert await session.cancel_reservation(5) is True
    assert await session.cancel_reservation(5) is False
    rig.station.plug_in()
    assert await session.reserve(1, 6, "other", expiry) == "Occupied"
    rig.station.unplug()
    rig.station.inject_error("evse_board_support/MREC2GroundFailure")
    assert await session.reserve(1, 6, "other", expiry) == "Faulted"
    rig.station.clear_errors()
    rig.box.state.accept_reservations = False
    assert await session.reserve(1, 6, "other", expiry) == "Rejected"
