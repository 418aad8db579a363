"""The transition table itself."""

import pytest

from controller.errors import IllegalTransition
from controller.everest import EnableState
from controller.kernel.guards import GUARDS
from controller.kernel.states import State, Trigger
from controller.kernel.transitions import TRANSITIONS, next_state

from .conftest import limits
from .test_enable_disable import vote


def test_every_state_has_a_row_and_a_guard():
    assert set(TRANSITIONS) == set(State)
    assert set(GUARDS) == set(State)


def test_every_state_but_disabled_can_be_disabled():
    for state in State:
        if state is not State.Disabled:
            assert next_state(state, Trigger.DISABLE) is State.Disabled


def test_every_trigger_is_used():
    used = {trigger for row in TRANSITIONS.values() for trigger in row}
    assert used == set(Trigger)


def test_undefined_pair_is_illegal():
    with pytest.raises(IllegalTransition, match="no transition from Idle on finish"):
        next_state(State.Idle, Trigger.FINISH)


def test_session_end_and_announcement_stay_in_disabled_or_idle():
    """Withdrawn authorization, the restart clean-up and Enabled/ready run as internal
    transitions of the two states before a session's states, nowhere else."""
    for trigger in (Trigger.END_SESSION, Trigger.ANNOUNCE):
        rows = {state for state, row in TRANSITIONS.items() if trigger in row}
        assert rows == {State.Disabled, State.Idle}
        assert all(next_state(state, trigger) is state for state in rows)


def test_charging_is_only_reached_from_prepare_charging():
    sources = {s for s, row in TRANSITIONS.items() if State.Charging in row.values()}
    assert sources == {State.PrepareCharging}


def _snapshot(obj, depth=3):
    """The object's attributes, containers copied, the kernel's parts (and theirs) down."""
    out = {}
    for name, value in vars(obj).items():
        if isinstance(value, dict | list | set):
            out[name] = type(value)(value)
        elif depth and type(value).__module__.startswith("controller.kernel"):
            out[name] = _snapshot(value, depth - 1)
        else:
            out[name] = value
    return out


@pytest.fixture
def pure_guards(rig):
    """Every guard call in the test is checked: it changes nothing and returns a trigger."""
    kernel = rig.manager.kernel
    guard = kernel._guard
    calls = []

    def checked():
        before = _snapshot(kernel)
        trigger = guard()
        assert _snapshot(kernel) == before, f"the guard of {kernel.state} changed the facts"
        calls.append(trigger)
        return trigger

    kernel._guard = checked
    return calls


async def test_guards_only_read_the_facts(rig, pure_guards):
    """Through a session with an EV pause, an EVSE pause, the wake-up, a phase switch, an
    error, and a disable with the unplug while disabled: no guard changes anything."""
    await rig.start_charging()
    rig.station.pause()
    await rig.advance(3)
    rig.station.resume()
    await rig.advance(3)
    await rig.manager.pause_charging()
    await rig.advance(3)
    await rig.manager.set_enforced_limits(limits(amps=4.0))
    await rig.advance(2)
    await rig.manager.resume_charging()
    await rig.manager.set_enforced_limits(limits(amps=16.0))
    await rig.advance(10)
    assert rig.manager.state is State.Charging
    await rig.manager.set_enforced_limits(limits(amps=16.0, phases=1))
    await rig.advance(20)
    rig.station.inject_error("ac_rcd/DC")
    await rig.advance(2)
    rig.station.clear_errors()
    await rig.advance(2)
    await rig.manager.enable_disable(1, vote(EnableState.Disable))
    rig.station.unplug()
    await rig.advance(2)
    await rig.manager.enable_disable(1, vote(EnableState.Enable))
    rig.station.plug_in()
    await rig.authorize()
    await rig.advance(50)  # no EV response: wake-up, then ChargingPausedEV
    assert rig.manager.state is State.ChargingPausedEV
    assert {t for t in pure_guards if t is not None} >= {
        Trigger.UNPLUG,
        Trigger.START_METER_TRANSACTION,
        Trigger.WAKEUP_STEP,
        Trigger.PAUSE_REASONS_CHANGED,
        Trigger.SWITCH_PHASES,
        Trigger.PHASES_SWITCHED,
    }
