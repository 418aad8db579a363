"""Registering and unregistering connectors on a running central system (what a Home
Assistant entry's unload and reload do), against the simulated wallbox over a real
WebSocket on 127.0.0.1."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from controller.clock import ManualClock
from controller.ocpp.central import CentralSettings, CentralSystem
from controller.ocpp.simulated import SimulatedWallbox
from controller.simulation import SimulatedStation


def central(grace_s: float) -> CentralSystem:
    return CentralSystem(
        CentralSettings(host="127.0.0.1", port=0, response_timeout_s=5, forget_after_s=grace_s)
    )


def box_for(c: CentralSystem, cp_id: str = "CP1", **kw) -> SimulatedWallbox:
    station = SimulatedStation(clock=ManualClock())
    return SimulatedWallbox(station, f"ws://127.0.0.1:{c.port}/{cp_id}", **kw)


async def test_unregistering_the_last_connector_disconnects_and_refuses(socket_enabled) -> None:
    c = central(0.0)
    link = c.register("CP1")
    await c.start()
    box = box_for(c)
    try:
        await box.connect()
        await c.settle()
        assert link.online
        await c.unregister(link)
        assert c.charge_points == {}
        assert not link.online
        await box.disconnect()
        with pytest.raises(InvalidStatus) as refused:
            await box.connect()
        assert refused.value.response.status_code == 404
        again = c.register("CP1")  # a reload: the wallbox gets in again
        await box.connect()
        await c.settle()
        assert again.online
        assert again.identity.model == "OCPP wallbox"
    finally:
        await box.disconnect()
        await c.stop()


async def test_registered_again_within_the_grace_keeps_the_session(socket_enabled) -> None:
    c = central(60.0)
    link = c.register("CP1", password="pw-123456")
    await c.start()
    box = box_for(c, password="pw-123456")
    try:
        await box.connect()
        await c.settle()
        socket_before = box._ws
        await c.unregister(link)
        again = c.register("CP1", password="pw-123456")
        assert again.online  # attached to the open session
        assert again.booted  # it booted once: it will not boot again by itself
        assert again.identity == link.identity
        assert box._ws is socket_before
        box.station.plug_in()
        await box.step()
        await c.settle()
        assert again.status is not None  # the session feeds the new link
    finally:
        await box.disconnect()
        await c.stop()


async def test_back_with_another_password_ends_the_old_login(socket_enabled) -> None:
    c = central(60.0)
    link = c.register("CP1", password="old-password")
    await c.start()
    box = box_for(c, password="old-password")
    try:
        await box.connect()
        await c.settle()
        await c.unregister(link)
        again = c.register("CP1", password="new-password")
        assert not again.online
        await c.settle()  # the old session is closed
        await box.disconnect()
        with pytest.raises(InvalidStatus) as refused:
            await box.connect()
        assert refused.value.response.status_code == 401
    finally:
        await box.disconnect()
        await c.stop()


async def test_other_connectors_keep_the_session(socket_enabled) -> None:
    c = central(0.0)
    one, two = c.register("CP1", 1), c.register("CP1", 2)
    await c.start()
    box = box_for(c)
    try:
        await box.connect()
        await c.settle()
        await c.unregister(two)
        assert c.charge_points == {"CP1": (1,)}
        assert one.online
        assert not two.online
        await c.unregister(two)  # twice: nothing more happens
        assert one.online
    finally:
        await box.disconnect()
        await c.stop()


async def test_a_held_charge_point_connecting_is_accepted(socket_enabled) -> None:
    """Unregistered with a hold (a Home Assistant setup that retries): a wallbox that
    connects meanwhile is accepted (its password still checked) and its boot answered;
    registered again, the connector finds it booted and online; after the hold it is
    refused."""
    c = central(0.0)
    link = c.register("CP1", password="pw-123456")
    await c.start()
    box = box_for(c, password="pw-123456")
    try:
        await c.unregister(link, hold_s=60.0)
        assert c.charge_points == {}
        wrong = box_for(c, password="wrong-password")
        with pytest.raises(InvalidStatus) as refused:
            await wrong.connect()
        assert refused.value.response.status_code == 401
        await box.connect()
        await c.settle()
        again = c.register("CP1", password="pw-123456")
        assert again.online
        assert again.booted
        assert again.identity.model == "OCPP wallbox"
        await c.unregister(again, hold_s=0)  # the hold is over
        assert not again.online
        await box.disconnect()
        with pytest.raises(InvalidStatus) as refused:
            await box.connect()
        assert refused.value.response.status_code == 404
    finally:
        await box.disconnect()
        await c.stop()
