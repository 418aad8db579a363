"""Disable during a session, external ready, and the remaining commands."""

from controller.everest import (
    EnableDisableSource,
    EnableSource,
    EnableState,
    EnergyTransferMode,
    PlugAndChargeConfiguration,
    UpdateAllowedEnergyTransferModesResult,
)
from controller.kernel.machine import KernelConfig
from controller.kernel.states import State

from .conftest import make_rig


def vote(state, priority=10, source=EnableSource.LocalAPI):
    return EnableDisableSource(enable_source=source, enable_state=state, enable_priority=priority)


async def test_disable_during_session_keeps_transaction_and_resumes(rig):
    await rig.start_charging()
    rig.take_events()
    assert await rig.manager.enable_disable(0, vote(EnableState.Disable)) is False
    assert rig.take_events() == ["Disabled"]
    assert rig.manager.state is State.Disabled
    assert not rig.station.relays_on()
    assert rig.station.output.cp.value == "F"
    assert rig.manager.kernel.transaction is not None
    assert await rig.manager.enable_disable(0, vote(EnableState.Enable)) is True
    await rig.poll()
    assert rig.take_events() == ["Enabled", "PrepareCharging", "ChargingStarted"]


async def test_unplug_while_disabled_finishes_everything(rig):
    await rig.start_charging()
    await rig.manager.enable_disable(0, vote(EnableState.Disable))
    rig.take_events()
    rig.station.unplug()
    await rig.poll()
    assert rig.take_events() == ["ChargingFinished", "TransactionFinished", "SessionFinished"]
    assert rig.manager.state is State.Disabled


async def test_higher_priority_disable_wins(rig):
    assert await rig.manager.enable_disable(1, vote(EnableState.Disable, 5)) is False
    csms = vote(EnableState.Enable, 100, EnableSource.CSMS)
    assert await rig.manager.enable_disable(1, csms) is False
    service = vote(EnableState.Enable, 1, EnableSource.ServiceTechnician)
    assert await rig.manager.enable_disable(1, service) is True


async def test_external_ready(tmp_path):
    rig = await make_rig(tmp_path, KernelConfig(external_ready=True))
    try:
        # EvseManager.cpp ready(): without the signal there is no `ready` and no Enabled
        # yet; ready_to_start_charging publishes Enabled, then ready = true (never false).
        assert "ready" not in rig.manager.vars()
        assert rig.events() == []
        assert rig.manager.vars()["waiting_for_external_ready"] is True
        rig.station.plug_in()
        await rig.poll()
        assert rig.manager.state is State.Idle
        assert await rig.manager.external_ready_to_start_charging() is True
        assert rig.events()[0] == "Enabled"
        assert [u.value for u in rig.updates if u.var == "ready"] == [True]
        assert await rig.manager.external_ready_to_start_charging() is True
        assert rig.events().count("Enabled") == 1
        assert rig.manager.vars()["waiting_for_external_ready"] is False
        assert rig.manager.state is State.WaitingForAuthentication
    finally:
        await rig.manager.stop()
        rig.store.close()


async def test_external_ready_not_configured(rig):
    assert await rig.manager.external_ready_to_start_charging() is False


async def test_hlc_only_commands(rig):
    await rig.manager.set_plug_and_charge_configuration(
        PlugAndChargeConfiguration(pnc_enabled=True)
    )
    result = await rig.manager.update_allowed_energy_transfer_modes(
        [EnergyTransferMode.AC_three_phase_core]
    )
    assert result is UpdateAllowedEnergyTransferModesResult.NoHlc


async def test_get_evse(rig):
    evse = await rig.manager.get_evse()
    assert evse.to_json() == {"id": 1, "connectors": [{"id": 1, "type": "sType2"}]}


async def test_pause_resume_return_values(rig):
    """Charger.cpp pause_charging/resume_charging: true whenever a transaction is open."""
    assert await rig.manager.pause_charging() is False  # no transaction
    assert await rig.manager.resume_charging() is False
    await rig.start_charging()
    assert await rig.manager.resume_charging() is True  # not paused: nothing changes
    assert rig.manager.state is State.Charging
    rig.station.pause()
    await rig.poll()
    assert await rig.manager.resume_charging() is True  # an EV pause stays an EV pause
    assert rig.manager.state is State.ChargingPausedEV
    assert await rig.manager.pause_charging() is True
    assert await rig.manager.pause_charging() is True  # already paused
    assert rig.manager.state is State.ChargingPausedEV  # takes effect when the EV moves
    assert await rig.manager.resume_charging() is True
    assert rig.manager.state is State.ChargingPausedEV
