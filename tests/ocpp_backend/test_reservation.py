"""ReserveNow / CancelReservation from the CSMS on the simulator (1.6J and 2.0.1): our
kernel's ``reserve`` decides, the answer says why not (Occupied, Unavailable, Faulted,
Rejected); the reserved token alone may charge there, and its transaction names the
reservation; a reservation ends at its expiry (2.0.1: ReservationStatusUpdate)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ocpp.v16 import call as c16
from ocpp.v201 import call as c201

from controller.kernel.states import State

from .conftest import TOKEN, Rig
from .test_commands import availability, remote_start

OTHER = "DEADBEEF"


def reserve_now(rig: Rig, reservation_id: int, expiry_s: float = 3600, connector: int = 1) -> Any:
    expiry = (rig.clock.now() + timedelta(seconds=expiry_s)).isoformat()
    if rig.csms.version == "1.6":
        return c16.ReserveNow(
            connector_id=connector, expiry_date=expiry, id_tag=TOKEN, reservation_id=reservation_id
        )
    return c201.ReserveNow(
        id=reservation_id,
        expiry_date_time=expiry,
        id_token={"id_token": TOKEN, "type": "ISO14443"},
        evse_id=connector,
    )


def cancel(rig: Rig, reservation_id: int) -> Any:
    if rig.csms.version == "1.6":
        return c16.CancelReservation(reservation_id=reservation_id)
    return c201.CancelReservation(reservation_id=reservation_id)


def card(value: str) -> dict[str, Any]:
    return {"id_token": {"value": value, "type": "ISO14443"}, "authorization_type": "RFID"}


def authorized_tags(rig: Rig) -> list[str]:
    asked = rig.csms.of("Authorize")
    if rig.csms.version == "1.6":
        return [a["id_tag"] for a in asked]
    return [a["id_token"]["id_token"] for a in asked]


async def reserved_status(rig: Rig) -> None:
    await rig.csms.wait_for(lambda: rig.csms.statuses()[-1:] == ["Reserved"], "Reserved")


async def test_the_reserved_token_charges_and_its_transaction_names_the_reservation(
    rig: Rig,
) -> None:
    assert (await rig.csms.call(reserve_now(rig, 3))).status == "Accepted"
    await rig.until(lambda: rig.events("ReservationStart") != [], "reserved by the kernel")
    await reserved_status(rig)
    rig.station.plug_in()
    rig.station.draw_power(16.0, 3)
    await rig.until(lambda: rig.manager.state is State.WaitingForAuthentication, "auth")

    # Another card is refused here without asking the CSMS; the reserved one charges.
    assert await rig.client.present_token(1, card(OTHER)) == "NotAtThisTime"
    assert rig.manager.state is State.WaitingForAuthentication
    assert await rig.client.present_token(1, card(TOKEN)) == "Accepted"
    await rig.until(lambda: rig.manager.state is State.Charging, "charging")
    assert authorized_tags(rig) == [TOKEN]
    started = rig.events("TransactionStarted")[0].transaction_started
    assert started.reservation_id == 3
    await rig.delivered()
    if rig.csms.version == "1.6":
        assert rig.csms.of("StartTransaction")[0]["reservation_id"] == 3
    else:
        begun = [e for e in rig.csms.of("TransactionEvent") if e["event_type"] == "Started"]
        assert begun[0]["reservation_id"] == 3
    await rig.csms.wait_for(lambda: rig.client.control.reservations == {}, "used up")
    assert (await rig.csms.call(cancel(rig, 3))).status == "Rejected"  # nothing to cancel


async def test_a_remote_start_for_the_reserved_token_uses_the_reservation(rig: Rig) -> None:
    assert (await rig.csms.call(reserve_now(rig, 4))).status == "Accepted"
    await reserved_status(rig)
    assert (await rig.csms.call(remote_start(rig.csms.version, OTHER))).status == "Rejected"
    assert (await rig.csms.call(remote_start(rig.csms.version, TOKEN))).status == "Accepted"
    rig.station.plug_in()
    rig.station.draw_power(16.0, 3)
    await rig.until(lambda: rig.manager.state is State.Charging, "charging")
    assert rig.events("TransactionStarted")[0].transaction_started.reservation_id == 4


async def test_reserve_now_answers_as_the_kernel_decides(rig: Rig) -> None:
    csms = rig.csms
    assert (await csms.call(reserve_now(rig, 5, connector=9))).status == "Rejected"
    assert (await csms.call(reserve_now(rig, 5, expiry_s=-60))).status == "Rejected"

    # Reserved: the same id again renews it, another one finds the connector Occupied.
    assert (await csms.call(reserve_now(rig, 5))).status == "Accepted"
    assert (await csms.call(reserve_now(rig, 5, expiry_s=7200))).status == "Accepted"
    assert (await csms.call(reserve_now(rig, 6))).status == "Occupied"
    assert (await csms.call(cancel(rig, 6))).status == "Rejected"
    assert (await csms.call(cancel(rig, 5))).status == "Accepted"
    await rig.until(lambda: rig.events("ReservationEnd") != [], "reservation ended")
    await csms.wait_for(lambda: csms.statuses()[-1:] == ["Available"], "Available again")

    # Disabled by the CSMS: Unavailable.
    assert (await csms.call(availability(csms.version, False))).status == "Accepted"
    await rig.until(lambda: rig.manager.state is State.Disabled, "disabled")
    assert (await csms.call(reserve_now(rig, 7))).status == "Unavailable"
    assert (await csms.call(availability(csms.version, True))).status == "Accepted"
    await rig.until(lambda: rig.manager.state is State.Idle, "enabled")

    # An EV plugged in: Occupied.
    rig.station.plug_in()
    await rig.until(lambda: rig.manager.state is State.WaitingForAuthentication, "auth")
    assert (await csms.call(reserve_now(rig, 8))).status == "Occupied"
    await rig.unplug()

    # A fault: Faulted.
    rig.station.inject_error("evse_board_support/MREC2GroundFailure")
    await csms.wait_for(lambda: csms.statuses()[-1:] == ["Faulted"], "Faulted")
    assert (await csms.call(reserve_now(rig, 9))).status == "Faulted"
    assert len(rig.events("ReservationStart")) == 1  # only the one accepted


async def test_a_reservation_ends_at_its_expiry(rig: Rig) -> None:
    assert (await rig.csms.call(reserve_now(rig, 11, expiry_s=60))).status == "Accepted"
    await reserved_status(rig)
    rig.clock.advance(61)
    await rig.until(lambda: rig.events("ReservationEnd") != [], "expired")
    await rig.csms.wait_for(lambda: rig.csms.statuses()[-1:] == ["Available"], "Available")
    if rig.csms.version == "2.0.1":
        await rig.csms.wait_for(
            lambda: rig.csms.of("ReservationStatusUpdate") != [], "ReservationStatusUpdate"
        )
        assert rig.csms.of("ReservationStatusUpdate") == [
            {"reservation_id": 11, "reservation_update_status": "Expired"}
        ]
    # A reservation cancelled at our side is Removed for the CSMS (2.0.1).
    assert (await rig.csms.call(reserve_now(rig, 12))).status == "Accepted"
    await reserved_status(rig)
    await rig.manager.cancel_reservation()
    await rig.csms.wait_for(lambda: rig.client.control.reservations == {}, "dropped")
    if rig.csms.version == "2.0.1":
        await rig.csms.wait_for(lambda: len(rig.csms.of("ReservationStatusUpdate")) == 2, "Removed")
        assert rig.csms.of("ReservationStatusUpdate")[-1]["reservation_update_status"] == (
            "Removed"
        )
