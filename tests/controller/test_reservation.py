"""Reservations: accepted only when idle, end with an event or silently at the start."""

from controller.everest import EnableDisableSource, EnableSource, EnableState


async def test_reserve_and_cancel(rig):
    rig.take_events()
    assert await rig.manager.reserve(7) is True
    assert await rig.manager.reserve(7) is True  # same id again: still accepted
    assert await rig.manager.reserve(8) is False  # reserved for another id
    assert rig.take_events() == ["ReservationStart"]
    await rig.manager.cancel_reservation()
    assert rig.take_events() == ["ReservationEnd"]
    await rig.manager.cancel_reservation()
    assert rig.take_events() == []


async def test_reservation_events_have_empty_uuid(rig):
    await rig.manager.reserve(-1)
    (event,) = rig.event_payloads("ReservationStart")
    assert event.uuid == ""


async def test_reservation_ends_silently_at_transaction_start(rig):
    await rig.manager.reserve(42)
    rig.take_events()
    await rig.start_charging()
    names = rig.events()
    assert "ReservationEnd" not in names
    started = rig.event_payloads("TransactionStarted")[0].to_json()["transaction_started"]
    assert started["reservation_id"] == 42
    assert await rig.manager.reserve(1) is False  # not idle


async def test_reservation_ends_silently_when_reserved_user_authorizes_first(rig):
    await rig.manager.reserve(5)
    rig.take_events()
    await rig.authorize()
    payload = rig.event_payloads("SessionStarted")[0].to_json()["session_started"]
    assert payload["reservation_id"] == 5
    assert rig.take_events() == ["SessionStarted", "Authorized"]
    assert await rig.manager.reserve(6) is False  # a session is active
    await rig.manager.cancel_reservation()
    assert rig.take_events() == []  # it had ended silently


async def test_disable_ends_reservation_with_event_and_refuses_new(rig):
    await rig.manager.reserve(3)
    rig.take_events()
    source = EnableDisableSource(
        enable_source=EnableSource.CSMS, enable_state=EnableState.Disable, enable_priority=5
    )
    assert await rig.manager.enable_disable(0, source) is False
    assert rig.take_events() == ["Disabled", "ReservationEnd"]
    assert await rig.manager.reserve(3) is False


async def test_error_refuses_and_ends_reservation(rig):
    await rig.manager.reserve(3)
    rig.take_events()
    rig.station.inject_error("evse_board_support/MREC14PilotFault")
    await rig.poll()
    assert rig.take_events() == ["ReservationEnd"]
    assert await rig.manager.reserve(4) is False


async def test_output_carries_the_reservation(rig):
    """The charger output names the reservation while it holds (a charger with its own
    reservation, OCPP ReserveNow, mirrors it), and drops it when it ends."""
    assert rig.manager.kernel.output().reservation_id is None
    await rig.manager.reserve(-1)
    assert rig.manager.kernel.output().reservation_id == -1
    await rig.manager.reserve(9)  # the global one made specific
    assert rig.manager.kernel.output().reservation_id == 9
    await rig.authorize()  # the reserved user arrived
    assert rig.manager.kernel.output().reservation_id is None
