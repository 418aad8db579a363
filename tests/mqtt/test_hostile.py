"""Hostile payloads and other broker accounts, through a real mosquitto (issue 12)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from controller.commands import MAX_JSON_DEPTH
from controller.kernel.states import State
from controller.mqtt import MqttBridge

from .conftest import PASSWORD, USER, Broker, peer, running, settings

BASE = "evse_manager/evse1"
DEEP = "[" * 20_000 + "]" * 20_000
README = Path(__file__).parents[2] / "README.md"


async def test_hostile_command_payloads_get_clear_replies_and_the_bridge_lives(mosquitto, rig):
    nan_limit = (
        '{"id": 3, "args": {"value": {"uuid": "x", "valid_for": 60, "limits_root_side": '
        '{"ac_max_current_A": {"value": NaN, "source": "pv"}}}}}'
    )
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as bridge,
        peer(mosquitto.port, f"{BASE}/result/#") as other,
    ):
        await other.publish(f"{BASE}/cmd/pause_charging", DEEP)
        (deep,) = await other.wait_for(f"{BASE}/result/pause_charging")
        huge = '{"id": 2, "args": {"min_current_A": ' + "9" * 401 + "}}"
        await other.publish(f"{BASE}/cmd/set_energy_settings", huge)
        (overflow,) = await other.wait_for(f"{BASE}/result/set_energy_settings")
        await other.publish(f"{BASE}/cmd/enforce_limits", nan_limit)
        (nan,) = await other.wait_for(f"{BASE}/result/enforce_limits")
        await other.publish(f"{BASE}/cmd/get_evse", {"id": 4})
        (alive,) = await other.wait_for(f"{BASE}/result/get_evse")
        assert bridge.connected

    assert deep.json() == {
        "id": None,
        "ok": False,
        "error": f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
    }
    assert overflow.json()["id"] == 2
    assert overflow.json()["error"].startswith("set_energy_settings: number out of range")
    assert nan.json()["ok"] is False
    assert "NaN is not a number" in nan.json()["error"]
    assert rig.manager.vars().get("enforced_limits") is None
    assert alive.json()["ok"] is True


def readme_acl() -> str:
    """The mosquitto ACL the README tells users to install."""
    match = re.search(r"```\n(# mosquitto acl_file.*?)```", README.read_text(), re.DOTALL)
    assert match, "README: no mosquitto acl_file example"
    return match.group(1)


VIEWER, VIEWER_PASSWORD = "viewer", "v1ewer-pw"
HA, HA_PASSWORD = "homeassistant", "h0me-pw"


@pytest.fixture
def acl_mosquitto(socket_enabled, tmp_path):
    """A broker with the README's ACL: the controller's account, HA's and a read-only one."""
    broker = Broker(tmp_path, auth=True)  # creates the password file with USER
    pwfile = tmp_path / "passwd"
    for user, password in ((VIEWER, VIEWER_PASSWORD), (HA, HA_PASSWORD)):
        subprocess.run(["mosquitto_passwd", "-b", str(pwfile), user, password], check=True)
    acl = tmp_path / "acl"
    acl.write_text(readme_acl())
    broker.conf.write_text(broker.conf.read_text() + f"acl_file {acl}\n")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def test_only_accounts_the_acl_allows_can_command(acl_mosquitto, rig):
    port = acl_mosquitto.port
    login = {"username": USER, "password": PASSWORD}
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(port, **login))),
        peer(port, f"{BASE}/result/#", f"{BASE}/set_result/#", **login) as controller,
        peer(port, f"{BASE}/state/#", username=VIEWER, password=VIEWER_PASSWORD) as viewer,
        peer(port, f"{BASE}/result/#", username=HA, password=HA_PASSWORD) as ha,
    ):
        await rig.start_charging()
        # The viewer reads everything...
        await viewer.wait_for(f"{BASE}/state/charging", lambda m: m.payload == "ON")
        # ...but its commands and controls never reach the controller.
        await viewer.publish(f"{BASE}/cmd/pause_charging", {"id": "viewer"}, qos=1)
        await viewer.publish(f"{BASE}/set/enabled", "OFF", qos=1)
        await controller.publish(f"{BASE}/cmd/get_evse", {"id": "probe"}, qos=1)
        await controller.wait_for(f"{BASE}/result/get_evse")
        await controller.publish(f"{BASE}/cmd/get_evse", {"id": "probe2"}, qos=1)
        await controller.wait_for(f"{BASE}/result/get_evse", count=2)
        assert rig.manager.state is State.Charging
        assert not controller.on(f"{BASE}/result/pause_charging")
        assert not controller.on(f"{BASE}/set_result/enabled")
        # Home Assistant's account may command (and reads its results).
        await ha.publish(f"{BASE}/cmd/pause_charging", {"id": "ha"}, qos=1)
        (paused,) = await ha.wait_for(f"{BASE}/result/pause_charging")
        assert paused.json() == {"id": "ha", "ok": True, "result": True}
        assert rig.manager.state is State.ChargingPausedEVSE
        # And so may the controller's own account.
        await controller.publish(f"{BASE}/cmd/resume_charging", {"id": "own"}, qos=1)
        (resumed,) = await controller.wait_for(f"{BASE}/result/resume_charging")
        assert resumed.json() == {"id": "own", "ok": True, "result": True}
