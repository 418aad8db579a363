"""A card read at an OCPP wallbox whose connector reports to a CSMS: the central system
asks the CSMS (Authorize) through the controller's one token path, as ``present_token``
does; while the CSMS cannot answer (away, or not within the bound) the connector's card
list decides. The simulated wallbox on tests/ocpp's rig, the test CSMS; both versions on
both sides, with the wallbox's Authorize first or its transaction carrying the card."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call as c16
from ocpp.v201 import call as c201

from controller.kernel.states import State
from controller.ocpp.backend.client import CsmsClient
from controller.ocpp.backend.settings import csms_settings
from tests.ocpp.conftest import CARD, OcppRig, open_rig
from tests.ocpp.test_cards import transaction_tokens

from .csms import TestCsms

OTHER = "FEED0002"  # a card the test CSMS knows and the wallbox's card list does not


@asynccontextmanager
async def reporting_wallbox(
    tmp_path: Path,
    version: str,
    wallbox: str,
    authorize: bool,
    plugged: bool = True,
    **central: Any,
) -> AsyncIterator[tuple[OcppRig, TestCsms, CsmsClient]]:
    """An OCPP ``wallbox`` connector (card list: CARD) reporting to a ``version`` CSMS;
    ``authorize``: the wallbox sends Authorize for a card, else starts on it at once;
    ``plugged``: an EV is plugged in and waits for a card."""
    csms = TestCsms(version)
    await csms.start()
    try:
        async with open_rig(tmp_path, wallbox, **central) as rig:
            rig.box.state.authorize_cards = authorize
            settings = csms_settings(
                {"url": csms.url, "charge_point_id": "CP1", "version": version}, ["evse1"]
            )
            client = CsmsClient({"evse1": rig.manager}, settings, tmp_path / "csms.db")
            await client.start()
            try:
                assert await client.wait_for(client.delivered)
                if plugged:
                    rig.station.plug_in()
                    await rig.turn(1)
                    assert rig.manager.state is State.WaitingForAuthentication
                yield rig, csms, client
            finally:
                await client.stop()
    finally:
        await csms.stop()


def asked(csms: TestCsms) -> list[str]:
    """The tokens the CSMS was asked about (Authorize)."""
    return [p.get("id_tag") or p["id_token"]["id_token"] for p in csms.of("Authorize")]


async def card(rig: OcppRig, id_tag: str) -> bool:
    """``id_tag`` held to the reader; whether the wallbox charges on it (a transaction it
    keeps, authorized by our kernel, current flowing)."""
    await rig.box.present_card(id_tag)
    await rig.turn(1)
    rig.station.draw_power(16, 3)
    await rig.turn(1)
    return rig.manager.state is State.Charging and rig.box.state.transaction_id is not None


both = pytest.mark.parametrize(
    ("wallbox", "authorize"),
    [("1.6", True), ("1.6", False), ("2.0.1", True), ("2.0.1", False)],
)


@both
async def test_the_csms_decides_a_card_read_at_the_wallbox(
    tmp_path: Path, version: str, wallbox: str, authorize: bool, socket_enabled: None
) -> None:
    """Online, the CSMS's verdict counts, even against the card list: a listed card it
    refuses charges nothing; an unlisted one it accepts starts our kernel's session on
    the wallbox's own transaction, asked about once."""
    async with reporting_wallbox(tmp_path, version, wallbox, authorize) as (rig, csms, _):
        csms.refuse.add(CARD)
        assert not await card(rig, CARD)
        assert "Authorized" not in rig.events()
        assert rig.station.power_W() == 0.0
        assert asked(csms) == [CARD]
        assert await card(rig, OTHER), rig.events()
        assert transaction_tokens(rig) == [OTHER]
        assert rig.link.transaction_id == rig.box.state.transaction_id
        assert asked(csms) == [CARD, OTHER]


@both
async def test_the_card_list_decides_while_the_csms_is_away(
    tmp_path: Path, version: str, wallbox: str, authorize: bool, socket_enabled: None
) -> None:
    """The CSMS unreachable: its Authorize cannot be sent, the card list decides."""
    async with reporting_wallbox(tmp_path, version, wallbox, authorize) as (rig, csms, client):
        await csms.stop()
        assert await client.wait_for(lambda: not client.online), "still online"
        assert not await card(rig, OTHER)
        assert "Authorized" not in rig.events()
        assert await card(rig, CARD), rig.events()
        assert transaction_tokens(rig) == [CARD]
        assert asked(csms) == []


@pytest.mark.parametrize("wallbox", ["1.6", "2.0.1"])
async def test_the_card_list_decides_when_the_csms_does_not_answer_in_time(
    tmp_path: Path, version: str, wallbox: str, socket_enabled: None
) -> None:
    """Connected, but the CSMS holds its answer (its own timeout is 30 s): after the
    central system's bound the wallbox is answered from the card list."""
    async with reporting_wallbox(tmp_path, version, wallbox, True, authorize_timeout_s=0.5) as (
        rig,
        csms,
        client,
    ):
        csms.answering.clear()
        assert not await card(rig, OTHER)
        assert rig.box.state.refused == [OTHER]
        assert await card(rig, CARD), rig.events()
        assert transaction_tokens(rig) == [CARD]
        assert asked(csms) == [OTHER]  # held; the next Authorize queues behind it
        assert client.online
        csms.answering.set()


def reserve_now(csms: TestCsms, reservation_id: int, id_tag: str) -> Any:
    """The CSMS's ReserveNow of connector / EVSE 1 for ``id_tag``, for an hour."""
    expiry = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    if csms.version == "1.6":
        return c16.ReserveNow(
            connector_id=1, expiry_date=expiry, id_tag=id_tag, reservation_id=reservation_id
        )
    return c201.ReserveNow(
        id=reservation_id,
        expiry_date_time=expiry,
        id_token={"id_token": id_tag, "type": "ISO14443"},
        evse_id=1,
    )


@both
async def test_a_csms_reservation_lets_its_card_in_at_the_wallbox(
    tmp_path: Path, version: str, wallbox: str, authorize: bool, socket_enabled: None
) -> None:
    """The CSMS reserves the connector for a card: the wallbox's ReserveNow carries that
    card (not our own tag), so the wallbox lets it in; another card, even a listed one
    the CSMS accepts, is refused while the reservation holds."""
    async with reporting_wallbox(tmp_path, version, wallbox, authorize, plugged=False) as (
        rig,
        csms,
        _,
    ):
        assert (await csms.call(reserve_now(csms, 21, OTHER))).status == "Accepted"
        await rig.turn(1)
        reservation = rig.box.state.reservation
        assert reservation is not None
        assert reservation.id_tag == OTHER
        rig.station.plug_in()
        await rig.turn(1)
        assert not await card(rig, CARD)
        assert "Authorized" not in rig.events()
        assert await card(rig, OTHER), rig.events()
        assert transaction_tokens(rig) == [OTHER]
        assert rig.box.state.reservation is None  # the transaction took it
