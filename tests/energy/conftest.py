"""Connectors on in-memory hardware for energy-manager tests."""

import pytest

from controller.energy import Mode, SurplusController, SurplusSettings
from controller.energy.manager import ConnectorControl, GridReading
from tests.controller.conftest import make_rig


@pytest.fixture
async def rigs(tmp_path):
    made = []

    async def build(n=1):
        for i in range(n):
            path = tmp_path / f"c{i}"
            path.mkdir()
            made.append(await make_rig(path))
        return made

    try:
        yield build
    finally:
        for rig in made:
            await rig.manager.stop()
            rig.store.close()


def control(rig, **settings):
    return ConnectorControl(
        manager=rig.manager,
        surplus=SurplusController(SurplusSettings(enable_delay_s=0, **settings), Mode.PV),
    )


def house(rig_list, export_w):
    """Grid reading: the house exports ``export_w`` before the EVs draw."""
    ev = sum(r.station.power_W() for r in rig_list)
    return GridReading(power_W=ev - export_w)
