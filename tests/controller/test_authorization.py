"""Authorization flows: auth first, plug first, timeouts, withdraw, free charging."""

from controller.everest import AuthorizationStatus, ValidationResult
from controller.kernel.machine import KernelConfig
from controller.kernel.states import State
from tests.session_events import SESSION_START

from .conftest import TOKEN, make_rig


async def test_auth_first_then_plug_in(rig):
    rig.take_events()
    await rig.authorize()
    assert rig.take_events() == ["SessionStarted", "Authorized"]
    rig.station.plug_in()
    await rig.poll()
    assert rig.take_events() == ["AuthRequired", "TransactionStarted", "PrepareCharging"]
    assert rig.manager.state is State.PrepareCharging


async def test_auth_first_session_carries_reason_and_token(rig):
    await rig.authorize()
    payload = rig.event_payloads("SessionStarted")[0].to_json()["session_started"]
    assert payload["reason"] == "Authorized"
    assert payload["id_tag"]["id_token"]["value"] == "DEADBEEF"


async def test_rejected_token_does_nothing(rig):
    rig.station.plug_in()
    await rig.poll()
    rig.take_events()
    rejected = ValidationResult(authorization_status=AuthorizationStatus.Invalid)
    await rig.manager.authorize_response(TOKEN, rejected)
    assert rig.take_events() == []
    assert rig.manager.state is State.WaitingForAuthentication


async def test_plugin_timeout_keeps_waiting_for_authorization(rig):
    """Charger.cpp deauthorize_internal (called by withdraw_authorization when the Auth
    module's connection timeout runs out): Deauthorized, then PluginTimeout, and the
    session keeps waiting in WaitingForAuthentication; a later authorization charges."""
    rig.station.plug_in()
    rig.station.draw_power(16.0, 3)
    await rig.poll()
    rig.take_events()
    await rig.advance(59)
    assert rig.take_events() == []
    await rig.advance(1)
    assert rig.take_events() == ["Deauthorized", "PluginTimeout"]
    assert rig.manager.state is State.WaitingForAuthentication
    await rig.advance(120, step=10)
    assert rig.take_events() == []  # the timeout fires once
    await rig.authorize()
    await rig.poll()
    assert rig.take_events() == [
        "Authorized",
        "TransactionStarted",
        "PrepareCharging",
        "ChargingStarted",
    ]


async def test_withdraw_authorization_while_waiting_keeps_session(rig):
    """Charger.cpp deauthorize_internal: not authorized yet -> PluginTimeout, return."""
    rig.station.plug_in()
    await rig.poll()
    rig.take_events()
    await rig.manager.withdraw_authorization()
    assert rig.take_events() == ["Deauthorized", "PluginTimeout"]
    assert rig.manager.state is State.WaitingForAuthentication
    rig.station.unplug()
    await rig.poll()
    assert rig.take_events() == ["SessionFinished"]


async def test_plugin_timeout_raises_mrec9_when_configured(tmp_path):
    rig = await make_rig(tmp_path, KernelConfig(raise_mrec9=True, auth_timeout_s=10))
    try:
        rig.station.plug_in()
        await rig.poll()
        await rig.advance(10)
        errors = [e.type for e in rig.manager.vars()["errors"]]
        assert "evse_manager/MREC9AuthorizationTimeout" in errors
        rig.station.unplug()
        await rig.poll()
        assert rig.manager.vars()["errors"] == []
    finally:
        await rig.manager.stop()
        rig.store.close()


async def test_auth_first_times_out_without_plug(rig):
    await rig.authorize()
    rig.take_events()
    await rig.advance(60, step=5)
    assert rig.take_events() == ["Deauthorized", "SessionFinished"]
    assert rig.manager.state is State.Idle


async def test_withdraw_authorization_before_transaction_ends_session(rig):
    await rig.authorize()
    rig.take_events()
    await rig.manager.withdraw_authorization()
    assert rig.take_events() == ["Deauthorized", "SessionFinished"]


async def test_withdraw_during_transaction_only_emits_event(rig):
    await rig.start_charging()
    rig.take_events()
    await rig.manager.withdraw_authorization()
    assert rig.take_events() == ["Deauthorized"]
    assert rig.manager.state is State.Charging


async def test_second_authorization_ignored(rig):
    await rig.start_charging()
    rig.take_events()
    await rig.authorize()
    assert rig.take_events() == []


async def test_free_charging_token_is_everests(tmp_path):
    """evse_managerImpl.cpp ready(): FREESERVICE / Local, RFID, prevalidated."""
    rig = await make_rig(tmp_path, KernelConfig(free_charging=True))
    try:
        rig.station.plug_in()
        await rig.poll()
        (started,) = rig.event_payloads("TransactionStarted")
        assert started.to_json()["transaction_started"]["id_tag"] == {
            "id_token": {"value": "FREESERVICE", "type": "Local"},
            "authorization_type": "RFID",
            "prevalidated": True,
        }
    finally:
        await rig.manager.stop()
        rig.store.close()


async def test_free_charging_authorizes_every_plug_in(tmp_path):
    rig = await make_rig(tmp_path, KernelConfig(free_charging=True))
    try:
        rig.take_events()
        rig.station.plug_in()
        rig.station.draw_power(16, 3)
        await rig.poll()
        assert rig.take_events() == SESSION_START[1:]  # Enabled came before
    finally:
        await rig.manager.stop()
        rig.store.close()
