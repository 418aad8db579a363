"""Device maps: every bundled map loads and round-trips; decodes match the vendors' facts;
broken map files fail with a MapError naming the file and the field."""

import random
import struct
from dataclasses import replace
from decimal import Decimal
from importlib import resources
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from controller.errors import MapError
from controller.modbus.maps import (
    CHARGER_BINDINGS,
    METER_BINDINGS,
    REQUIRED,
    UNIT_FACTORS,
    WORDS,
    DeviceMap,
    Register,
    available_maps,
    load_map,
    load_map_file,
)

MAP_IDS = sorted(available_maps())
CHARGER_IDS = [m for m, kind in available_maps().items() if kind == "charger"]

# The error types of EVerest's errors/*.yaml that a map may name, read from EVerest's own
# files (tests/everest_reference/errors, copied verbatim), not from the controller.
EVEREST_ERRORS = {
    path.stem: {error["name"] for error in yaml.safe_load(path.read_text())["errors"]}
    for path in (Path(__file__).parents[1] / "everest_reference" / "errors").glob("*.yaml")
}


def _registers():
    for map_id in MAP_IDS:
        for name in load_map(map_id).registers:
            yield pytest.param(map_id, name, id=f"{map_id}.{name}")


def _unit(device_map: DeviceMap, reg: Register) -> int:
    return reg.unit_id if reg.unit_id is not None else device_map.transport.unit


def _f32(value: float) -> list[int]:
    data = struct.pack(">f", value)
    return [int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big")]


# ---------------------------------------------------------------------- bundled maps


@pytest.mark.parametrize("map_id", MAP_IDS)
def test_bundled_map_loads(map_id):
    device_map = load_map(map_id)
    assert device_map.id == map_id
    assert device_map.path == f"modbus_maps/{map_id}.yaml"
    assert device_map.registers
    for name in REQUIRED[device_map.kind]:
        assert name in device_map.registers


def test_the_finished_device_set_is_bundled():
    assert set(CHARGER_IDS) >= {
        "heidelberg_energy_control",
        "phoenix_ev_eth",
        "phoenix_ev_ser",
        "wallbe_eco",
        "bender_cc613",
        "alfen_eve",
        "webasto_next",
        "abl_emh",
        "amperfied_connect",
    }
    meters = {m for m, kind in available_maps().items() if kind == "meter"}
    assert meters >= {
        "eastron_sdm630",
        "eastron_sdm72",
        "eastron_sdm120",
        "abb_b23",
        "carlo_gavazzi_em24",
        "carlo_gavazzi_em340",
    }


@pytest.mark.parametrize("map_id", CHARGER_IDS)
def test_every_charger_can_be_read_and_limited(map_id):
    device_map = load_map(map_id)
    cp, setpoint = device_map["cp_state"], device_map["max_current"]
    assert cp.readable
    assert cp.values
    assert "w" in setpoint.access
    assert setpoint.table in ("holding", "coil")
    # Pausing needs either an off value or an enable register.
    assert setpoint.off_value is not None or "enable" in device_map.registers


@pytest.mark.parametrize("map_id", MAP_IDS)
def test_registers_do_not_overlap(map_id):
    """Two registers of one unit and table never share a word (or bit)."""
    device_map = load_map(map_id)
    groups: dict[tuple[int, str], list[Register]] = {}
    for reg in device_map.registers.values():
        groups.setdefault((_unit(device_map, reg), reg.table), []).append(reg)
    for regs in groups.values():
        ordered = sorted(regs, key=lambda r: r.address)
        for first, second in pairwise(ordered):
            assert first.address + first.count <= second.address, (
                f"{map_id}: {first.name} ({first.address}+{first.count}) overlaps "
                f"{second.name} ({second.address})"
            )


@pytest.mark.parametrize("map_id", MAP_IDS)
def test_writable_registers_are_in_writable_tables(map_id):
    """Also device-specific registers, which the loader does not check."""
    device_map = load_map(map_id)
    for reg in device_map.registers.values():
        if "w" in reg.access:
            assert reg.table in ("coil", "holding"), f"{map_id}: {reg.name}"


@pytest.mark.parametrize("map_id", MAP_IDS)
def test_init_writes_target_writable_registers(map_id):
    device_map = load_map(map_id)
    for name, value in device_map.init:
        reg = device_map[name]
        assert "w" in reg.access
        if isinstance(value, str):
            assert value in reg.values.values()
        else:
            assert reg.encode_raw(value)


@pytest.mark.parametrize("map_id", MAP_IDS)
def test_bindings_and_error_types_are_known(map_id):
    device_map = load_map(map_id)
    bindings = CHARGER_BINDINGS if device_map.kind == "charger" else METER_BINDINGS
    for reg in device_map.registers.values():
        for error_type in reg.errors.values():
            interface, _, name = error_type.partition("/")
            assert name in EVEREST_ERRORS.get(interface, ()), f"{reg.name}: {error_type}"
        if reg.errors:
            assert reg.name in ("cp_state", "error_code")
        if reg.name in bindings and bindings[reg.name][0] is not None and not reg.values:
            assert reg.type not in ("string", "bit"), f"{reg.name} measures a quantity"
    if device_map.watchdog is not None:
        assert device_map.watchdog.interval_s < device_map.watchdog.timeout_s


@pytest.mark.parametrize("map_id", MAP_IDS)
def test_unverified_facts_carry_a_note(map_id):
    text = resources.files("modbus_maps").joinpath(f"{map_id}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    sections = {"transport": data["transport"], "watchdog": data.get("watchdog") or {}}
    sections.update(data["registers"])
    for where, section in sections.items():
        if section.get("unverified"):
            assert section.get("note"), f"{map_id}: {where} is unverified without a note"


@pytest.mark.parametrize(("map_id", "name"), _registers())
def test_register_round_trips(map_id, name):
    reg = load_map(map_id)[name]
    for raw, error_type in reg.errors.items():
        words = reg.encode_raw(raw)
        assert reg.error(words) == error_type
        assert reg.raw_for_error(error_type) is not None
        if reg.values and raw not in reg.values:
            assert reg.decode(words) is None
    if reg.values:
        _check_meanings(reg)
    elif reg.type == "string":
        text = "AB12CDEF34"[: reg.count * 2]
        assert reg.decode(reg.encode(text)) == text
        assert len(reg.encode(text)) == reg.count
    elif reg.type == "bit":
        for bit in (0, 1):
            assert reg.decode(reg.encode(bit)) == bit
    else:
        _check_numbers(reg)


def _check_meanings(reg: Register) -> None:
    for raw, meaning in reg.values.items():
        words = reg.encode_raw(raw)
        assert len(words) == reg.count
        assert reg.decode(words) == meaning
        assert reg.values[reg.raw_for(meaning)] == meaning
        assert reg.decode(reg.encode(meaning)) == meaning


def _in_range(reg: Register, value: float) -> bool:
    """Whether ``value`` (canonical unit) lies within the register's documented range."""
    try:
        reg.check_range(value)
    except ValueError:
        return False
    return True


def _check_numbers(reg: Register) -> None:
    resolution = float(reg.factor)
    assert len(reg.encode_raw(0)) == reg.count == WORDS[reg.type]
    if reg.type.startswith("float"):
        for value in (0.0, 12.5, 230.1, 16.0):
            if not _in_range(reg, value):
                with pytest.raises(ValueError, match="outside"):
                    reg.encode(value)
                continue
            got = reg.decode(reg.encode(value))
            assert got == pytest.approx(value, rel=1e-6)
    else:
        raws = [0, 1, 7, 1234, 30000]
        if reg.type.startswith("int"):
            raws += [-1, -1234]
        for raw in raws:
            words = reg.encode_raw(raw)
            value = reg.decode(words)
            if value is None:  # a raw value the device uses for "not available"
                bits = int.from_bytes(b"".join(w.to_bytes(2, "big") for w in words), "big")
                assert (
                    bits in reg.invalid
                    or int.from_bytes(b"".join(w.to_bytes(2, "big") for w in words[::-1]), "big")
                    in reg.invalid
                )
                continue
            assert value == pytest.approx(raw * resolution)
            if not _in_range(reg, value):
                with pytest.raises(ValueError, match="outside"):
                    reg.encode(value)
                continue
            assert reg.encode(value) == words
            off_grid = value + 0.3 * resolution
            if not _in_range(reg, off_grid):
                continue
            # abs: a negative scale is a device that counts the other way (Huawei currents)
            assert abs(reg.decode(reg.encode(off_grid)) - off_grid) <= abs(resolution) / 2 + 1e-9
    unit_factor = float(UNIT_FACTORS[reg.unit][1]) if reg.unit else 1.0
    for limit in (reg.min, reg.max):
        if limit is not None:  # min/max are in the register's unit (mA for a mA setpoint)
            amps = limit * unit_factor
            assert reg.decode(reg.encode(amps)) == pytest.approx(amps, abs=abs(resolution) / 2)
    if reg.off_value is not None:
        off = reg.decode(reg.encode_raw(reg.off_value))
        assert isinstance(off, float)
        if _in_range(reg, off):
            assert reg.encode(off) == reg.encode_raw(reg.off_value)
        else:  # "off" lies below the settable range: only ever written raw
            with pytest.raises(ValueError, match="outside"):
                reg.encode(off)


# ---------------------------------------------------------------------- vendor facts


def test_heidelberg_charging_state():
    cp = load_map("heidelberg_energy_control")["cp_state"]
    assert cp.decode([7]) == "C2"
    assert cp.decode([4]) == "B1"
    assert cp.decode([11]) == "F"
    assert cp.error([11]) == "evse_manager/Internal"
    with pytest.raises(ValueError, match="unexpected raw value 99"):
        cp.decode([99])


@pytest.mark.parametrize("map_id", ["phoenix_ev_eth", "wallbe_eco"])
def test_phoenix_letter_in_low_byte(map_id):
    cp = load_map(map_id)["cp_state"]
    assert cp.decode([0x0043]) == "C"
    assert cp.decode([0x2043]) == "C"
    assert cp.decode([0x0041]) == "A"
    assert cp.encode("B") == [0x0042]


def test_phoenix_errors_and_low_word_first():
    device_map = load_map("phoenix_ev_eth")
    error_code = device_map["error_code"]
    assert error_code.error([0]) is None
    assert error_code.error([13]) == "evse_board_support/DiodeFault"
    # No value list: a code outside nymea's list decodes (and becomes a vendor error).
    assert error_code.decode([16]) == 16.0
    assert error_code.error([16]) is None
    assert error_code.error([15]) == "ac_rcd/DC"
    assert error_code.error([12]) == "evse_board_support/MREC17EVSEContactorFault"
    assert error_code.error([8]) == "connector_lock/MREC1ConnectorLockFailure"
    assert device_map["power"].decode([0x2345, 0x0001]) == 0x12345
    assert device_map["energy_import"].decode([0x5678, 0x1234]) == 0x12345678
    assert device_map["enable"].encode("disabled") == [0]
    assert device_map["max_current"].encode(16) == [16]


def test_wallbe_tenths_and_uint64_energy():
    device_map = load_map("wallbe_eco")
    assert device_map["max_current"].encode(16) == [160]
    assert device_map["max_current"].encode(6) == [60]
    assert device_map["max_current"].encode(32) == [320]
    assert device_map["max_current"].decode([123]) == pytest.approx(12.3)
    assert device_map["energy_import"].decode([0x5678, 0x1234, 0x0001, 0]) == 0x1_1234_5678


def test_phoenix_basic_two_letter_status():
    device_map = load_map("phoenix_ev_ser")
    cp = device_map["cp_state"]
    assert cp.decode([0x4232]) == "B2"  # "B2": letter in the high byte
    assert cp.decode([0x4331]) == "C1"
    assert cp.decode([0x4530]) == "E"
    assert cp.decode([0x4630]) == "F"
    assert cp.encode("C2") == [0x4332]
    assert cp.encode("A") == [0x4131]  # a bare letter takes its first raw value
    with pytest.raises(ValueError, match="'X9'"):
        cp.decode([0x5839])
    assert device_map["pp_ampacity"].decode([32]) == 32.0
    assert device_map["pp_ampacity"].decode([0xFFFF]) is None
    assert device_map["lock"].encode("locked") == [1]
    assert device_map.init == (("enable_source", 3),)


def test_bender_relays_and_milliamperes():
    device_map = load_map("bender_cc613")
    relays = device_map["relays"]
    assert relays.decode([0]) == 0
    assert relays.decode([1]) == 3
    assert relays.decode([5]) == 1
    assert device_map["cp_state"].decode([3]) == "C"
    assert device_map["current_l1"].decode([0, 16000]) == 16.0
    assert device_map["power"].decode([0xFFFF, 0xFFFF]) is None
    assert device_map["max_current"].off_value == 0
    assert device_map["failsafe_current"].unverified
    assert device_map["watchdog_timeout"].unverified


def test_alfen_string_state_float_setpoint_and_station_unit():
    device_map = load_map("alfen_eve")
    cp = device_map["cp_state"]
    assert cp.count == 5
    assert cp.decode([0x4332, 0, 0, 0, 0]) == "C2"  # "C2"
    assert cp.decode([0x4120, 0x2020, 0x2020, 0x2020, 0x2020]) == "A"  # padded with blanks
    assert cp.encode("B1") == [0x4231, 0, 0, 0, 0]
    setpoint = device_map["max_current"]
    assert setpoint.encode(16.5) == _f32(16.5)
    assert setpoint.decode([0x4180, 0x0000]) == 16.0
    assert setpoint.decode([0xFFFF, 0xFFFF]) is None  # NaN = unavailable
    assert setpoint.encode_raw(setpoint.off_value) == [0, 0]
    assert device_map["energy_import"].decode(_words(struct.pack(">d", 1234.5))) == 1234.5
    for name in ("serial", "firmware", "model", "temperature"):
        assert device_map[name].unit_id == 200
    assert device_map["cp_state"].unit_id is None
    assert "failsafe_current" not in device_map.registers
    assert device_map["safe_current"].access == "r"
    assert device_map["phases"].encode(1) == [1]
    assert device_map.watchdog is not None
    assert (device_map.watchdog.refresh, device_map.watchdog.timeout_s) == ("setpoint", 60)
    assert device_map.watchdog.interval_s == 25


def test_webasto_states_heartbeat_and_milliamperes():
    device_map = load_map("webasto_next")
    cp = device_map["cp_state"]
    assert cp.decode([0]) == "A"
    assert cp.decode([3]) == "C2"
    assert cp.decode([7]) == "F"
    assert cp.error([7]) == "evse_board_support/VendorError"
    assert device_map["current_l1"].decode([16000]) == 16.0
    assert device_map["heartbeat"].encode("beat") == [1]
    assert device_map["watchdog_timeout"].encode(30) == [30]
    assert device_map.watchdog is not None
    assert device_map.watchdog.refresh == "heartbeat"
    # No code list: any code decodes as a number (the driver reports it as a vendor error).
    assert device_map["error_code"].decode([42]) == 42.0


def test_abl_state_codes_and_duty_cycle():
    device_map = load_map("abl_emh")
    cp = device_map["cp_state"]
    assert cp.decode([0x00C2]) == "C2"
    assert cp.decode([0xC2C2]) == "C2"  # only the low byte counts
    assert cp.decode([0x00E0]) == "E"
    assert cp.decode([0x00F3]) == "F"
    assert cp.error([0x00F3]) == "ac_rcd/DC"
    assert cp.error([0x00F7]) == "evse_board_support/VentilationNotAvailable"
    assert cp.error([0x00A1]) is None
    for raw in range(0xF1, 0xFC):
        assert cp.error([raw]) is not None
    setpoint = device_map["max_current"]
    assert setpoint.encode(6) == [100]
    assert setpoint.encode(32) == [533]
    assert setpoint.encode(15.96) == [266]
    assert setpoint.off_value == 1000
    assert device_map["current_l1"].decode([1000]) is None
    assert device_map.transport.kind == "ascii"
    assert (device_map.transport.baudrate, device_map.transport.parity) == (38400, "E")


def test_amperfied_connect_solar_adds_phase_switching():
    home = load_map("amperfied_connect")
    device_map = load_map("amperfied_connect_solar")
    heidelberg = load_map("heidelberg_energy_control")
    for name in ("cp_state", "max_current", "failsafe_current", "watchdog_timeout"):
        assert replace(device_map[name], write_fc=None) == heidelberg[name]
        assert device_map[name] == home[name]
    # evcc writes 261 and 501 with FC16; the Energy Control's table documents FC06.
    assert device_map["max_current"].write_fc == 16
    assert device_map["phases"].write_fc == 16
    assert "phases" not in home.registers
    assert "phases_state" not in home.registers
    assert device_map["phases"].encode(3) == [3]
    assert device_map["phases_state"].decode([1]) == 1.0
    assert device_map["phases_state"].decode([0]) == 0.0
    assert (device_map.transport.kind, device_map.transport.unit) == ("tcp", 255)


@pytest.mark.parametrize("map_id", ["eastron_sdm630", "eastron_sdm72", "eastron_sdm120"])
def test_eastron_float32_high_word_first(map_id):
    device_map = load_map(map_id)
    assert device_map["energy_import"].decode(_f32(1234.5)) == 1234500.0  # kWh -> Wh
    assert device_map["voltage_l1"].decode(_f32(230.1)) == 230.1
    assert device_map["voltage_l1"].decode([0x4366, 0x0000]) == 230.0


def test_abb_uint64_hundredths_of_kwh():
    device_map = load_map("abb_b23")
    energy = device_map["energy_import"]
    assert energy.decode([0, 0, 0x0001, 0xE240]) == 1234560.0  # 123456 * 0.01 kWh
    assert energy.decode([0xFFFF] * 4) is None
    assert device_map["power"].decode([0xFFFF, 0xFF9C]) == -1.0  # -100 * 0.01 W
    assert device_map["power"].decode([0x7FFF, 0xFFFF]) is None
    assert device_map["voltage_l1"].decode([0, 2301]) == pytest.approx(230.1)
    assert device_map["frequency"].decode([5000]) == 50.0
    assert device_map["energy_import"].table == "holding"


@pytest.mark.parametrize("map_id", ["carlo_gavazzi_em24", "carlo_gavazzi_em340"])
def test_carlo_gavazzi_low_word_first(map_id):
    device_map = load_map(map_id)
    assert device_map["voltage_l1"].decode([2301, 0]) == pytest.approx(230.1)
    assert device_map["power"].decode([0xCFC7, 0xFFFF]) == pytest.approx(-1234.5)
    assert device_map["energy_import"].decode([0x3039, 0x0000]) == 1234500.0
    assert device_map["energy_import"].decode([0x0000, 0x0001]) == 6553.6 * 1000
    assert device_map["frequency"].decode([500]) == 50.0


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


# ---------------------------------------------------------------------- broken files

VALID_CHARGER = """\
kind: charger
manufacturer: Test
model: Box
transport: {kind: tcp}
registers:
  cp_state: {table: input, address: 1, values: {1: A, 2: B, 3: C}}
  max_current: {table: holding, address: 10, unit: A, access: rw}
  energy_import: {table: input, address: 20, type: uint32, unit: Wh}
"""


def test_the_broken_file_template_is_valid(tmp_path):
    path = tmp_path / "box.yaml"
    path.write_text(VALID_CHARGER)
    assert load_map_file(path).id == "box"


BROKEN = {
    "not_yaml": ("kind: [charger\n", "not valid YAML"),
    "not_a_mapping": ("- kind\n- charger\n", "must be a YAML mapping"),
    "missing_kind": (VALID_CHARGER.replace("kind: charger\n", ""), "['kind']"),
    "unknown_type": (
        VALID_CHARGER + "  temp: {table: input, address: 30, type: uint24}\n",
        "['registers']['temp']['type']",
    ),
    "read_binding_write_only": (
        VALID_CHARGER.replace("values: {1: A", "access: w, values: {1: A"),
        "registers > cp_state > access",
    ),
    "write_binding_on_input": (
        VALID_CHARGER.replace("{table: holding, address: 10", "{table: input, address: 10"),
        "registers > max_current > access",
    ),
    "wrong_quantity": (
        VALID_CHARGER.replace("type: uint32, unit: Wh", "type: uint32, unit: A"),
        "registers > energy_import > unit",
    ),
    "string_without_count": (
        VALID_CHARGER + "  serial: {table: holding, address: 40, type: string}\n",
        "registers > serial > count",
    ),
    "wrong_count": (
        VALID_CHARGER.replace("type: uint32, unit: Wh", "type: uint32, count: 1, unit: Wh"),
        "registers > energy_import > count",
    ),
    "cp_values_not_letters": (
        VALID_CHARGER.replace("{1: A, 2: B, 3: C}", "{1: A, 2: plugged}"),
        "registers > cp_state > values",
    ),
    "cp_without_values": (
        VALID_CHARGER.replace(", values: {1: A, 2: B, 3: C}", ""),
        "registers > cp_state > values",
    ),
    "init_unknown_register": (
        VALID_CHARGER + "init:\n  - {register: standby, value: 4}\n",
        "init > 0 > register",
    ),
    "unquoted_off": (
        VALID_CHARGER + "  enable: {table: coil, address: 5, access: w, values: {1: on, 0: off}}\n",
        "['registers']['enable']['values']",
    ),
    "unquoted_off_in_init": (
        VALID_CHARGER + "init:\n  - {register: max_current, value: off}\n",
        "['init'][0]['value']",
    ),
    "missing_max_current": (
        "\n".join(line for line in VALID_CHARGER.splitlines() if "max_current" not in line),
        "registers > max_current",
    ),
    "meter_without_energy": (
        VALID_CHARGER.replace("kind: charger", "kind: meter")
        .replace("  cp_state: {table: input, address: 1, values: {1: A, 2: B, 3: C}}\n", "")
        .replace("  max_current: {table: holding, address: 10, unit: A, access: rw}\n", "")
        .replace("energy_import", "power")
        .replace("unit: Wh", "unit: W"),
        "registers > energy_import",
    ),
    "bad_transport": (
        VALID_CHARGER.replace("{kind: tcp}", "{kind: tcp, baudrate: 12345}"),
        "['transport']['baudrate']",
    ),
    "capabilities_outside_register_range": (
        VALID_CHARGER.replace("unit: A, access: rw}", "unit: A, access: rw, min: 6, max: 10}"),
        "capabilities > max_current_A",
    ),
    "unknown_error_type": (
        VALID_CHARGER.replace(
            "values: {1: A, 2: B, 3: C}",
            "values: {1: A, 2: B, 3: C}, errors: {9: evse_board_support/Melted}",
        ),
        "['registers']['cp_state']['errors'][9]",
    ),
    "address_out_of_range": (
        VALID_CHARGER.replace("address: 20,", "address: 70000,"),
        "['registers']['energy_import']['address']",
    ),
}


@pytest.mark.parametrize(("text", "field"), list(BROKEN.values()), ids=list(BROKEN))
def test_broken_map_names_file_and_field(tmp_path, text, field):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(MapError) as info:
        load_map_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert field in message


def test_unquoted_off_says_to_quote(tmp_path):
    path = tmp_path / "enable.yaml"
    path.write_text(BROKEN["unquoted_off"][0])
    with pytest.raises(MapError, match="quote this value"):
        load_map_file(path)


def test_unreadable_file_names_the_path(tmp_path):
    path = tmp_path / "missing.yaml"
    with pytest.raises(MapError, match=r"missing\.yaml: cannot read"):
        load_map_file(path)


def test_unknown_bundled_map_lists_the_known_ones():
    with pytest.raises(MapError, match="heidelberg_energy_control"):
        load_map("no_such_box")


def test_invalid_marks_whole_register_patterns_not_single_words():
    power = load_map("abb_b23")["power"]
    assert power.decode([0x7FFF, 0xFFFF]) is None  # "not available"
    assert power.decode([0xFFFF, 0xFFFF]) == pytest.approx(-0.01)  # a real -0.01 W
    assert power.decode([0xFFFF, 0x7FFF]) == pytest.approx(-327.69)
    energy = load_map("abb_b23")["energy_import"]
    assert energy.decode([0xFFFF] * 4) is None
    assert energy.decode([0, 0, 0, 0xFFFF]) == pytest.approx(655.35 * 1000)  # 655.35 kWh


def test_every_numeric_register_decodes_to_the_exact_decimal_product():
    """A register's value is its raw number times its factor (and 10**exponent) worked
    out in decimal, then read as the nearest float: 1.2345 kWh is 1234.5 Wh, 163 x 0.1 A
    is 16.3 A. Checked against Decimal for every numeric register of every map, with raw
    words spread over the whole range, and again when the words repeat."""
    rng = random.Random(14)
    checked = 0
    for map_id in available_maps():
        for reg in load_map(map_id).registers.values():
            if reg.values or reg.type in ("string", "bit"):
                continue
            for _ in range(40):
                words = [rng.randrange(0x10000) for _ in range(reg.count)]
                raw = reg.raw(words)
                if raw is None or isinstance(raw, str):
                    continue
                for exponent in (0, -2, 1):
                    want = float(Decimal(str(raw)).scaleb(exponent) * reg.factor)
                    assert reg.decode(words, exponent) == want, (map_id, reg.name, words)
                    assert reg.decode(list(words), exponent) == want
                    checked += 1
    assert checked > 10000
