"""A token presented by a user (the ``present_token`` command of Home Assistant and
MQTT) at a connector that reports to a CSMS: the CSMS decides (Authorize); while it
cannot answer, the connector's cards do."""

from __future__ import annotations

from controller.auth import TokenValidator
from controller.commands import execute
from controller.kernel.states import State

from .conftest import TOKEN, Rig


async def present(rig: Rig, token: str) -> str:
    result = await execute(rig.manager, "present_token", {"id_token": token})
    assert result.ok, result.error
    return str(result.result["authorization_status"])


async def test_the_csms_decides_and_the_cards_stand_in_while_it_is_away(rig: Rig) -> None:
    rig.manager.token_validator = TokenValidator([TOKEN, "LISTED02"])  # auth: id_tags
    rig.csms.refuse.add("LISTED02")
    rig.station.plug_in()
    rig.station.draw_power(16.0, 3)
    await rig.until(lambda: rig.manager.state is State.WaitingForAuthentication, "auth")

    # Online: the CSMS's verdict, even for a card on the local list.
    assert await present(rig, "LISTED02") == "Invalid"
    assert await present(rig, "UNLISTED") == "Accepted"  # the test CSMS knows it
    await rig.until(lambda: rig.manager.state is State.Charging, "charging")
    await rig.unplug()

    # The CSMS away: a listed card is accepted, any other is not.
    await rig.csms.stop()
    assert await rig.client.wait_for(lambda: not rig.client.online), "still online"
    rig.station.plug_in()
    rig.station.draw_power(16.0, 3)
    await rig.until(lambda: rig.manager.state is State.WaitingForAuthentication, "auth again")
    assert await present(rig, "UNLISTED") == "Timeout"
    assert rig.manager.state is State.WaitingForAuthentication
    assert await present(rig, TOKEN.lower()) == "Accepted"
    await rig.until(lambda: rig.manager.state is State.Charging, "charging offline")
