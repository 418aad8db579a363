"""Site load sharing: never over the fuse on any phase, fair, pauses rather than starves."""

import itertools
import random

from controller.energy.site import Demand, share

THREE = (1, 2, 3)


def load(demands, allocation, household):
    return [
        household[p - 1] + sum(allocation[d.name] for d in demands if p in d.phases) for p in THREE
    ]


def test_one_connector_gets_what_is_left_after_the_household():
    demands = [Demand(name="a", phases=THREE, min_A=6, max_A=32)]
    assert share(25, [10, 5, 8], demands) == {"a": 15}


def test_two_connectors_share_equally():
    demands = [Demand(name=n, phases=THREE, min_A=6, max_A=16) for n in "ab"]
    assert share(25, [5, 5, 5], demands) == {"a": 10, "b": 10}


def test_a_modest_connector_leaves_the_rest_to_the_other():
    demands = [
        Demand(name="a", phases=THREE, min_A=6, max_A=7),
        Demand(name="b", phases=THREE, min_A=6, max_A=32),
    ]
    assert share(25, [0, 0, 0], demands) == {"a": 7, "b": 18}


def test_single_phase_connector_on_a_loaded_phase():
    demands = [
        Demand(name="one", phases=(2,), min_A=6, max_A=16),
        Demand(name="three", phases=THREE, min_A=6, max_A=16),
    ]
    allocation = share(20, [0, 8, 0], demands)
    assert allocation == {"one": 6, "three": 6}
    assert max(load(demands, allocation, [0, 8, 0])) <= 20


def test_lowest_priority_is_paused_when_minimums_do_not_fit():
    demands = [Demand(name=n, phases=THREE, min_A=6, max_A=16) for n in "abc"]
    assert share(16, [0, 0, 0], demands) == {"a": 8, "b": 8, "c": 0}


def test_nothing_fits_when_the_household_takes_the_fuse():
    demands = [Demand(name="a", phases=THREE, min_A=6, max_A=16)]
    assert share(25, [22, 3, 3], demands) == {"a": 0}


def test_connectors_that_want_nothing_get_nothing():
    demands = [
        Demand(name="idle", phases=THREE, min_A=6, max_A=0),
        Demand(name="busy", phases=THREE, min_A=6, max_A=32),
    ]
    assert share(32, [0, 0, 0], demands) == {"idle": 0, "busy": 32}


def test_random_sites_never_exceed_the_fuse_and_respect_minimums():
    rng = random.Random(7)
    for _ in range(500):
        household = [rng.uniform(0, 30) for _ in THREE]
        demands = []
        for i in range(rng.randint(1, 5)):
            phases = rng.choice([THREE, (1,), (2,), (3,)])
            demands.append(
                Demand(name=f"c{i}", phases=phases, min_A=6, max_A=rng.choice([0, 10, 16, 32]))
            )
        fuse = rng.choice([25, 32, 35, 63])
        allocation = share(fuse, household, demands)
        for p, total in zip(THREE, load(demands, allocation, household), strict=True):
            ev = sum(allocation[d.name] for d in demands if p in d.phases)
            assert ev <= max(0.0, fuse - household[p - 1]) + 1e-6
            assert total <= max(fuse, household[p - 1]) + 1e-6
        for d in demands:
            got = allocation[d.name]
            assert got == 0 or d.min_A - 1e-9 <= got <= d.max_A + 1e-9


def test_equal_demands_get_equal_shares_in_any_order():
    demands = [Demand(name=n, phases=THREE, min_A=6, max_A=16) for n in "abcd"]
    for order in itertools.permutations(demands):
        allocation = share(40, [0, 0, 0], list(order))
        assert set(allocation.values()) == {10}
