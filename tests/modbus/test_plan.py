"""Read coalescing: as few requests as the protocol allows, never more words than needed."""

from controller.modbus.device import plan_reads
from controller.modbus.maps import load_map


def _blocks(map_id, names):
    device_map = load_map(map_id)
    regs = [device_map[n] for n in names if n in device_map.registers]
    return plan_reads(regs, device_map.transport.unit)


def test_neighbouring_input_registers_are_one_request():
    blocks = _blocks(
        "heidelberg_energy_control",
        ["cp_state", "current_l1", "current_l2", "current_l3", "temperature", "voltage_l1"],
    )
    assert [(b.table, b.address, b.count) for b in blocks] == [("input", 5, 6)]


def test_far_apart_registers_are_separate_requests():
    blocks = _blocks("heidelberg_energy_control", ["cp_state", "hw_max_current", "max_current"])
    assert [(b.table, b.address, b.count) for b in blocks] == [
        ("holding", 261, 1),
        ("input", 5, 1),
        ("input", 100, 1),
    ]


def test_small_gaps_are_bridged_and_offsets_kept():
    blocks = _blocks(
        "eastron_sdm630", ["voltage_l1", "current_l1", "power", "frequency", "energy_import"]
    )
    assert [(b.address, b.count) for b in blocks] == [(0, 8), (52, 2), (70, 4)]
    regs = {r.name: r.address - blocks[2].address for r in blocks[2].registers}
    assert regs == {"frequency": 0, "energy_import": 2}


def test_requests_never_exceed_the_protocol_limit():
    device_map = load_map("eastron_sdm630")
    regs = list(device_map.registers.values())
    for block in plan_reads(regs, 1):
        assert block.count <= 125
    assert len(plan_reads(regs, 1)) <= 3
