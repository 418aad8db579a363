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
    "schneider_evlink_pro_ac": [  # schneider-v3.go
        (R_HOLD, 4004, 1, OK),  # NewSchneiderV3: initial current
        (R_HOLD, 4000, 1, OK),  # NewSchneiderV3: life bit (2 = no heartbeat)
        (W_ONE, 4000, [1], OK),  # heartbeat
        (R_HOLD, 1, 1, OK),  # Status
        (W_ONE, 4004, [16], OK),  # MaxCurrent
        (W_ONE, 4004, [0], OK),  # Enable(false)
        (R_HOLD, 4004, 1, OK),  # Enabled
        (R_HOLD, 3059, 2, OK),  # CurrentPower
        (R_HOLD, 3203, 4, OK),  # TotalEnergy
        (R_HOLD, 2999, 6, OK),  # Currents
        (R_HOLD, 3027, 6, OK),  # Voltages
        (R_HOLD, 4009, 2, OK),  # ChargeDuration
        *[(R_HOLD, a, 1, OK) for a in (150, 1150, 4001, 4011)],  # Diagnose
        (R_HOLD, 4002, 2, OK),  # Diagnose: command status
    ],
    "peblar": [  # peblar.go
        (R_INPUT, 30092, 1, OK),  # NewPeblar: connected phases
        (R_INPUT, 30093, 1, OK),  # NewPeblar: independent relays
        (R_INPUT, 30110, 1, OK),  # Status
        (W_MANY, 40000, [0, 16000], OK),  # MaxCurrentMillis(16)
        (W_MANY, 40000, [0, 0], OK),  # Enable(false)
        (R_INPUT, 30014, 2, OK),  # CurrentPower
        (R_INPUT, 30000, 4, OK),  # TotalEnergy
        (R_INPUT, 30022, 6, OK),  # Currents (3 phases)
        (R_INPUT, 30016, 6, OK),  # Voltages
        (W_ONE, 40002, [1], OK),  # phases1p3p(1)
        (R_HOLD, 40002, 1, OK),  # getPhases
        *[(R_INPUT, a, 12, OK) for a in (30050, 30062, 30074)],  # Diagnose
    ],
    "openwb_series2": [  # openwb-2.0.go
        (R_INPUT, 10115, 1, OK),  # Status: charging
        (R_INPUT, 10114, 1, OK),  # Status: plugged
        (W_ONE, 10171, [1600], OK),  # MaxCurrentMillis(16)
        (W_ONE, 10171, [0], OK),  # Enable(false)
        (R_INPUT, 10100, 2, OK),  # CurrentPower
        (R_INPUT, 10102, 2, OK),  # TotalEnergy
        (R_INPUT, 10107, 3, OK),  # Currents
        (R_INPUT, 10104, 3, OK),  # Voltages
        (W_ONE, 10180, [1], OK),  # phases1p3p: target
        (W_ONE, 10181, [1], OK),  # phases1p3p: trigger
        (W_ONE, 10198, [1], OK),  # WakeUp
        (R_INPUT, 10160, 10, OK),  # identify
    ],
    "vestel_evc04": [  # vestel.go
        (R_INPUT, 404, 1, OK),  # NewVestel: number of phases
        (R_INPUT, 230, 50, OK),  # NewVestel: firmware
        (R_HOLD, 2002, 1, OK),  # NewVestel: failsafe timeout
        (W_ONE, 6000, [1], OK),  # heartbeat
        (R_INPUT, 1004, 1, OK),  # Status: cable
        (R_INPUT, 1001, 1, OK),  # Status: charging
        (W_ONE, 5004, [16], OK),  # MaxCurrent
        (W_ONE, 5004, [0], OK),  # Enable(false)
        (R_HOLD, 5004, 1, OK),  # GetMaxCurrent
        (R_INPUT, 1508, 2, OK),  # ChargeDuration
        (R_INPUT, 1020, 2, OK),  # CurrentPower
        (R_INPUT, 1036, 2, OK),  # TotalEnergy
        (R_INPUT, 1502, 2, OK),  # ChargedEnergy
        *[(R_INPUT, a, 1, OK) for a in (1008, 1010, 1012, 1014, 1016, 1018)],  # getPhaseValues
        (W_ONE, 405, [1], OK),  # phases1p3p(3)
        (R_HOLD, 405, 1, OK),  # getPhases
        (R_INPUT, 1516, 15, OK),  # identify
        (R_INPUT, 190, 10, OK),  # Diagnose: brand
        (R_INPUT, 210, 5, OK),  # Diagnose: model
        (R_INPUT, 100, 25, OK),  # Diagnose: serial
    ],
    "abb_terra_ac": [  # abb.go
        (R_HOLD, 0x400C, 2, OK),  # status (also the 30 s keep-alive)
        (R_HOLD, 0x400A, 2, OK),  # Status in state 5: socket lock
        (R_HOLD, 0x400E, 2, OK),  # Enabled
        (W_MANY, 0x4100, [0, 16000], OK),  # MaxCurrentMillis(16)
        (W_MANY, 0x4100, [0, 0], OK),  # Enable(false)
        (R_HOLD, 0x401C, 2, OK),  # CurrentPower
        (R_HOLD, 0x401E, 2, OK),  # ChargedEnergy
        (R_HOLD, 0x4010, 6, OK),  # Currents
        (R_HOLD, 0x4016, 6, OK),  # Voltages
        (R_HOLD, 0x4000, 4, OK),  # Diagnose: serial
        *[(R_HOLD, a, 2, OK) for a in (0x4004, 0x4006, 0x4008)],  # Diagnose
    ],
    "keba_p30": [  # keba-modbus.go, a P30 (6-digit product code)
        (R_HOLD, 1016, 2, OK),  # NewKebaFromConfig: product code
        (R_HOLD, 1550, 2, OK),  # phase switch source (not 3: no phase switching)
        (R_HOLD, 1602, 2, OK),  # failsafe timeout
        (W_ONE, 5018, [30], OK),  # heartbeat: the timeout read
        (R_HOLD, 1004, 2, OK),  # isConnected
        (R_HOLD, 1000, 2, OK),  # getChargingState
        (W_ONE, 5004, [16000], OK),  # MaxCurrentMillis(16)
        (W_ONE, 5014, [1], OK),  # Enable(true)
        (W_ONE, 5014, [0], OK),  # Enable(false)
        (R_HOLD, 1020, 2, OK),  # currentPower
        (R_HOLD, 1036, 2, OK),  # totalEnergy
        *[(R_HOLD, a, 2, OK) for a in (1008, 1010, 1012)],  # currents, one phase each
        (R_HOLD, 1500, 2, OK),  # identify
        *[(R_HOLD, a, 2, OK) for a in (1014, 1018, 1552)],  # Diagnose
    ],
    "keba_p40": [  # keba-modbus.go, a P40 (7-digit product code)
        (R_HOLD, 1016, 2, OK),  # NewKebaFromConfig: product code
        (R_HOLD, 1018, 2, OK),  # P40: firmware (energy factor)
        (R_HOLD, 1550, 2, OK),
        (R_HOLD, 1602, 2, OK),
        (W_ONE, 5018, [30], OK),  # heartbeat
        (R_HOLD, 1004, 2, OK),
        (R_HOLD, 1000, 2, OK),
        (R_HOLD, 5004, 1, OK),  # Enabled (P40: the current register)
        (W_ONE, 5004, [16000], OK),  # MaxCurrentMillis(16)
        (W_ONE, 5004, [0], OK),  # Enable(false)
        (R_HOLD, 1020, 2, OK),
        (R_HOLD, 1036, 2, OK),
        *[(R_HOLD, a, 2, OK) for a in (1008, 1010, 1012)],
    ],
    "mennekes_amtron_compact": [  # mennekes-compact.go
        (R_HOLD, 0x030C, 1, OK),  # NewMennekesCompact: phase options
        (W_ONE, 0x0D00, [0x55AA], OK),  # heartbeat
        (R_HOLD, 0x0100, 1, OK),  # Status
        (W_MANY, 0x0302, [0, 0], OK),  # Status in state 6: 0 A ...
        (W_ONE, 0x0D05, [1], OK),  # ... and release
        (R_HOLD, 0x0D05, 1, OK),  # Enabled
        (W_ONE, 0x0D05, [0], OK),  # Enable(false)
        (W_MANY, 0x0302, [0x4180, 0x0000], OK),  # MaxCurrentMillis(16.0)
        (R_HOLD, 0x0512, 2, OK),  # CurrentPower
        (R_HOLD, 0x1000, 2, OK),  # TotalEnergy
        (R_HOLD, 0x0500, 6, OK),  # Currents
        (R_HOLD, 0x0506, 6, OK),  # Voltages
        (R_HOLD, 0x0000, 1, OK),  # Diagnose: Modbus version
        (R_HOLD, 0x0001, 8, OK),  # Diagnose: firmware
        (R_HOLD, 0x0013, 8, OK),  # Diagnose: serial
    ],
    "victron_evcs": [  # victron.go, victronEVCS
        (R_HOLD, 5009, 1, OK),  # NewVictron: mode
        (R_HOLD, 5100, 1, OK),  # NewVictron: three phase enabled
        (R_HOLD, 5015, 1, OK),  # Status
        (R_HOLD, 5010, 1, OK),  # Enabled
        (W_ONE, 5010, [1], OK),  # Enable(true)
        (W_ONE, 5010, [0], OK),  # Enable(false)
        (W_ONE, 5016, [16], OK),  # MaxCurrent
        (R_HOLD, 5014, 1, OK),  # CurrentPower
        (R_HOLD, 5021, 1, OK),  # ChargedEnergy
        (W_ONE, 5055, [1], OK),  # phases1p3p(1)
        (R_HOLD, 5055, 1, OK),  # getPhases
    ],
    "cfos_power_brain": [  # cfos.go
        (R_HOLD, 8112, 1, OK),  # NewCfosPowerBrain: meter present
        (R_HOLD, 8057, 1, OK),  # meter flags
        (R_HOLD, 8113, 1, OK),  # solar flags (phase switching)
        (R_HOLD, 8092, 1, OK),  # Status
        (R_HOLD, 8094, 1, OK),  # Enabled
        (W_ONE, 8094, [1], OK),  # Enable(true)
        (W_ONE, 8094, [0], OK),  # Enable(false)
        (W_ONE, 8093, [160], OK),  # MaxCurrentMillis(16)
        (R_HOLD, 8062, 2, OK),  # currentPower
        (R_HOLD, 8058, 4, OK),  # totalEnergy
        (R_HOLD, 8064, 6, OK),  # currents
        (W_ONE, 8087, [1], OK),  # phases1p3p(1)
        (W_ONE, 8086, [5], OK),  # WakeUp
        (R_HOLD, 8096, 15, OK),  # Identify
    ],
    "mennekes_amtron_hcc3": [  # mennekes-hcc3.go
        (R_INPUT, 0x0302, 1, OK),  # Status
        (R_HOLD, 0x0400, 1, OK),  # Enabled
        (W_ONE, 0x0400, [16], OK),  # MaxCurrent
        (W_ONE, 0x0400, [0], OK),  # Enable(false)
        (W_ONE, 0x0400, [6], OK),  # Enable(true): the last current, 6 A at start
        (R_INPUT, 0x030F, 2, OK),  # CurrentPower
        (R_INPUT, 0x030D, 2, OK),  # ChargedEnergy
        (R_INPUT, 0x0311, 11, OK),  # Diagnose: name
        (R_INPUT, 0x0308, 1, OK),  # Diagnose: phases
        (R_INPUT, 0x030B, 2, OK),  # Diagnose: serial
    ],
    "compleo": [  # compleo.go, connector 1
        (R_INPUT, 0x0008, 1, OK),  # NewCompleo: connectors
        (R_HOLD, 0x0005, 1, OK),  # NewCompleo: fallback timeout
        (R_INPUT, 0x0101, 1, OK),  # Status (also the heartbeat)
        (R_HOLD, 0x0100, 1, OK),  # Enabled
        (W_ONE, 0x0100, [41], OK),  # Enable(true) at the assumed minimum 3 x 230 V x 6 A
        (W_ONE, 0x0100, [110], OK),  # MaxCurrentMillis(16) on 3 phases: 11040 W / 100
        (W_ONE, 0x0100, [0], OK),  # Enable(false)
        (R_INPUT, 0x0102, 1, OK),  # CurrentPower
        (R_INPUT, 0x0108, 1, OK),  # ChargedEnergy
        (R_INPUT, 0x0103, 3, OK),  # Currents
        (R_INPUT, 0x010D, 3, OK),  # Voltages
        (R_INPUT, 0x0106, 2, OK),  # ChargeDuration
        (R_INPUT, 0x1000, 10, OK),  # Identify
    ],
    "innogy_ebox": [  # innogy.go
        (R_INPUT, 175, 1, OK),  # NewInnogyFromConfig: table version
        (R_INPUT, 275, 2, OK),  # Status
        (R_HOLD, 1012, 2, OK),  # Enabled
        *[(W_MANY, a, [0x4180, 0], OK) for a in (1012, 1014, 1016)],  # MaxCurrentMillis(16)
        *[(W_MANY, a, [0, 0], OK) for a in (1012, 1014, 1016)],  # Enable(false)
        (R_INPUT, 1006, 6, OK),  # Currents
        (R_INPUT, 301, 6, OK),  # voltages
        (R_INPUT, 307, 2, OK),  # totalEnergy
        *[(R_INPUT, a, 25, OK) for a in (100, 0, 25, 50, 200)],  # Diagnose
    ],
    "etrel_inch": [  # etrel.go, connector 1
        (R_INPUT, 0, 1, OK),  # Status
        (R_INPUT, 4, 2, OK),  # Enabled: target current
        (W_MANY, 8, [0x4180, 0], OK),  # MaxCurrentMillis(16)
        (W_MANY, 8, [0, 0], OK),  # Enable(false)
        (W_MANY, 8, [0x40C0, 0], OK),  # Enable(true): the last current, 6 A at start
        (R_INPUT, 26, 2, OK),  # CurrentPower
        (R_INPUT, 14, 6, OK),  # Currents
        (R_INPUT, 1000, 10, OK),  # Diagnose: model
        (R_INPUT, 990, 10, OK),  # Diagnose: serial
        (R_INPUT, 1010, 5, OK),  # Diagnose: hardware
        (R_INPUT, 1015, 5, OK),  # Diagnose: software
    ],
    "delta_ac_max": [  # delta.go, connector 1
        (R_INPUT, 1001, 1, OK),  # NewDelta: native state present
        (R_HOLD, 201, 1, OK),  # NewDelta: timeout enabled
        (R_HOLD, 202, 1, OK),  # NewDelta: timeout
        (R_INPUT, 1001, 1, OK),  # statusDelta
        (R_HOLD, 1600, 2, OK),  # Enabled
        (W_MANY, 1600, [0, 11040], OK),  # MaxCurrentMillis(16) on 3 phases
        (W_MANY, 1600, [0, 0], OK),  # Enable(false), also the heartbeat
        (R_INPUT, 1005, 2, OK),  # CurrentPower
        (R_INPUT, 1100, 20, OK),  # Identify
        (R_INPUT, 100, 1, OK),  # Diagnose: state
        (R_INPUT, 102, 1, OK),  # Diagnose: EVSE count
        (R_INPUT, 110, 20, OK),  # Diagnose: serial
        (R_INPUT, 130, 20, OK),  # Diagnose: model
        (R_HOLD, 203, 2, OK),  # Diagnose: fallback power
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
