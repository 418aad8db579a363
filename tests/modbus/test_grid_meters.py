"""Grid meters of a solar home: each simulator answers exactly the reads the independent
source makes (mbmd's register sets, evcc's templates: function code, address, count) with
what that source decodes to the station's values; the drawn-minus-fed power (SMA), the
wire signs (Huawei, Sungrow) and the sign as a connection option (config)."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from pymodbus.constants import ExcCodes

from controller.clock import ManualClock
from controller.config import parse_config
from controller.errors import ConfigError
from controller.modbus.maps import load_map
from controller.modbus.meter import ModbusMeter
from controller.modbus.transport import Endpoint, ModbusBus
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator
from controller.simulator.device import SimulatedCharger, SimulatedDevice

from .conftest import start_rig, stop_rig

R_HOLD, R_INPUT = 3, 4


def _bytes(words: list[int]) -> bytes:
    return b"".join(w.to_bytes(2, "big") for w in words)


DECODE: dict[str, Callable[[list[int]], float]] = {
    "f32": lambda w: struct.unpack(">f", _bytes(w))[0],  # mbmd RTUIeee754ToFloat64
    "f64": lambda w: struct.unpack(">d", _bytes(w))[0],  # mbmd RTUFloat64ToFloat64
    "i32": lambda w: int.from_bytes(_bytes(w), "big", signed=True),  # evcc int32(nan)
    "u32": lambda w: int.from_bytes(_bytes(w), "big"),
    "i32s": lambda w: int.from_bytes(_bytes(w[::-1]), "big", signed=True),  # evcc int32s
    "u32s": lambda w: int.from_bytes(_bytes(w[::-1]), "big"),
    "u16": lambda w: w[0],
}
# What the source's value must equal on the simulated station (16 A on 3 phases, 230 V).
V, A, W, HZ, KWH, WH, ZERO, ANY = "V", "A", "W", "Hz", "kWh", "Wh", "0", None


def _mbmd(fc: int, addresses: list[int], count: int = 2, check=None) -> list:
    return [(fc, a, count, check) for a in addresses]


# (function code, address, count, (decode, scale, quantity) or None) in the source's order.
SOURCE = {
    "chint_dtsu666": [  # mbmd dtsu666.go: FC03, float32, value / scaler
        (R_HOLD, 0x2006, 2, ("f32", 0.1, V)),
        (R_HOLD, 0x200C, 2, ("f32", 0.001, A)),
        (R_HOLD, 0x2012, 2, ("f32", 0.1, W)),
        (R_HOLD, 0x2044, 2, ("f32", 0.01, HZ)),
        (R_HOLD, 0x101E, 2, ("f32", 1, KWH)),
        (R_HOLD, 0x1028, 2, ("f32", 1, ZERO)),
        *_mbmd(R_HOLD, [0x2008, 0x200A, 0x200E, 0x2010, 0x2014, 0x2016, 0x2018]),
        *_mbmd(R_HOLD, [0x201A, 0x201C, 0x201E, 0x2020, 0x202A, 0x202C, 0x202E, 0x2030]),
        *_mbmd(R_HOLD, [0x1020, 0x1022, 0x1024, 0x102A, 0x102C, 0x102E]),
    ],
    "janitza_b23": [  # mbmd janitza.go: FC03, float32, energies Wh
        (R_HOLD, 0x4A38, 2, ("f32", 1, V)),
        (R_HOLD, 0x4A44, 2, ("f32", 1, A)),
        (R_HOLD, 0x4A52, 2, ("f32", 1, W)),
        (R_HOLD, 0x4A6A, 2, ("f32", 1, HZ)),
        (R_HOLD, 0x4A7C, 2, ("f32", 1, WH)),
        (R_HOLD, 0x4A84, 2, ("f32", 1, ZERO)),
        *_mbmd(R_HOLD, [0x4A3A, 0x4A3C, 0x4A46, 0x4A48, 0x4A4C, 0x4A4E, 0x4A50]),
        *_mbmd(R_HOLD, [0x4A64, 0x4A66, 0x4A68, 0x4A76, 0x4A78, 0x4A7A, 0x4A7E, 0x4A80, 0x4A82]),
    ],
    "siemens_pac2200": [  # mbmd pac2200.go: FC04, float32; energies float64 Wh
        (R_INPUT, 1, 2, ("f32", 1, V)),
        (R_INPUT, 13, 2, ("f32", 1, A)),
        (R_INPUT, 65, 2, ("f32", 1, W)),
        (R_INPUT, 46, 2, ("f32", 1, HZ)),
        (R_INPUT, 801, 4, ("f64", 1, WH)),
        (R_INPUT, 809, 4, ("f64", 1, ZERO)),
        *_mbmd(R_INPUT, [3, 5, 15, 17, 25, 27, 29, 63, 67, 37, 39, 41, 69]),
    ],
    "eastron_sdm220": [  # mbmd sdm220.go / sdm230.go: FC04, float32
        (R_INPUT, 0x0000, 2, ("f32", 1, V)),
        (R_INPUT, 0x0006, 2, ("f32", 1, A)),
        (R_INPUT, 0x000C, 2, ("f32", 1, W)),
        (R_INPUT, 0x0046, 2, ("f32", 1, HZ)),
        (R_INPUT, 0x0048, 2, ("f32", 1, KWH)),
        (R_INPUT, 0x004A, 2, ("f32", 1, ZERO)),
        *_mbmd(R_INPUT, [0x0012, 0x0018, 0x001E, 0x0024, 0x004C, 0x004E, 0x0156, 0x0158]),
    ],
    "huawei_sun2000_meter": [  # evcc huawei-sun2000-hybrid.yaml: one block 37101, count 37
        (R_HOLD, 37101, 37, None),
    ],
    "sungrow_sh_meter": [  # evcc sungrow-hybrid.yaml: FC04, int32s/uint32s
        (R_INPUT, 13009, 2, ("i32s", -1, W)),
        (R_INPUT, 13036, 2, ("u32s", 0.1, KWH)),
        (R_INPUT, 5602, 2, ("i32s", 1, "W/3")),
        (R_INPUT, 5018, 1, ("u16", 0.1, V)),
        (R_INPUT, 5604, 2, ("i32s", 1, "W/3")),
        (R_INPUT, 5019, 1, ("u16", 0.1, V)),
        (R_INPUT, 5606, 2, ("i32s", 1, "W/3")),
        (R_INPUT, 5020, 1, ("u16", 0.1, V)),
        # Tinkerforge sungrow.py (one-based addresses, start_address_offset 1)
        (R_INPUT, 13045, 2, ("u32s", 0.1, ZERO)),
        (R_INPUT, 5035, 1, ("u16", 0.1, HZ)),
    ],
    "sma_grid": [  # evcc sma-hybrid.yaml and sma-homemanager-modbus.yaml
        (R_INPUT, 30865, 2, ("i32", 1, W)),
        (R_INPUT, 30867, 2, ("i32", 1, ZERO)),
        (R_HOLD, 30581, 2, ("i32", 0.001, KWH)),
        (R_HOLD, 30583, 2, ("i32", 0.001, ZERO)),
        (R_INPUT, 31435, 2, ("i32", 0.001, A)),
        (R_INPUT, 31437, 2, ("i32", 0.001, A)),
        (R_INPUT, 31439, 2, ("i32", 0.001, A)),
        *_mbmd(R_INPUT, [31265, 31259, 31267, 31261, 31269, 31263]),
    ],
}
# evcc's decoding of the Huawei block (offsets from 37101, int32nan/uint32nan, evcc's scale).
HUAWEI_BLOCK = [
    (0, "i32", 0.1, V),
    (6, "i32", -0.01, A),
    (12, "i32", -1, W),
    (18, "u32", 0.01, ZERO),
    (20, "u32", 0.01, KWH),
    (31, "i32", -1, "W/3"),
]


def _expected(quantity: str, station: SimulatedStation) -> float:
    return {
        V: station.voltage_V,
        A: station.phase_currents()[0],
        W: station.power_W(),
        "W/3": station.power_W() / 3,
        HZ: 50.0,
        KWH: station.energy_Wh / 1000,
        WH: station.energy_Wh,
        ZERO: 0.0,
    }[quantity]


def _charged(station: SimulatedStation) -> SimulatedCharger:
    """The station's EV has charged 16 A x 3 for an hour."""
    charger = SimulatedCharger(load_map("heidelberg_energy_control"), station)
    station.plug_in()
    station.draw_power(16.0, 3)
    charger.on_write(charger.map["max_current"], [160], 16.0)
    station.clock.advance(3600)
    return charger


def _served(meter_id: str) -> tuple[SimulatedDevice, SimulatedStation]:
    """A meter's simulated device (no server) over a charged station."""
    station = SimulatedStation(clock=ManualClock())
    _charged(station)
    return SimulatedDevice(load_map(meter_id), station), station


def _read(meter: SimulatedDevice, fc: int, address: int, count: int):
    registers = [0] * count
    answer = meter.handle(
        meter.unit,
        function_code=fc,
        start_address=address,
        address=address,
        count=count,
        registers=registers,
        set_values=None,
    )
    return answer, registers


@pytest.mark.parametrize("meter_id", sorted(SOURCE))
def test_the_simulator_answers_the_sources_reads_as_the_source_decodes_them(meter_id):
    simulator, station = _served(meter_id)
    for fc, address, count, check in SOURCE[meter_id]:
        answer, words = _read(simulator, fc, address, count)
        assert answer is None, (meter_id, fc, address, count)
        if check is not None:
            decode, scale, quantity = check
            value = DECODE[decode](words) * scale
            # An integer register is exact to half its step (Sungrow: 0.1 kWh).
            step = 0.01 if decode.startswith("f") else max(abs(scale) / 2, 0.01)
            assert value == pytest.approx(_expected(quantity, station), rel=1e-5, abs=step), (
                meter_id,
                address,
            )
    assert station.energy_Wh > 10000  # the counters above were not trivially zero


def test_the_huawei_block_decodes_as_evcc_decodes_it():
    simulator, station = _served("huawei_sun2000_meter")
    answer, words = _read(simulator, R_HOLD, 37101, 37)
    assert answer is None
    for offset, decode, scale, quantity in HUAWEI_BLOCK:
        value = DECODE[decode](words[offset : offset + 2]) * scale
        assert value == pytest.approx(_expected(quantity, station), rel=1e-5, abs=0.01), offset
    # On the wire the inverter says export: negative power and current while the EV draws.
    assert DECODE["i32"](words[12:14]) < 0
    assert DECODE["i32"](words[6:8]) < 0


@pytest.mark.parametrize(
    ("meter_id", "fc", "address"),
    [("sungrow_sh_meter", R_INPUT, 0x1FFF), ("sma_grid", R_INPUT, 30869)],
)
def test_an_address_the_device_lacks_is_refused(meter_id, fc, address):
    simulator, _ = _served(meter_id)
    answer, _ = _read(simulator, fc, address, 2)
    assert answer == ExcCodes.ILLEGAL_ADDRESS


async def _sample(meter_id: str, inject: dict[str, float | None]):
    """One driver sample of ``meter_id`` over TCP, with registers overridden on the wire
    (a value, or None for the map's invalid pattern)."""
    station = SimulatedStation(clock=ManualClock())
    simulator = ModbusSimulator(station, load_map("heidelberg_energy_control"), load_map(meter_id))
    station.plug_in()
    station.draw_power(16.0, 3)
    simulator.charger.on_write(simulator.charger.map["max_current"], [160], 16.0)
    station.clock.advance(3600)
    assert simulator.meter is not None
    meter_map = simulator.meter.map
    for name, value in inject.items():
        reg = meter_map[name]
        if value is None:
            data = min(reg.invalid).to_bytes(reg.count * 2, "big")
            words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
        else:
            words = reg.encode(value)
        simulator.meter.inject_garbage(name, words)
    await simulator.start()
    bus = ModbusBus(Endpoint(port=simulator.meter_port, timeout_s=0.5))
    try:
        meter = ModbusMeter(load_map(meter_id), bus, simulator.meter_unit)
        await meter.connect()
        return await meter.read(), station
    finally:
        await bus.close()
        await simulator.stop()


async def test_sma_power_is_drawn_minus_fed(socket_enabled):
    """evcc: 30865 + (-1) x 30867. The station only draws, so 15 kW fed go on the wire."""
    sample, station = await _sample("sma_grid", {"power_export": 15000.0})
    assert sample.power_W is not None
    assert sample.power_W.total == pytest.approx(station.power_W() - 15000.0)
    assert sample.power_W.total < 0  # net export


async def test_sma_power_is_unknown_when_the_fed_power_is(socket_enabled):
    sample, _ = await _sample("sma_grid", {"power_export": None})
    assert sample.power_W is None
    assert sample.energy_Wh_import.total > 10000  # the rest of the sample still counts


@pytest.mark.parametrize("meter_id", ["huawei_sun2000_meter", "sungrow_sh_meter"])
async def test_a_meter_that_says_export_reads_as_import(socket_enabled, meter_id):
    sample, station = await _sample(meter_id, {})
    assert sample.power_W is not None
    assert sample.power_W.total == pytest.approx(station.power_W())
    assert pytest.approx(station.power_W() / 3) == sample.power_W.L1
    if meter_id == "huawei_sun2000_meter":  # its currents are signed too (Sungrow has none)
        assert sample.current_A is not None
        assert pytest.approx(16.0) == sample.current_A.L1


@pytest.mark.parametrize(
    ("meter_id", "invert"), [("solaredge_meter", False), ("sunspec_meter_203", True)]
)
async def test_the_sign_is_a_connection_option_of_the_config(
    tmp_path, socket_enabled, meter_id, invert
):
    """connection.invert_power overrides the map's sign: power reads as export."""
    rig = await start_rig(
        tmp_path, "heidelberg_energy_control", meter_id, meter_connection={"invert_power": invert}
    )
    try:
        await rig.start_charging()
        await rig.advance(60)
        sample = rig.manager.vars()["powermeter"]
        assert sample.power_W.total == pytest.approx(-rig.station.power_W(), rel=1e-3, abs=1.0)
        assert sample.power_W.total < -10000
    finally:
        await stop_rig(rig)


def _config(connection: dict) -> dict:
    connection_tcp = {"kind": "tcp", "host": "127.0.0.1"}
    charger = {"map": "heidelberg_energy_control", "connection": connection_tcp}
    grid = {"map": "solaredge_meter", "connection": {"host": "127.0.0.1", **connection}}
    return {"connectors": {"garage": {"charger": charger}}, "energy": {"grid_meter": grid}}


def test_the_grid_meter_takes_the_sign_option():
    config = parse_config(_config({"invert_power": False}))
    assert config.energy is not None
    assert config.energy.grid_meter is not None
    assert config.energy.grid_meter.invert_power is False
    default = parse_config(_config({}))
    assert default.energy is not None
    assert default.energy.grid_meter is not None
    assert default.energy.grid_meter.invert_power is None  # the map's sign


def test_a_sign_option_that_is_not_a_boolean_is_refused():
    with pytest.raises(ConfigError, match="invert_power"):
        parse_config(_config({"invert_power": "yes"}))
