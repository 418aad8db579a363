"""RFID cards read at the wallbox (OCPP 1.6J Authorize + the wallbox's own StartTransaction,
2.0.1 Authorize + TransactionEvent with the idToken), over real WebSockets: our token
validator answers, an accepted card is our kernel's authorization, and the wallbox's own
transaction is our session's, with exact energy."""

from __future__ import annotations

import pytest

from controller.kernel.states import State
from tests.controller.conftest import ACCEPTED, TOKEN

from .conftest import CARD, OcppRig
from .test_session import REMOTE_START, REMOTE_STOP, actions, charge_stop_unplug


def transaction_tokens(rig: OcppRig) -> list[str]:
    """The tokens our kernel's transactions started with."""
    return [
        u.value.transaction_started.id_tag.id_token.value
        for u in rig.updates
        if u.var == "session_event" and u.value.event.value == "TransactionStarted"
    ]


async def test_card_starts_a_full_session_with_exact_energy(rig: OcppRig) -> None:
    """EV plugged in, a listed card (other case) at the reader: Authorize is Accepted, our
    kernel is authorized with the card, the wallbox starts its transaction itself (no
    remote start from us) and we take it as our session's; 16 A for half an hour, our
    stop (RemoteStop), unplug: the energy is the wallbox register's difference."""
    rig.station.plug_in()
    await rig.turn(1)
    assert rig.manager.state is State.WaitingForAuthentication
    assert await rig.box.present_card(CARD.lower()) is True
    await rig.turn(1)
    rig.station.draw_power(16, 3)
    await rig.turn(1)
    assert rig.manager.state is State.Charging, rig.events()
    assert transaction_tokens(rig) == [CARD.lower()]
    assert not actions(rig, REMOTE_START[rig.box.version])
    assert rig.link.transaction_id == rig.box.state.transaction_id is not None
    stop_register = await charge_stop_unplug(rig, 1800)
    assert len(actions(rig, REMOTE_STOP[rig.box.version])) == 1
    record = rig.manager.history(1)[0]
    assert record.stop_energy_Wh == stop_register
    assert record.energy_Wh == record.stop_energy_Wh - record.start_energy_Wh
    assert abs(record.energy_Wh - (rig.station.energy_Wh - record.start_energy_Wh)) < 1
    assert record.energy_Wh > 11040 * 1800 / 3600


async def test_card_before_the_ev(rig: OcppRig) -> None:
    """The card first, then the EV: our kernel is authorized at once, the wallbox starts
    its transaction when the EV is plugged in, and we charge on it."""
    assert await rig.box.present_card(CARD) is True
    await rig.turn(1)
    assert rig.events()[-2:] == ["SessionStarted", "Authorized"]
    rig.station.plug_in()
    await rig.turn(1)
    rig.station.draw_power(16, 3)
    await rig.turn(1)
    assert rig.manager.state is State.Charging, rig.events()
    assert transaction_tokens(rig) == [CARD]
    assert not actions(rig, REMOTE_START[rig.box.version])
    assert rig.link.transaction_id == rig.box.state.transaction_id is not None


async def test_unknown_card_is_invalid_and_charges_nothing(rig: OcppRig) -> None:
    """A card not on the list: Invalid, no authorization, no transaction, no current."""
    rig.station.plug_in()
    await rig.turn(1)
    assert await rig.box.present_card("BADC0DE") is False
    await rig.turn(1)
    rig.station.draw_power(16, 3)
    await rig.turn(60)
    assert rig.box.state.refused == ["BADC0DE"]
    assert "Authorized" not in rig.events()
    assert rig.manager.state is State.WaitingForAuthentication
    assert rig.box.state.transaction_id is None
    assert rig.link.transaction_id is None
    assert rig.station.power_W() == 0.0


async def test_wallbox_starting_on_a_card_without_authorize(rig: OcppRig) -> None:
    """A wallbox that starts its transaction on a card at once (no Authorize first): the
    StartTransaction / TransactionEvent's idToken is checked, an accepted card authorizes
    our kernel and the transaction is its; an unknown card's transaction is answered
    Invalid and the wallbox ends it, no current."""
    rig.box.state.authorize_cards = False
    rig.station.plug_in()
    await rig.turn(1)
    assert await rig.box.present_card("BADC0DE") is True  # taken locally
    await rig.turn(1)
    assert rig.box.state.transaction_id is None  # ended: Invalid
    assert "Authorized" not in rig.events()
    assert rig.station.power_W() == 0.0
    assert await rig.box.present_card(CARD) is True
    await rig.turn(1)
    rig.station.draw_power(16, 3)
    await rig.turn(1)
    assert rig.manager.state is State.Charging, rig.events()
    assert transaction_tokens(rig) == [CARD]
    assert rig.link.transaction_id == rig.box.state.transaction_id is not None
    assert not actions(rig, REMOTE_START[rig.box.version])


@pytest.mark.parametrize("version", ["2.0.1"])
async def test_transaction_started_at_plug_in_authorized_by_a_card(rig: OcppRig) -> None:
    """A 2.0.1 station that keeps TxStartPoint EVConnected (it refuses our Authorized):
    its transaction starts at plug-in without a token and delivers nothing; an unknown
    card changes nothing; a listed card authorizes it (TransactionEvent Updated with the
    idToken) and it is our session's transaction, with exact energy."""
    rig.box.state.tx_on_plug_in = True
    rig.station.plug_in()
    await rig.turn(1)
    assert rig.box.state.transaction_id is not None
    assert rig.link.transaction_id == rig.box.state.transaction_id
    assert rig.manager.state is State.WaitingForAuthentication
    assert await rig.box.present_card("BADC0DE") is False
    rig.station.draw_power(16, 3)
    await rig.turn(10)  # within our kernel's authorization timeout
    assert rig.station.power_W() == 0.0
    assert await rig.box.present_card(CARD) is True
    await rig.turn(1)
    await rig.turn(1)
    assert rig.manager.state is State.Charging, rig.events()
    assert transaction_tokens(rig) == [CARD]
    assert not actions(rig, REMOTE_START[rig.box.version])
    stop_register = await charge_stop_unplug(rig, 600)
    record = rig.manager.history(1)[0]
    assert record.stop_energy_Wh == stop_register
    assert record.energy_Wh == record.stop_energy_Wh - record.start_energy_Wh
    assert record.energy_Wh > 11040 * 600 / 3600


@pytest.mark.parametrize("version", ["2.0.1"])
async def test_transaction_started_at_plug_in_authorized_by_our_kernel(rig: OcppRig) -> None:
    """The same station, our kernel authorizing (no card): RequestStartTransaction
    authorizes the running transaction (2.0.1 F01), which charges as ours."""
    rig.box.state.tx_on_plug_in = True
    rig.station.plug_in()
    await rig.turn(1)
    transaction = rig.box.state.transaction_id
    await rig.manager.authorize_response(TOKEN, ACCEPTED)
    await rig.turn(1)
    rig.station.draw_power(16, 3)
    await rig.turn(1)
    assert rig.manager.state is State.Charging, rig.events()
    assert len(actions(rig, REMOTE_START[rig.box.version])) == 1
    assert rig.box.state.transaction_id == transaction
    assert rig.link.tx_authorized
