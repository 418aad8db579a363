"""The transition table itself."""

import pytest

from controller.errors import IllegalTransition
from controller.kernel.machine import ChargingKernel
from controller.kernel.states import State, Trigger
from controller.kernel.transitions import TRANSITIONS, next_state


def test_every_state_has_a_row_and_a_guard():
    assert set(TRANSITIONS) == set(State)
    for state in State:
        assert hasattr(ChargingKernel, f"_guard_{state.name}")


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


def test_charging_is_only_reached_from_prepare_charging():
    sources = {s for s, row in TRANSITIONS.items() if State.Charging in row.values()}
    assert sources == {State.PrepareCharging}
