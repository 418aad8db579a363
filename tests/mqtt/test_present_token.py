"""A token presented over MQTT (cmd/present_token): checked against the connector's
cards (controller.auth.present_token, the path Home Assistant's service takes too),
then the kernel's authorization decides."""

from __future__ import annotations

from controller.auth import TokenValidator
from controller.kernel.states import State
from controller.mqtt import MqttBridge

from .conftest import peer, running, settings

BASE = "evse_manager/evse1"


async def test_a_presented_token_is_validated_then_authorizes(mosquitto, rig):
    rig.manager.token_validator = TokenValidator(["CAFE0001"])  # auth: {id_tags: [...]}
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
        peer(mosquitto.port, f"{BASE}/result/#") as other,
    ):
        rig.station.plug_in()
        rig.station.draw_power(16.0, 3)
        await rig.poll()
        assert rig.manager.state is State.WaitingForAuthentication

        await other.publish(
            f"{BASE}/cmd/present_token", {"id": "t1", "args": {"id_token": "BADCAFE"}}
        )
        refused = await other.wait_for(f"{BASE}/result/present_token")
        assert refused[0].json()["ok"] is True
        assert refused[0].json()["result"]["authorization_status"] == "Invalid"
        await rig.poll()
        assert rig.manager.state is State.WaitingForAuthentication
        assert "AuthRequired" in rig.events()
        assert "Authorized" not in rig.events()

        await other.publish(
            f"{BASE}/cmd/present_token", {"id": "t2", "args": {"id_token": "cafe0001"}}
        )
        accepted = await other.wait_for(
            f"{BASE}/result/present_token", lambda m: m.json()["id"] == "t2"
        )
        assert accepted[-1].json()["result"]["authorization_status"] == "Accepted"
        await rig.poll()
        assert rig.manager.state is State.Charging
        assert "Authorized" in rig.events()

        await other.publish(f"{BASE}/cmd/present_token", {"id": "t3", "args": {"id_token": ""}})
        bad = await other.wait_for(f"{BASE}/result/present_token", lambda m: m.json()["id"] == "t3")
        assert bad[-1].json()["ok"] is False


async def test_without_cards_every_presented_token_is_refused(mosquitto, rig):
    """No card list (and no CSMS): nothing is authorized by a presented token."""
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
        peer(mosquitto.port, f"{BASE}/result/#") as other,
    ):
        rig.station.plug_in()
        await rig.poll()
        await other.publish(f"{BASE}/cmd/present_token", {"id": "t1", "args": {"id_token": "ANY"}})
        (reply,) = await other.wait_for(f"{BASE}/result/present_token")
        assert reply.json()["result"]["authorization_status"] == "Invalid"
        await rig.poll()
        assert rig.manager.state is State.WaitingForAuthentication
