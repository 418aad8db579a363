"""SunSpec meters (model 203): model discovery, scale factors, a metered session, and the
map checks, over real Modbus TCP on 127.0.0.1 against the simulator."""

from contextlib import asynccontextmanager
from importlib import resources

import pytest

from controller.clock import ManualClock
from controller.errors import DeviceError, MapError
from controller.modbus.maps import load_map, load_map_file
from controller.modbus.meter import ModbusMeter
from controller.modbus.transport import Endpoint, ModbusBus
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator

from .conftest import start_rig, stop_rig

SUNSPEC = "sunspec_meter_203"
MODEL_AT = 40000 + 2 + 2 + 65  # marker, common model (ID, L, 65 words), then model 203


@asynccontextmanager
async def served_meter(meter_map, driver_map=None):
    """The simulator serving ``meter_map``; a ModbusMeter over ``driver_map`` (default:
    the same map) on a bus to it. Everything is stopped on exit."""
    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    simulator = ModbusSimulator(station, load_map("heidelberg_energy_control"), meter_map)
    await simulator.start()
    bus = ModbusBus(Endpoint(port=simulator.meter_port, timeout_s=0.5))
    meter = ModbusMeter(driver_map or meter_map, bus, simulator.meter_unit, clock)
    try:
        yield simulator, station, meter
    finally:
        await meter.close()
        await bus.close()
        await simulator.stop()


async def test_discovery_finds_the_model(socket_enabled):
    async with served_meter(load_map(SUNSPEC)) as (_, station, meter):
        await meter.connect()
        device = meter.device
        assert device.located
        assert device.map["energy_import"].address == MODEL_AT + 46
        assert device.map["a_sf"].address == MODEL_AT + 6
        assert device.layout["energy_import"].address == 46  # the map as written
        station.plug_in()
        sample = await meter.read()
        assert sample.energy_Wh_import.total == 0.0
        assert sample.voltage_V is not None
        volts = sample.voltage_V.L1
        assert volts == pytest.approx(station.voltage_V, abs=0.1)
        assert sample.frequency_Hz is not None
        assert sample.frequency_Hz.L1 == 50.0


async def test_scale_factors_are_read_with_the_values(socket_enabled):
    async with served_meter(load_map(SUNSPEC)) as (_, _station, meter):
        await meter.connect()
        plan = meter.device.plan(["current_l1", "energy_import"])
        planned = {reg.name for block in plan for reg in block.registers}
        assert planned == {"current_l1", "a_sf", "energy_import", "totwh_sf"}
        values = await meter.device.read(["current_l1", "power"])
        assert values == {"current_l1": 0.0, "power": 0.0}


async def test_read_locates_the_model_without_connect(socket_enabled):
    async with served_meter(load_map(SUNSPEC)) as (_, _station, meter):
        sample = await meter.read()
        assert meter.device.located
        assert sample.energy_Wh_import.total == 0.0


async def test_session_energy_is_exact_to_the_register(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "heidelberg_energy_control", SUNSPEC)
    try:
        await rig.start_charging()
        await rig.advance(1800)
        sample = rig.manager.vars()["powermeter"]
        # TotWh_SF = 0: whole watt-hours.
        assert sample.energy_Wh_import.total == pytest.approx(rig.station.energy_Wh, abs=1.0)
        assert sample.energy_Wh_import.total > 3000
        assert sample.power_W.total == pytest.approx(rig.station.power_W(), abs=1.0)
        amps = sample.current_A.L1
        assert amps == pytest.approx(16.0, abs=0.01)
    finally:
        await stop_rig(rig)


async def test_device_without_marker_is_a_clear_error(socket_enabled):
    # An SDM630 simulator has no "SunS" at any base.
    async with served_meter(load_map("eastron_sdm630"), load_map(SUNSPEC)) as (_, _s, meter):
        with pytest.raises(DeviceError, match="SunSpec model 203 not found at unit 1"):
            await meter.connect()
        assert not meter.device.located


async def test_missing_model_is_a_clear_error(tmp_path, socket_enabled):
    text = _bundled_text().replace("model: 203", "model: 213")
    path = tmp_path / "sunspec_213.yaml"
    path.write_text(text)
    async with served_meter(load_map(SUNSPEC), load_map_file(path)) as (_, _s, meter):
        with pytest.raises(DeviceError, match="SunSpec model 213 not found at unit 1"):
            await meter.connect()


async def test_scale_factor_not_implemented_gives_none(socket_enabled):
    async with served_meter(load_map(SUNSPEC)) as (simulator, station, meter):
        await meter.connect()
        simulator.meter.inject_garbage("w_sf", [0x8000])
        simulator.meter.inject_garbage("hz_sf", [0x8000])
        sample = await meter.read()
        assert sample.power_W is None
        assert sample.frequency_Hz is None
        # Values with a working scale factor still read (no charger drives current here).
        assert sample.current_A is not None
        assert sample.current_A.L1 == 0.0
        assert sample.voltage_V is not None
        volts = sample.voltage_V.L1
        assert volts == pytest.approx(station.voltage_V, abs=0.1)
        assert (await meter.device.read(["power_l1"])) == {"power_l1": None}


async def test_value_not_implemented_gives_none(socket_enabled):
    async with served_meter(load_map(SUNSPEC)) as (simulator, _station, meter):
        await meter.connect()
        simulator.meter.inject_garbage("voltage_l2", [0x8000])
        values = await meter.device.read(["voltage_l1", "voltage_l2"])
        assert values["voltage_l2"] is None
        assert values["voltage_l1"] is not None


# ---------------------------------------------------------------------- the map


def _bundled_text() -> str:
    return resources.files("modbus_maps").joinpath(f"{SUNSPEC}.yaml").read_text("utf-8")


def test_map_validates():
    device_map = load_map(SUNSPEC)
    assert device_map.kind == "meter"
    assert device_map.sunspec is not None
    assert device_map.sunspec.model == 203
    assert device_map.sunspec.bases == (40000, 0, 50000)
    assert device_map.transport.port == 502
    assert device_map.transport.unit == 1
    for name in ("current_l1", "voltage_l3", "frequency", "power", "power_l2"):
        reg = device_map[name]
        assert reg.type == "int16"
        assert reg.scale_register is not None
        assert device_map[reg.scale_register].type == "int16"
    for name in ("energy_import", "energy_export"):
        assert device_map[name].type == "uint32"
        assert device_map[name].scale_register == "totwh_sf"
    # Offsets are checked against model_203.json; only the power sign is device-specific.
    unverified = {n for n, reg in device_map.registers.items() if reg.unverified}
    assert unverified == {"power", "power_l1", "power_l2", "power_l3"}


def test_scale_decodes_and_encodes():
    reg = load_map(SUNSPEC)["current_l1"]
    assert reg.decode([1600], -2) == pytest.approx(16.0)
    assert reg.encode(16.0, -2) == [1600]
    assert reg.decode([0x8000], -2) is None
    energy = load_map(SUNSPEC)["energy_import"]
    assert energy.decode([0, 1234], 1) == 12340.0
    assert load_map(SUNSPEC)["w_sf"].exponent([0x8000]) is None
    assert load_map(SUNSPEC)["w_sf"].exponent([0xFFFE]) == -2


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("scale_register: w_sf, invalid", "scale_register: nope, invalid", "power_l1 > "),
        ("scale_register: a_sf", "scale_register: power", "current_l1 > scale_register"),
        ("model: 203", "model: big", "['sunspec']['model']"),
        ("bases: [40000, 0, 50000]", "bases: []", "['sunspec']['bases']"),
        ("kind: meter", "kind: charger", "sunspec"),
        ("current_l1:\n    {table: holding", "current_l1:\n    {table: input", "current_l1"),
    ],
)
def test_broken_sunspec_map_names_file_and_field(tmp_path, old, new, field):
    text = _bundled_text()
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(MapError) as info:
        load_map_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert field in message
    if "nope" in new:
        assert "scale_register" in message


@pytest.mark.parametrize(
    "meter", ["sunspec_meter_201", "sunspec_meter_211", "sunspec_meter_213", "solaredge_meter"]
)
async def test_grid_meter_models_measure_the_session_as_import(tmp_path, socket_enabled, meter):
    """Models 201/211/213 besides 203, and SolarEdge's inverted sign (evcc negates its power):
    the charging EV is import, so + power."""
    rig = await start_rig(tmp_path, "heidelberg_energy_control", meter)
    try:
        await rig.start_charging()
        await rig.advance(1800)
        sample = rig.manager.vars()["powermeter"]
        assert sample.power_W.total == pytest.approx(rig.station.power_W(), rel=1e-3, abs=1.0)
        assert sample.power_W.total > 10000
        assert sample.energy_Wh_import.total == pytest.approx(rig.station.energy_Wh, abs=1.0)
        served = rig.simulator.meter
        if load_map(meter).invert_power:  # on the wire the device says export
            raw = served.map["power"].raw(served.words["power"])
            assert isinstance(raw, (int, float))
            assert raw < 0
    finally:
        await stop_rig(rig)


def test_the_203_offsets_are_the_sunspec_models():
    """sunspec/models json/model_203.json and model_213.json."""
    m203, m213 = load_map(SUNSPEC), load_map("sunspec_meter_213")
    assert [m203[n].address for n in ("a_sf", "v_sf", "power", "w_sf")] == [6, 15, 18, 22]
    assert [m203[n].address for n in ("energy_export", "energy_import", "totwh_sf")] == [38, 46, 54]
    assert [m213[n].address for n in ("current_l1", "voltage_l1", "frequency", "power")] == [
        4,
        12,
        26,
        28,
    ]
    assert [m213[n].address for n in ("energy_export", "energy_import")] == [60, 68]


async def test_the_sign_is_also_a_connection_option(socket_enabled):
    """A meter wired the other way round: the same map, the sign from the connection."""
    async with served_meter(load_map("solaredge_meter")) as (simulator, station, _):
        bus = ModbusBus(Endpoint(port=simulator.meter_port, timeout_s=0.5))
        try:
            station.plug_in()
            station.draw_power(16.0, 3)
            simulator.charger.on_write(simulator.charger.map["max_current"], [160], 16.0)
            raw = ModbusMeter(
                load_map("solaredge_meter"), bus, simulator.meter_unit, invert_power=False
            )
            sample = await raw.read()
            assert sample.power_W is not None
            assert sample.power_W.total == pytest.approx(-station.power_W(), abs=1.0)
            assert sample.power_W.total < 0
        finally:
            await bus.close()
