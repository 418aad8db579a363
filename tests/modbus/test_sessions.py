"""Full charging sessions of the kernel over real Modbus TCP, for every charger map."""

import pytest

from controller.everest import StopTransactionReason, StopTransactionRequest
from controller.kernel.states import State
from controller.modbus.maps import available_maps, load_map
from tests.session_events import SESSION_START

from .conftest import start_rig, stop_rig

CHARGERS = sorted(m for m, kind in available_maps().items() if kind == "charger")
METERS = sorted(m for m, kind in available_maps().items() if kind == "meter")
BASIC = SESSION_START


@pytest.mark.parametrize("charger", CHARGERS)
async def test_full_session_on_every_charger_map(tmp_path, socket_enabled, charger):
    rig = await start_rig(tmp_path, charger)
    try:
        rig.station.plug_in()
        rig.station.draw_power(16.0, 3)
        await rig.advance(1, step=1)
        await rig.advance(6, step=1)  # settle: PWM on -> EV to C -> relays
        assert rig.manager.state is State.Charging, rig.events()
        assert rig.events()[: len(BASIC)] == BASIC
        assert rig.station.power_W() > 0
        await rig.advance(3600)
        rig.station.pause()
        await rig.advance(2, step=1)
        assert rig.manager.state is State.ChargingPausedEV
        rig.station.resume()
        await rig.advance(10, step=1)
        assert rig.manager.state is State.Charging
        await rig.manager.stop_transaction(
            StopTransactionRequest(reason=StopTransactionReason.Local)
        )
        await rig.advance(2, step=1)
        rig.station.unplug()
        await rig.advance(1, step=1)
        assert rig.events()[-3:] == ["ChargingFinished", "TransactionFinished", "SessionFinished"]
        (record,) = rig.manager.history()
        # The SDM630 stores kWh as float32: exact to its resolution (< 1 Wh at this size).
        assert record.energy_Wh == pytest.approx(rig.station.energy_Wh, abs=1.0)
        assert record.energy_Wh > 3000
    finally:
        await stop_rig(rig)


@pytest.mark.parametrize("meter", METERS)
async def test_every_meter_map_measures_the_session(tmp_path, socket_enabled, meter):
    rig = await start_rig(tmp_path, "heidelberg_energy_control", meter)
    try:
        await rig.start_charging()
        await rig.advance(1800)
        sample = rig.manager.vars()["powermeter"]
        # Exact to the register's resolution (EM24/EM340 count in 0.1 kWh steps).
        resolution = float(load_map(meter)["energy_import"].factor)
        assert sample.energy_Wh_import.total == pytest.approx(
            rig.station.energy_Wh, abs=max(resolution, 1.0)
        )
        assert sample.power_W.total == pytest.approx(rig.station.power_W(), rel=1e-3, abs=10)
    finally:
        await stop_rig(rig)
