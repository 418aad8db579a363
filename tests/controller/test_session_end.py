"""How sessions end: unplug while charging, stop_transaction, stop button, force_unlock."""

from controller.everest import StopTransactionReason, StopTransactionRequest
from controller.kernel.states import State


async def test_unplug_while_charging(rig):
    await rig.start_charging()
    rig.take_events()
    rig.station.unplug()
    await rig.poll()
    assert rig.take_events() == [
        "StoppingCharging",
        "ChargingFinished",
        "TransactionFinished",
        "SessionFinished",
    ]
    assert rig.manager.state is State.Idle


async def test_unplug_reason_is_ev_disconnected_and_history_kept(rig):
    await rig.start_charging()
    await rig.advance(1800, step=60)
    energy = rig.manager.vars()["powermeter"].energy_Wh_import.total
    rig.station.unplug()
    await rig.poll()
    payload = rig.event_payloads("TransactionFinished")[0].to_json()["transaction_finished"]
    assert payload["reason"] == "EVDisconnected"
    assert "id_tag" not in payload
    (record,) = rig.manager.history()
    assert record.stop_reason is StopTransactionReason.EVDisconnected
    assert record.energy_Wh == energy
    assert record.duration_s == 1800
    assert record.id_tag == "DEADBEEF"
    assert rig.store.load_open("evse1") is None


async def test_stop_transaction_without_transaction_is_false(rig):
    request = StopTransactionRequest(reason=StopTransactionReason.Remote)
    assert await rig.manager.stop_transaction(request) is False
    rig.station.plug_in()
    await rig.poll()
    assert await rig.manager.stop_transaction(request) is False


async def test_stop_transaction_local_keeps_id_tag(rig):
    from .conftest import TOKEN

    await rig.start_charging()
    request = StopTransactionRequest(reason=StopTransactionReason.Local, id_tag=TOKEN)
    assert await rig.manager.stop_transaction(request) is True
    assert await rig.manager.stop_transaction(request) is False  # already stopping
    payload = rig.event_payloads("TransactionFinished")[0].to_json()["transaction_finished"]
    assert payload["reason"] == "Local"
    assert payload["id_tag"]["id_token"]["value"] == "DEADBEEF"
    assert rig.manager.state is State.Finished
    rig.take_events()
    rig.station.resume()  # the EV still wants power: no restart without a replug
    await rig.advance(10)
    assert rig.take_events() == []
    assert not rig.station.relays_on()


async def test_stop_button_on_the_charger_stops_locally(rig):
    await rig.start_charging()
    rig.station.stop_button = True
    await rig.poll()
    payload = rig.event_payloads("TransactionFinished")[0].to_json()["transaction_finished"]
    assert payload["reason"] == "Local"


async def test_force_unlock_stops_and_unlocks(rig):
    """evse_managerImpl.cpp handle_force_unlock: cancel_transaction(UnlockCommand), then
    IECStateMachine.cpp connector_force_unlock (the EV left C with PWM off: relays open)."""
    await rig.start_charging()
    assert rig.station.output.locked is True
    rig.take_events()
    assert await rig.manager.force_unlock(1) is True
    assert rig.station.output.locked is False
    assert rig.take_events() == ["StoppingCharging", "ChargingFinished", "TransactionFinished"]
    assert await rig.manager.force_unlock(2) is False


async def test_force_unlock_without_lock_is_false(tmp_path):
    from .conftest import make_rig

    rig = await make_rig(tmp_path, has_lock=False)
    try:
        assert await rig.manager.force_unlock(1) is False
    finally:
        await rig.manager.stop()
        rig.store.close()
