"""Tests for the pure dispatch engine (no Django needed).

The property tests compare :func:`assign` and :func:`dense_exact` with an
independent brute force (its own haversine, its own constraint checks) on
small random instances, with tiny candidate budgets so that the engine's
widening / certificate path is what has to deliver the optimum.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.dispatch.engine import (
    MemberArrays,
    MemberIndex,
    MemberSpec,
    Plan,
    Reason,
    SlotArrays,
    SlotSpec,
    Weights,
    assign,
    dense_exact,
    full_mask,
    greedy,
    masks_overlap,
    member_arrays,
    slot_arrays,
    suggest,
    weekly_mask,
    window_mask,
)
from linli.dispatch.engine.certificate import _Checker
from linli.dispatch.engine.flow import _solve
from linli.dispatch.engine.graph import _initial_graph
from linli.dispatch.engine.potentials import _potentials
from linli.dispatch.engine.problem import _Problem

LAT0, LON0 = 22.92, 110.99


def _bit(mask: np.ndarray, hour: int) -> bool:
    return bool(int(mask[hour // 64]) >> (hour % 64) & 1)


def _hours(mask: np.ndarray) -> list[int]:
    return [h for h in range(168) if _bit(mask, h)]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Independent haversine (math module, not the engine's numpy code)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


# ---------------------------------------------------------------------------
# Brute force reference
# ---------------------------------------------------------------------------


@dataclass
class Instance:
    slots: list[SlotSpec]
    members: list[MemberSpec]
    weights: Weights
    excluded: list[tuple[int, int]]

    @property
    def arrays(self) -> tuple[SlotArrays, MemberArrays]:
        return slot_arrays(self.slots), member_arrays(self.members)


def _pair_ok(inst: Instance, s: SlotSpec, m: MemberSpec) -> bool:
    if s.skill not in set(m.skills):
        return False
    if m.load >= m.cap:
        return False
    win = full_mask() if s.window is None else np.asarray(s.window, dtype=np.uint64)
    av = full_mask() if m.availability is None else np.asarray(m.availability, dtype=np.uint64)
    if not set(_hours(win)) & set(_hours(av)):
        return False
    if inst.weights.cross_community is None and s.community != m.community:
        return False
    return (s.order_id, m.id) not in set(inst.excluded)


def _pair_cost(inst: Instance, s: SlotSpec, m: MemberSpec) -> float:
    w = inst.weights
    rating = w.unrated_rating if m.rating is None else min(max(m.rating, 1.0), 5.0)
    cost = w.per_km * _km(s.lat, s.lon, m.lat, m.lon)
    cost += w.load * m.load + w.week_load * m.week_load + w.rating * (5.0 - rating)
    if s.community != m.community:
        cost += w.cross_community or 0.0
    return cost


def brute_force(inst: Instance) -> tuple[int, float]:
    """(max number of assigned slots, min cost among those), enumerated."""
    S, M = len(inst.slots), len(inst.members)
    options = []
    cost = np.zeros((S, M + 1))
    for i, s in enumerate(inst.slots):
        opts = [M]  # M = unassigned
        for j, m in enumerate(inst.members):
            if _pair_ok(inst, s, m):
                opts.append(j)
                cost[i, j] = _pair_cost(inst, s, m)
        options.append(opts)
    combos = np.array(list(itertools.product(*options)), dtype=np.int64).reshape(-1, S)
    ok = np.ones(len(combos), dtype=bool)
    for j, m in enumerate(inst.members):
        ok &= (combos == j).sum(axis=1) <= max(m.cap - m.load, 0)
    for a, b in itertools.combinations(range(S), 2):
        if inst.slots[a].order_id == inst.slots[b].order_id:
            ok &= (combos[:, a] != combos[:, b]) | (combos[:, a] == M)
    combos = combos[ok]
    count = (combos < M).sum(axis=1)
    total = cost[np.arange(S), combos].sum(axis=1)
    best = count.max()
    return int(best), float(total[count == best].min())


def check_plan(inst: Instance, plan: Plan) -> None:
    """Every hard constraint holds for the plan."""
    slots = {s.id: s for s in inst.slots}
    members = {m.id: m for m in inst.members}
    used: dict[int, int] = {}
    pairs: set[tuple[int, int]] = set()
    for a in plan.assignments:
        s, m = slots[a.slot_id], members[a.member_id]
        assert _pair_ok(inst, s, m), (a, s, m)
        assert (s.order_id, m.id) not in pairs, "same member twice on one order"
        pairs.add((s.order_id, m.id))
        used[m.id] = used.get(m.id, 0) + 1
        assert math.isclose(a.cost, _pair_cost(inst, s, m), rel_tol=1e-9, abs_tol=1e-9)
    for mid, n in used.items():
        assert n <= members[mid].cap - members[mid].load
    ids = [a.slot_id for a in plan.assignments] + [u.slot_id for u in plan.unassigned]
    assert sorted(ids) == sorted(slots)


# ---------------------------------------------------------------------------
# Random small instances
# ---------------------------------------------------------------------------

WINDOWS = [
    None,
    weekly_mask([(0, 9 * 60, 12 * 60)]),
    weekly_mask([(0, 11 * 60, 15 * 60), (2, 8 * 60, 10 * 60)]),
    weekly_mask([(6, 23 * 60, 1 * 60)]),  # Sunday night into Monday
    weekly_mask([(4, 18 * 60, 20 * 60)]),
]


@st.composite
def instances(draw: st.DrawFn, max_slots: int = 7, max_members: int = 5) -> Instance:
    n_members = draw(st.integers(1, max_members))
    members = []
    for j in range(n_members):
        cap = draw(st.integers(1, 3))
        members.append(
            MemberSpec(
                id=100 + j,
                lat=LAT0 + draw(st.floats(-0.05, 0.05)),
                lon=LON0 + draw(st.floats(-0.05, 0.05)),
                skills=draw(st.sets(st.integers(0, 2), min_size=1, max_size=3)),
                availability=draw(st.sampled_from(WINDOWS)),
                load=draw(st.integers(0, cap)),
                cap=cap,
                week_load=draw(st.integers(0, 4)),
                rating=draw(st.one_of(st.none(), st.floats(1.0, 5.0))),
                community=draw(st.integers(0, 1)),
            )
        )
    slots: list[SlotSpec] = []
    order = 0
    n_slots = draw(st.integers(1, max_slots))
    while len(slots) < n_slots:
        order += 1
        size = draw(st.integers(1, 2))
        lat = LAT0 + draw(st.floats(-0.05, 0.05))
        lon = LON0 + draw(st.floats(-0.05, 0.05))
        for _ in range(min(size, n_slots - len(slots))):
            # Slots of one order share the place; skill and window may differ.
            slots.append(
                SlotSpec(
                    id=len(slots) + 1,
                    order_id=order,
                    lat=lat,
                    lon=lon,
                    skill=draw(st.integers(0, 2)),
                    window=draw(st.sampled_from(WINDOWS)),
                    community=draw(st.integers(0, 1)),
                )
            )
    cross = draw(st.one_of(st.none(), st.floats(0.0, 3.0)))
    weights = Weights(
        per_km=draw(st.sampled_from([1.0, 0.5, 0.0])),
        load=draw(st.floats(0.0, 2.0)),
        week_load=draw(st.floats(0.0, 1.0)),
        rating=draw(st.floats(0.0, 2.0)),
        cross_community=cross,
    )
    excluded = draw(
        st.lists(
            st.tuples(st.integers(1, order), st.sampled_from([m.id for m in members])),
            max_size=3,
        )
    )
    return Instance(slots, members, weights, excluded)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(inst=instances(), tiny=st.booleans(), local=st.booleans())
def test_assign_matches_brute_force(inst: Instance, tiny: bool, local: bool) -> None:
    slots, members = inst.arrays
    # "tiny" budgets start from 1 candidate per slot: the certificate and the
    # widening rounds (regional re-solves or whole ones) find everything else.
    # They also park every edge the prices do not favour (prune=1e-9).
    budget: dict[str, Any] = (
        dict(k=1, rings=0, k_priced=0, k_add=1, slack=0.0, watch_max=1, bands=2, prune=1e-9)
        if tiny
        else {}
    )
    plan = assign(slots, members, inst.weights, excluded=inst.excluded, local=local, **budget)
    best_count, best_cost = brute_force(inst)
    check_plan(inst, plan)
    assert plan.n_assigned == best_count
    assert plan.total_cost == pytest.approx(best_cost, abs=1e-6)
    assert plan.stats["certified"]


@PROPERTY
@given(inst=instances())
def test_dense_exact_and_greedy(inst: Instance) -> None:
    slots, members = inst.arrays
    best_count, best_cost = brute_force(inst)
    exact = dense_exact(slots, members, inst.weights, excluded=inst.excluded)
    check_plan(inst, exact)
    assert exact.n_assigned == best_count
    assert exact.total_cost == pytest.approx(best_cost, abs=1e-6)
    base = greedy(slots, members, inst.weights, excluded=inst.excluded)
    check_plan(inst, base)
    assert base.n_assigned <= best_count


def _random_city(
    rng: np.random.Generator,
    n_slots: int,
    n_members: int,
    per_order: int = 2,
    identical: bool = False,
) -> tuple[SlotArrays, MemberArrays]:
    """Members and slots scattered over a few km.  The slots of an order
    differ in place, skill and window, or are ``identical`` copies (one
    class node for the solver)."""
    m_skills = [
        set(rng.choice(4, size=rng.integers(1, 3), replace=False).tolist())
        for _ in range(n_members)
    ]
    members = member_arrays(
        [
            MemberSpec(
                id=i + 1,
                lat=LAT0 + rng.uniform(-0.1, 0.1),
                lon=LON0 + rng.uniform(-0.1, 0.1),
                skills=m_skills[i],
                availability=WINDOWS[rng.integers(0, 3)],
                load=int(rng.integers(0, 2)),
                cap=int(rng.integers(1, 4)),
                week_load=int(rng.integers(0, 5)),
                rating=None if rng.random() < 0.3 else float(rng.uniform(2, 5)),
            )
            for i in range(n_members)
        ]
    )
    specs = [
        SlotSpec(
            id=i + 1,
            order_id=i // per_order + 1,  # orders of two slots by default
            lat=LAT0 + rng.uniform(-0.1, 0.1),
            lon=LON0 + rng.uniform(-0.1, 0.1),
            skill=int(rng.integers(0, 4)),
            window=WINDOWS[rng.integers(0, 3)],
        )
        for i in range(n_slots)
    ]
    if identical:
        specs = [dataclasses.replace(specs[i - i % per_order], id=i + 1) for i in range(n_slots)]
    return slot_arrays(specs), members


@pytest.mark.parametrize("local", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_assign_matches_dense_exact_on_medium_instances(seed: int, local: bool) -> None:
    rng = np.random.default_rng(seed)
    slots, members = _random_city(rng, 120, 60, identical=seed % 2 == 1)
    weights = Weights()
    excluded = [
        (int(o), int(m))
        for o, m in zip(rng.integers(1, 61, 20), rng.integers(1, 61, 20), strict=True)
    ]
    exact = dense_exact(slots, members, weights, excluded=excluded)
    budgets = (
        dict(k=2, rings=0),
        dict(k=1, rings=0, k_add=1, slack=0.0),
        dict(k=1, rings=0, watch_max=3, bands=3),
        dict(k=3, rings=0, k_add=2, prune=0.01),
    )
    parked = 0
    for budget in budgets:
        plan = assign(slots, members, weights, excluded=excluded, local=local, **budget)
        parked += plan.stats["parked"]
        assert plan.n_assigned == exact.n_assigned
        assert plan.total_cost == pytest.approx(exact.total_cost, abs=1e-6)
        if not local:
            assert plan.stats["local_rounds"] == 0
    # whole solves after the first proof hand the solver only the edges
    # the prices favour; the parked ones stay under the certificate
    assert parked > 0


def test_few_new_edges_are_re_solved_regionally_and_exact() -> None:
    """Rounds that add edges for a few slots re-solve only the region an
    improving cycle could reach.  The answer is the dense optimum, with
    orders of one slot, of different slots and of identical slots, and
    the proofs after them only re-check what changed."""
    for seed, per_order, identical in [(0, 1, False), (1, 2, False), (2, 2, True), (3, 3, True)]:
        rng = np.random.default_rng(seed)
        slots, members = _random_city(rng, 120, 60, per_order, identical)
        # as few candidates as an order has slots: most rounds widen a few
        plan = assign(slots, members, Weights(), k=per_order, rings=0, k_add=1, slack=0.0)
        exact = dense_exact(slots, members, Weights())
        assert plan.n_assigned == exact.n_assigned
        assert plan.total_cost == pytest.approx(exact.total_cost, abs=1e-6)
        assert plan.stats["local_rounds"] > 0
        assert plan.stats["incremental_checks"] > 0


@pytest.mark.parametrize("seed", range(6))
def test_incremental_proof_finds_what_a_whole_one_finds(seed: int) -> None:
    """A certificate run after an earlier one only re-checks slots whose
    potential changed (or that it left unproven) and members whose potential
    rose; it must flag exactly the slots that have a violating pair, the
    same as a fresh run over everything and a dense scan of all pairs."""
    rng = np.random.default_rng(seed)
    slots, members = _random_city(rng, 120, 60)
    prob = _Problem(slots, members, Weights(), (), None)
    graph, _ = _initial_graph(prob, 2, 0, 0, 1)
    big = prob.big()
    tol = 8e-12 * big
    knobs = dict(workers=1, watch_max=4, bands=3)
    incremental = _Checker(prob, graph, **knobs)
    # solve and widen until the certificate proves the optimum, as assign does
    while True:
        sol = _solve(prob, graph)
        pot = _potentials(prob, graph, sol, big, 1e-12 * big)
        assert pot is not None
        new_s, new_m, _, _ = incremental.run(graph, pot.slot, pot.member, tol, k_add=2)
        if not len(new_s):
            break
        graph.add(new_s, new_m)
    # new prices: a few slots' potentials fall, a few members' rise
    pi_s, pi_m = pot.slot.copy(), pot.member.copy()
    moved = rng.choice(prob.S, 8, replace=False)
    pi_s[moved] -= rng.uniform(0.1, 2.0, 8)
    pi_m[rng.choice(prob.M, 4, replace=False)] += rng.uniform(0.5, 2.0, 4)
    runs = incremental.incremental
    got = incremental.run(graph, pi_s, pi_m, tol, k_add=10**6)
    assert incremental.incremental == runs + 1
    whole = _Checker(prob, graph, **knobs).run(graph, pi_s, pi_m, tol, k_add=10**6)
    # every pair, densely
    ss, mm = np.divmod(np.arange(prob.S * prob.M), prob.M)
    ok = prob.feasible(ss, mm) & ~graph.contains(ss, mm)
    ss, mm = ss[ok], mm[ok]
    red = prob.cost(ss, mm)[0] + pi_s[ss] - pi_m[mm]
    truth = np.unique(ss[red < -tol])
    # the members whose potential rose made slots that did not move violate
    assert len(np.setdiff1d(truth, moved)) > 0
    assert np.array_equal(got[3], truth)
    assert np.array_equal(whole[3], truth)
    # every pair handed back does violate
    back = prob.cost(got[0], got[1])[0] + pi_s[got[0]] - pi_m[got[1]]
    assert (back < -tol).all()


def test_hot_spots_reprice_and_stay_exact() -> None:
    """Four hot spots of 60 slots each among 160 spread-out slots: the slots
    in a shortage get far members from the start, the first solve's prices
    bring every slot its cheapest members at those prices, and the result
    is still the dense optimum."""
    rng = np.random.default_rng(11)
    members = member_arrays(
        [
            MemberSpec(
                id=i + 1,
                lat=LAT0 + rng.uniform(-0.1, 0.1),
                lon=LON0 + rng.uniform(-0.1, 0.1),
                skills={0},
                load=int(rng.integers(0, 2)),
                cap=3,
                rating=float(rng.uniform(3, 5)),
            )
            for i in range(220)
        ]
    )
    centers = rng.uniform(-0.06, 0.06, (4, 2))
    spots = centers[rng.integers(0, 4, 240)] + rng.normal(0, 0.003, (240, 2))
    spread = rng.uniform(-0.1, 0.1, (160, 2))
    pts = np.vstack([spots, spread])
    slots = slot_arrays(
        [
            SlotSpec(id=i + 1, order_id=i + 1, lat=LAT0 + y, lon=LON0 + x, skill=0)
            for i, (x, y) in enumerate(pts.tolist())
        ]
    )
    exact = dense_exact(slots, members, Weights())
    plan = assign(slots, members, Weights())
    assert plan.stats["short_slots"] > 0
    assert plan.stats["repriced"] == 1
    assert plan.n_assigned == exact.n_assigned == 400
    assert plan.total_cost == pytest.approx(exact.total_cost, abs=1e-6)
    # Hot-spot slots with more members in reach than they may watch are
    # proven by bands of member prices instead; one band is the coarsest.
    for bands in (1, 4, 16):
        banded = assign(slots, members, Weights(), watch_max=8, bands=bands)
        assert banded.stats["banded_slots"] > 0
        assert banded.n_assigned == 400
        assert banded.total_cost == pytest.approx(exact.total_cost, abs=1e-6)


# ---------------------------------------------------------------------------
# The case k-nearest sparsity alone gets wrong
# ---------------------------------------------------------------------------


def test_clustered_hot_spot_is_fully_assigned() -> None:
    """30 slots in one spot, the 10 nearest members can take one slot each,
    the spare capacity is 4-6 km away: a k-nearest graph with small k would
    strand 20 slots.  The engine must still reach the maximum (30)."""
    rng = np.random.default_rng(7)
    near = [
        MemberSpec(
            id=i,
            lat=LAT0 + rng.normal(0, 0.001),
            lon=LON0 + rng.normal(0, 0.001),
            skills={0},
            cap=1,
        )
        for i in range(1, 11)
    ]
    far = []
    for i in range(11, 21):
        angle = rng.uniform(0, 2 * math.pi)
        r_km = rng.uniform(4, 6)
        far.append(
            MemberSpec(
                id=i,
                lat=LAT0 + r_km / 111.32 * math.sin(angle),
                lon=LON0 + r_km / 111.32 / math.cos(math.radians(LAT0)) * math.cos(angle),
                skills={0},
                cap=3,
            )
        )
    slots = slot_arrays(
        [
            SlotSpec(
                id=i,
                order_id=i,
                lat=LAT0 + rng.normal(0, 0.002),
                lon=LON0 + rng.normal(0, 0.002),
                skill=0,
            )
            for i in range(1, 31)
        ]
    )
    members = member_arrays(near + far)
    plan = assign(slots, members, Weights(), k=3, rings=0, k_priced=0)
    exact = dense_exact(slots, members, Weights())
    assert exact.n_assigned == 30
    assert plan.n_assigned == 30
    assert plan.total_cost == pytest.approx(exact.total_cost, abs=1e-6)
    assert plan.stats["widened_slots"] > 0  # it had to widen
    # ... and the greedy baseline, nearest first, is valid but worse.
    base = greedy(slots, members, Weights())
    assert base.n_assigned == 30
    assert base.total_cost >= plan.total_cost - 1e-9


def test_over_demand_leaves_the_right_number_unassigned() -> None:
    members = member_arrays([MemberSpec(id=1, lat=LAT0, lon=LON0, skills={0}, cap=2)])
    slots = slot_arrays(
        [SlotSpec(id=i, order_id=i, lat=LAT0 + 0.001 * i, lon=LON0, skill=0) for i in range(1, 6)]
    )
    plan = assign(slots, members, Weights())
    assert plan.n_assigned == 2
    # the two nearest slots win; the others are out of batch capacity
    assert sorted(a.slot_id for a in plan.assignments) == [1, 2]
    assert {u.reason for u in plan.unassigned} == {Reason.BATCH_CAPACITY}


@pytest.mark.parametrize("solver", [assign, greedy, dense_exact])
def test_empty_inputs(solver: object) -> None:
    slots = slot_arrays([SlotSpec(1, 1, LAT0, LON0, 0), SlotSpec(2, 1, LAT0, LON0, 1)])
    members = member_arrays([MemberSpec(id=1, lat=LAT0, lon=LON0, skills={0})])
    plan = solver(slots, member_arrays([]), Weights())  # type: ignore[operator]
    assert plan.n_assigned == 0 and {u.reason for u in plan.unassigned} == {Reason.NO_SKILL}
    plan = solver(slot_arrays([]), members, Weights())  # type: ignore[operator]
    assert plan.n_assigned == 0 and plan.unassigned == [] and plan.total_cost == 0.0
    plan = solver(slots, members, Weights())  # type: ignore[operator]
    assert [(a.slot_id, a.member_id) for a in plan.assignments] == [(1, 1)]


@pytest.mark.parametrize("rating", [0.0, 5e-324, 1e-300])
def test_zero_or_denormal_costs_still_solve(rating: float) -> None:
    """Every pair cost zero or denormal-tiny (distance weighted 0): the
    solver's integer costs must not overflow; every slot is assigned."""
    weights = Weights(per_km=0.0, load=0.0, week_load=0.0, rating=rating)
    members = member_arrays(
        [MemberSpec(id=i + 1, lat=LAT0, lon=LON0 + 0.01 * i, skills={0}, cap=1) for i in range(3)]
    )
    slots = slot_arrays(
        [SlotSpec(id=i + 1, order_id=i + 1, lat=LAT0, lon=LON0, skill=0) for i in range(3)]
    )
    plan = assign(slots, members, weights)
    assert plan.n_assigned == 3
    assert plan.total_cost == pytest.approx(0.0, abs=1e-6)


def test_member_index_can_be_reused() -> None:
    rng = np.random.default_rng(11)
    slots, members = _random_city(rng, 40, 30)
    weights = Weights()
    index = MemberIndex(members, weights)
    fresh = assign(slots, members, weights)
    cached = assign(slots, members, weights, index=index)
    assert cached.total_cost == pytest.approx(fresh.total_cost)
    first = suggest(0, slots, members, weights, index=index)
    again = suggest(0, slots, members, weights)
    assert [c.member_id for c in first.candidates] == [c.member_id for c in again.candidates]


def test_two_slots_of_one_order_never_share_a_member() -> None:
    members = member_arrays(
        [
            MemberSpec(id=1, lat=LAT0, lon=LON0, skills={0}, cap=3),
            MemberSpec(id=2, lat=LAT0 + 0.05, lon=LON0, skills={0}, cap=3),
        ]
    )
    slots = slot_arrays(
        [SlotSpec(id=i, order_id=7, lat=LAT0, lon=LON0, skill=0) for i in (1, 2, 3)]
    )
    plan = assign(slots, members, Weights())
    assert plan.n_assigned == 2
    assert sorted(a.member_id for a in plan.assignments) == [1, 2]
    # the three identical slots are one node for the solver
    assert plan.stats["classes"] == 1
    # already on the order -> excluded
    plan = assign(slots, members, Weights(), excluded=[(7, 1)])
    assert [a.member_id for a in plan.assignments] == [2]


def test_slots_of_one_order_that_differ_are_separate_classes() -> None:
    """Slots of one order with different skills are different classes; the
    member who has both skills still takes only one of them."""
    members = member_arrays(
        [
            MemberSpec(id=1, lat=LAT0, lon=LON0, skills={0, 1}, cap=3),
            MemberSpec(id=2, lat=LAT0 + 0.05, lon=LON0, skills={0, 1}, cap=3),
        ]
    )
    slots = slot_arrays(
        [
            SlotSpec(id=1, order_id=7, lat=LAT0, lon=LON0, skill=0),
            SlotSpec(id=2, order_id=7, lat=LAT0, lon=LON0, skill=1),
            SlotSpec(id=3, order_id=7, lat=LAT0, lon=LON0, skill=1),
            SlotSpec(id=4, order_id=8, lat=LAT0, lon=LON0, skill=1),
        ]
    )
    plan = assign(slots, members, Weights())
    assert plan.stats["classes"] == 3
    check = dense_exact(slots, members, Weights())
    assert plan.n_assigned == check.n_assigned == 3
    assert plan.total_cost == pytest.approx(check.total_cost, abs=1e-9)
    on_7 = [a.member_id for a in plan.assignments if a.slot_id in (1, 2, 3)]
    assert sorted(on_7) == [1, 2]


# ---------------------------------------------------------------------------
# Suggestions
# ---------------------------------------------------------------------------


def test_suggestions_are_exact_ordered_and_explained() -> None:
    rng = np.random.default_rng(3)
    slots, members = _random_city(rng, 10, 400)
    weights = Weights(cross_community=1.0)
    inst_members = members
    for s in range(len(slots)):
        sug = suggest(s, slots, inst_members, weights, k=5)
        assert len(sug.candidates) <= 5
        costs = [c.cost for c in sug.candidates]
        assert costs == sorted(costs)
        # brute force ranking over all members
        everyone = []
        for j in range(len(members)):
            bit = (int(members.skills[j]) >> int(slots.skill[s])) & 1
            free = members.load[j] < members.cap[j]
            avail = masks_overlap(slots.window[s], members.availability[j])
            if bit and free and avail:
                km = _km(slots.lat[s], slots.lon[s], members.lat[j], members.lon[j])
                rating = 4.0 if np.isnan(members.rating[j]) else members.rating[j]
                cost = km + 0.5 * members.load[j] + 0.2 * members.week_load[j] + (5 - rating)
                everyone.append(cost)
        assert costs == pytest.approx(sorted(everyone)[:5], abs=1e-9)
        for cand in sug.candidates:
            bd = cand.breakdown
            for key in (
                "distance_km",
                "load",
                "cap",
                "week_load",
                "rating",
                "cross_community",
                "cost_distance",
                "cost_load",
                "cost_week_load",
                "cost_rating",
                "cost_cross_community",
                "total",
            ):
                assert key in bd
            parts = bd["cost_distance"] + bd["cost_load"] + bd["cost_week_load"]
            parts += bd["cost_rating"] + bd["cost_cross_community"]
            assert parts == pytest.approx(cand.cost)
            assert bd["distance_km"] == pytest.approx(
                _km(
                    slots.lat[s],
                    slots.lon[s],
                    members.lat[cand.member_index],
                    members.lon[cand.member_index],
                )
            )


def test_suggest_accepts_a_spec_and_reports_breakdown_values() -> None:
    members = member_arrays(
        [
            MemberSpec(
                id=1, lat=LAT0, lon=LON0 + 0.01, skills={2}, load=1, cap=3, week_load=2, rating=4.5
            ),
            MemberSpec(id=2, lat=LAT0, lon=LON0 + 0.002, skills={2}, load=0, cap=1, rating=None),
        ]
    )
    spec = SlotSpec(id=9, order_id=1, lat=LAT0, lon=LON0, skill=2)
    sug = suggest(spec, None, members, Weights(), k=5)
    assert [c.member_id for c in sug.candidates] == [2, 1]
    first = sug.candidates[0].breakdown
    assert first["rating"] is None and first["rating_used"] == 4.0
    assert first["cost_rating"] == pytest.approx(1.0)
    second = sug.candidates[1].breakdown
    assert (second["load"], second["cap"], second["week_load"]) == (1, 3, 2)
    assert second["cost_load"] == pytest.approx(0.5) and second["cost_week_load"] == pytest.approx(
        0.4
    )
    assert sug.reason is None


@pytest.mark.parametrize(
    ("members", "slot", "weights", "excluded", "reason"),
    [
        # nobody has skill 3
        (
            [MemberSpec(id=1, lat=LAT0, lon=LON0, skills={0})],
            SlotSpec(1, 1, LAT0, LON0, 3),
            Weights(),
            [],
            Reason.NO_SKILL,
        ),
        # skill only across community lines, crossing forbidden
        (
            [MemberSpec(id=1, lat=LAT0, lon=LON0, skills={0}, community=2)],
            SlotSpec(1, 1, LAT0, LON0, 0, community=1),
            Weights(),
            [],
            Reason.OTHER_COMMUNITY,
        ),
        # the skilled people are all at their cap
        (
            [MemberSpec(id=1, lat=LAT0, lon=LON0, skills={0}, load=2, cap=2)],
            SlotSpec(1, 1, LAT0, LON0, 0),
            Weights(),
            [],
            Reason.ALL_AT_CAPACITY,
        ),
        # skill and capacity, but not free in the window
        (
            [
                MemberSpec(
                    id=1, lat=LAT0, lon=LON0, skills={0}, availability=weekly_mask([(0, 540, 600)])
                )
            ],
            SlotSpec(1, 1, LAT0, LON0, 0, window=weekly_mask([(3, 540, 600)])),
            Weights(),
            [],
            Reason.NONE_AVAILABLE,
        ),
        # the only candidate is already on this order
        (
            [MemberSpec(id=1, lat=LAT0, lon=LON0, skills={0})],
            SlotSpec(1, 5, LAT0, LON0, 0),
            Weights(),
            [(5, 1)],
            Reason.EXCLUDED,
        ),
    ],
)
def test_no_feasible_member_reasons(
    members: list[MemberSpec],
    slot: SlotSpec,
    weights: Weights,
    excluded: list[tuple[int, int]],
    reason: str,
) -> None:
    arrays = member_arrays(members)
    sug = suggest(slot, None, arrays, weights, excluded=excluded)
    assert sug.candidates == []
    assert sug.reason == reason
    plan = assign(slot_arrays([slot]), arrays, weights, excluded=excluded)
    assert plan.n_assigned == 0
    assert plan.unassigned[0].reason == reason


def test_cross_community_penalty_allows_crossing() -> None:
    members = member_arrays([MemberSpec(id=1, lat=LAT0, lon=LON0, skills={0}, community=2)])
    slot = SlotSpec(1, 1, LAT0, LON0, 0, community=1)
    sug = suggest(slot, None, members, Weights(cross_community=2.5))
    assert sug.candidates[0].breakdown["cross_community"] is True
    assert sug.candidates[0].breakdown["cost_cross_community"] == 2.5


# ---------------------------------------------------------------------------
# Hour-of-week masks
# ---------------------------------------------------------------------------


def test_weekly_mask_bits() -> None:
    assert _hours(weekly_mask([(0, 0, 60)])) == [0]
    assert _hours(weekly_mask([(0, 9 * 60 + 30, 12 * 60)])) == [9, 10, 11]
    assert _hours(weekly_mask([(2, 8 * 60, 8 * 60 + 1)])) == [2 * 24 + 8]
    # end 24:00 is allowed and stops at 23:00-24:00
    assert _hours(weekly_mask([(6, 23 * 60, 1440)])) == [167]
    # past midnight, Sunday wraps to Monday
    assert _hours(weekly_mask([(6, 22 * 60, 2 * 60)])) == [0, 1, 166, 167]
    assert _hours(weekly_mask([])) == []
    with pytest.raises(ValueError):
        weekly_mask([(7, 0, 60)])


def test_window_mask_edges() -> None:
    monday = dt.datetime(2024, 1, 1)  # a Monday
    assert _hours(window_mask(monday + dt.timedelta(hours=9), monday + dt.timedelta(hours=10))) == [
        9
    ]
    assert _hours(
        window_mask(
            monday + dt.timedelta(hours=9, minutes=30), monday + dt.timedelta(hours=10, minutes=1)
        )
    ) == [9, 10]
    # Sunday 23:00 -> Monday 01:00 crosses the week boundary
    sunday = monday + dt.timedelta(days=6, hours=23)
    assert _hours(window_mask(sunday, sunday + dt.timedelta(hours=2))) == [0, 167]
    # a week or longer sets every bit
    assert _hours(window_mask(monday, monday + dt.timedelta(days=7))) == list(range(168))
    assert _hours(window_mask(monday, monday + dt.timedelta(days=9))) == list(range(168))
    # just under a week from Wednesday noon wraps around but misses nothing it touches
    wed = monday + dt.timedelta(days=2, hours=12)
    assert (
        len(_hours(window_mask(wed, wed + dt.timedelta(days=7) - dt.timedelta(minutes=1)))) == 168
    )
    # zero length marks the hour containing the instant
    assert _hours(window_mask(monday + dt.timedelta(hours=5), monday + dt.timedelta(hours=5))) == [
        5
    ]
    with pytest.raises(ValueError):
        window_mask(monday + dt.timedelta(hours=2), monday)


def test_window_mask_reads_aware_datetimes_as_local_wall_clock() -> None:
    tz = dt.timezone(dt.timedelta(hours=8))  # China Standard Time
    start = dt.datetime(2024, 1, 1, 9, tzinfo=tz)
    assert _hours(window_mask(start, start + dt.timedelta(hours=2))) == [9, 10]
    # an end given in UTC is converted to the start's zone first
    end_utc = dt.datetime(2024, 1, 1, 3, tzinfo=dt.UTC)  # 11:00 +08:00
    assert _hours(window_mask(start, end_utc)) == [9, 10]


def test_full_mask_overlaps_everything_once() -> None:
    assert len(_hours(full_mask())) == 168
    assert masks_overlap(full_mask(), weekly_mask([(3, 60, 120)]))
    assert not masks_overlap(weekly_mask([(3, 60, 120)]), weekly_mask([(3, 120, 180)]))
