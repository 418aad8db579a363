"""Every charger map's simulator, driven with exactly the requests evcc's driver for that
device makes (charger/*.go: function code, address, count, written words), answers what
evcc expects: data where evcc reads, acceptance where it writes, and a Modbus exception
where evcc probes for a feature the device lacks (Bender 1001/1002 on a non-4You box)."""

from __future__ import annotations

import pytest
from pymodbus.constants import ExcCodes

from controller.clock import ManualClock
from controller.modbus.maps import available_maps, load_map
from controller.simulation import SimulatedStation
from controller.simulator.device import SimulatedCharger

OK = None
R_COIL, R_HOLD, R_INPUT, W_COIL, W_ONE, W_MANY = 1, 3, 4, 5, 6, 16

# (function code, address, count or written words, expected answer) in evcc's order.
EVCC = {
    "heidelberg_energy_control": [  # heidelberg-ec.go
        (W_MANY, 258, [4], OK),
        (R_HOLD, 257, 1, OK),
        (R_INPUT, 5, 1, OK),
        (R_HOLD, 259, 1, OK),
        (W_MANY, 259, [1], OK),
        (R_HOLD, 261, 1, OK),
        (W_MANY, 261, [160], OK),
        (W_MANY, 261, [0], OK),
        (R_INPUT, 14, 1, OK),
        (R_INPUT, 17, 2, OK),
        (R_INPUT, 6, 3, OK),
        (R_INPUT, 10, 3, OK),
        (R_INPUT, 9, 1, OK),
        (R_HOLD, 258, 1, OK),
        (R_HOLD, 262, 1, OK),
    ],
    "amperfied_connect": [  # amperfied.go without phases1p3p
        (R_HOLD, 257, 1, OK),
        (R_INPUT, 5, 1, OK),
        (R_HOLD, 259, 1, OK),
        (W_MANY, 259, [1], OK),
        (R_HOLD, 261, 1, OK),
        (W_MANY, 261, [60], OK),
        (R_INPUT, 14, 1, OK),
        (R_INPUT, 17, 2, OK),
        (R_INPUT, 6, 3, OK),
        (R_INPUT, 10, 3, OK),
        (R_INPUT, 2002, 6, OK),
        (R_INPUT, 9, 1, OK),
        (R_HOLD, 262, 1, OK),
        (W_MANY, 501, [1], ExcCodes.ILLEGAL_ADDRESS),  # connect.home/business: no 501
    ],
    "amperfied_connect_solar": [  # amperfied.go with phases1p3p
        (R_HOLD, 257, 1, OK),
        (R_INPUT, 5, 1, OK),
        (W_MANY, 261, [160], OK),
        (W_MANY, 501, [1], OK),
        (R_INPUT, 5001, 1, OK),
        (W_MANY, 501, [3], OK),
    ],
    "webasto_next": [  # webasto-next.go
        (W_ONE, 6000, [1], OK),
        (R_HOLD, 2002, 1, OK),
        (R_HOLD, 1000, 1, OK),
        (W_MANY, 5004, [6], OK),
        (W_MANY, 5004, [0], OK),
        (R_HOLD, 1508, 2, OK),
        (R_HOLD, 1020, 2, OK),
        (R_HOLD, 1036, 2, OK),
        (R_INPUT, 1008, 1, OK),
        (R_INPUT, 1010, 1, OK),
        (R_INPUT, 1012, 1, OK),
        (R_HOLD, 1600, 10, OK),
        (R_HOLD, 1620, 1, OK),
        *[(R_HOLD, a, 1, OK) for a in (1001, 1002, 1004, 1102, 1100, 1104, 1106, 1108, 1006)],
    ],
    "bender_cc613": [  # bender.go, a CC613 with meter, not a Mennekes 4You
        (R_HOLD, 142, 10, OK),
        (R_HOLD, 220, 2, OK),
        (R_HOLD, 222, 2, OK),
        (R_HOLD, 1001, 1, ExcCodes.ILLEGAL_ADDRESS),  # no 0.1 A limit: evcc uses 1000
        (R_HOLD, 1002, 1, ExcCodes.ILLEGAL_ADDRESS),  # no power limit: no 1p3p over Modbus
        (R_HOLD, 122, 1, OK),
        (R_HOLD, 1000, 1, OK),
        (W_MANY, 1000, [16], OK),
        (W_MANY, 1000, [0], OK),
        (R_HOLD, 220, 2, OK),
        (R_HOLD, 218, 2, OK),
        (R_HOLD, 212, 6, OK),
        (R_HOLD, 222, 6, OK),
        (R_HOLD, 140, 1, OK),
        (R_HOLD, 100, 2, OK),
    ],
    "abl_emh": [  # abl.go: every request twice, the second answer counts
        (R_HOLD, 0x01, 2, OK),
        (R_HOLD, 0x04, 1, OK),
        (R_HOLD, 0x0F, 5, OK),
        (W_MANY, 0x14, [100], OK),
        (W_MANY, 0x14, [1000], OK),
        (W_MANY, 0x05, [0xA1A1], OK),
        (R_HOLD, 0x2E, 5, OK),
    ],
    "alfen_eve": [  # alfen.go
        (R_HOLD, 1201, 5, OK),
        (R_HOLD, 1210, 2, OK),
        (W_MANY, 1210, [0x4180, 0x0000], OK),  # 16.0 A as one FC16 of both words
        (R_HOLD, 344, 2, OK),
        (R_HOLD, 374, 4, OK),
        (R_HOLD, 320, 6, OK),
        (R_HOLD, 306, 6, OK),
        (W_ONE, 1215, [3], OK),
        (R_HOLD, 1215, 1, OK),
    ],
    "phoenix_ev_eth": [  # phoenix-ev-eth.go, Phoenix OEM firmware
        (R_INPUT, 108, 2, OK),
        (R_COIL, 419, 1, OK),
        (R_HOLD, 528, 1, OK),
        (R_INPUT, 100, 1, OK),
        (R_COIL, 400, 1, OK),
        (W_COIL, 400, [1], OK),
        (W_ONE, 528, [16], OK),
        (R_INPUT, 120, 2, OK),
        (R_HOLD, 904, 2, OK),
        (R_INPUT, 114, 6, OK),
        (R_INPUT, 108, 6, OK),
        (R_HOLD, 606, 16, OK),
    ],
    "wallbe_eco": [  # phoenix-ev-eth.go, Wallbe firmware (528 >= 60)
        (R_HOLD, 528, 1, OK),
        (R_INPUT, 100, 1, OK),
        (W_COIL, 400, [1], OK),
        (W_ONE, 528, [160], OK),
        (R_INPUT, 120, 2, OK),
        (R_HOLD, 2980, 4, OK),
        (R_INPUT, 114, 6, OK),
    ],
    "phoenix_ev_ser": [  # phoenix-ev-ser.go
        (R_INPUT, 24000, 1, OK),
        (R_COIL, 20000, 1, OK),
        (W_COIL, 20000, [1], OK),
        (W_ONE, 22000, [16], OK),
    ],
}


def test_every_charger_map_has_evccs_requests():
    chargers = {m for m, kind in available_maps().items() if kind == "charger"}
    assert chargers == set(EVCC)


@pytest.mark.parametrize("map_id", sorted(EVCC))
def test_the_simulator_answers_evccs_requests_as_evcc_expects(map_id):
    sim = SimulatedCharger(load_map(map_id), SimulatedStation(clock=ManualClock()))
    for fc, address, arg, expected in EVCC[map_id]:
        values = arg if isinstance(arg, list) else None
        count = len(arg) if isinstance(arg, list) else arg
        answers = []
        for _ in range(sim.map.transport.repeat):  # ABL: twice, the second counts
            registers = [0] * 4096
            answers.append(
                sim.handle(
                    sim.unit,
                    function_code=fc,
                    start_address=address,
                    address=address,
                    count=count,
                    registers=registers,
                    set_values=values,
                )
            )
        assert answers[-1] == expected, (map_id, fc, address, arg)
    if "cp_state" in sim.words:  # and what evcc reads as the state decodes
        assert sim.map["cp_state"].decode(sim.words["cp_state"]) is not None
