"""Exact batch assignment (:func:`assign`).

Objective, lexicographic and exact: assign the maximum possible number of
slots, and among those assignments minimise the total cost.

Model.  A min-cost flow network: source -> slot (capacity 1) -> member
(capacity 1, cost c_sm) -> sink (capacity ``cap - load``), plus an
"unassigned" arc slot -> sink with cost ``BIG``.  The within-batch rule "two
slots of one order never share a member" adds a gadget node g = (order o,
member m) of capacity 1 between the slots of o and m whenever two or more
slots of o could use m.  A network-flow constraint matrix is totally
unimodular, so the LP relaxation has integral optima and LP duality applies.
``BIG`` exceeds ``n_slots x (largest possible pair cost)``: an augmenting path
adds at most one real arc per slot, so a flow leaving an assignable slot on
its "unassigned" arc can always be improved.  Minimum cost therefore means
maximum cardinality first, then minimum cost.

Pipeline (the steps only change speed; the certificate makes the result
exact), each step in its module:

1. Candidates (:mod:`.graph`).
2. Exact solve on the graph (:mod:`.flow`).
3. Regional re-solves (:mod:`.region`).
4. Potentials (:mod:`.potentials`).
5. Certificate (:mod:`.certificate`).
6. Widening.  Violating pairs (per slot the ``k_add`` lowest reduced costs,
   nearly violating pairs of the same slots included) join the graph and
   steps 2-5 repeat.  When the first round moved many prices, every slot
   also gets its ``k_priced`` nearly cheapest members at those prices (a
   lifted 4-D k-d tree over ``(per_km * R_earth * xyz_m, h_m)``), so the
   second solve is nearly final.  The graph only grows and
   is finite, so this terminates (a slot that keeps failing gets all its
   feasible members at once, which bounds the rounds).  Before a whole-graph
   solve that follows a certificate pass, edges whose reduced cost at the
   last prices is far above a typical pair cost are *parked*: they leave
   the solver's graph (fewer arcs, a faster solve) and become watched
   pairs, so the certificate still checks them and brings back any that
   the new prices make attractive.  ``Plan.stats`` reports the counters.

Numerics: costs are float64 (the solver sees them rounded as in 2); reduced
costs are accepted down to about ``-1e-11 * BIG`` (micrometres for
city-sized instances).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from linli.dispatch.engine.certificate import _Checker
from linli.dispatch.engine.flow import _Solution, _solution_for, _solve, _solve_local
from linli.dispatch.engine.graph import _exhaust, _initial_graph, _priced_edges, _unique_sorted
from linli.dispatch.engine.model import MemberArrays, Plan, SlotArrays, Weights
from linli.dispatch.engine.potentials import _Potentials, _potentials
from linli.dispatch.engine.problem import MemberIndex, _build_plan, _Problem
from linli.dispatch.engine.region import _region

# A regional re-solve is only tried while it covers at most this share of the
# slots: beyond that a whole-graph solve is about as fast, and a failed
# regional attempt costs a solve and a bounded potentials pass for nothing
# (measured on the clustered benchmark: 0.8 helps single-slot orders by
# about as much as it hurts two-slot ones).
_REGION_CAP = 0.5


def assign(
    slots: SlotArrays,
    members: MemberArrays,
    weights: Weights | None = None,
    *,
    excluded: Iterable[tuple[int, int]] = (),
    k: int = 10,
    index: MemberIndex | None = None,
    reach: int = 128,
    rings: int = 8,
    k_priced: int = 8,
    k_add: int = 64,
    slack: float = 0.1,
    exhaust_after: int = 6,
    watch_max: int = 256,
    bands: int = 16,
    prune: float = 0.5,
    local: bool = True,
    workers: int = -1,
) -> Plan:
    """Exact batch assignment: maximum number of assigned slots, then minimum
    total cost (see the module docstring for the model and the proof).

    ``excluded`` holds (order_id, member_id) pairs already on orders (never
    proposed again).  Pass a cached :class:`MemberIndex` to reuse its trees.

    The tuning knobs only affect speed, never the result: ``k`` nearest
    candidates per slot; ``rings`` further ones out to the ``reach``
    nearest for slots in a local shortage (0 = none); ``k_priced`` cheapest
    members per slot at the first solve's prices when many slots are short
    (0 = none); ``k_add`` pairs added per slot and round (violating ones
    and, for the same slots, pairs with a reduced cost below ``slack`` times
    the median nearest-candidate cost); ``exhaust_after`` rounds before a
    slot gets all its feasible members; ``watch_max`` members per slot
    watched by radius, past which the certificate checks the slot by
    ``bands`` bands of member prices; ``prune`` (times the median
    nearest-candidate cost) the reduced cost above which edges are parked
    before a whole-graph solve (0 = never); ``local`` for the
    regional re-solves; ``workers`` for bulk k-d tree queries (-1 = all
    cores).

    ``Plan.stats`` holds ``rounds`` (whole-graph solves), ``local_rounds``
    (accepted regional re-solves), ``widened_slots``, ``exhausted_slots``,
    ``short_slots`` (in a local shortage), ``repriced`` (1 when priced
    edges were added after the first solve), ``initial_edges``, ``edges``,
    ``arcs`` (of the last solve), ``gadgets``, ``classes`` (solver nodes
    for the slots: identical slots of one order share one), ``banded_slots`` (slot
    checks by bands, over all rounds), ``incremental_checks`` (certificate
    passes that only re-checked what changed), ``parked`` (edges moved from the
    graph to the certificate), ``solve_s``, ``wall_s`` and
    ``certified`` (always True on return).
    """
    t0 = time.perf_counter()
    prob = _Problem(slots, members, weights, excluded, index)
    stats: dict[str, Any] = {
        "rounds": 0,
        "local_rounds": 0,
        "widened_slots": 0,
        "exhausted_slots": 0,
        "parked": 0,
    }
    if prob.S == 0:
        return _build_plan(prob, np.empty(0, dtype=np.int64), "engine", stats)
    big = prob.big()
    graph, n_short = _initial_graph(prob, max(1, k), reach if rings else 0, rings, workers)
    stats.update(initial_edges=len(graph.keys), short_slots=n_short, repriced=0)
    # "Nearly violating" is relative to what a typical nearest pair costs.
    nearest = np.full(prob.S, np.inf)
    if len(graph.keys):
        np.minimum.at(nearest, graph.s, graph.cost)
    nearest = nearest[np.isfinite(nearest)]
    typical = float(np.median(nearest)) if len(nearest) else 0.0
    near_slack = slack * typical
    checker = _Checker(prob, graph, workers, watch_max, bands)

    fails = np.zeros(prob.S, dtype=np.int64)
    t_solve = 0.0
    sol: _Solution | None = None
    pot: _Potentials | None = None
    last: _Potentials | None = None
    new_s = new_m = touched = np.empty(0, dtype=np.int64)
    gain = np.empty(0)  # minus the reduced costs of the edges just added
    few = max(20, prob.S // 20)
    arcs = 0  # of the last solve
    reprice = bool(k_priced) and n_short > few
    while True:
        t1 = time.perf_counter()
        if sol is not None and pot is not None and local and 0 < len(touched) <= few:
            # Few new edges: re-optimise only the region an improving cycle
            # through them could reach, and accept the result if potentials
            # settle on the whole graph within a few times the usual number
            # of rounds (settling proves optimality: valid potentials exclude
            # negative cycles).  Else try a wider region once, then solve all.
            last = pot
            pot = None
            for widen in (1.0, 4.0):
                rows = _region(
                    prob, graph, sol, last, big, new_s, new_m, widen * gain, _REGION_CAP * prob.S
                )
                rows = _unique_sorted(np.concatenate([rows, new_s]))
                if len(rows) > _REGION_CAP * prob.S:
                    break
                trial = _solve_local(prob, graph, sol, rows)
                pot = _potentials(
                    prob, graph, trial, big, 1e-12 * big, max(100, 2 * last.rounds), last
                )
                if pot is not None:
                    sol = trial
                    arcs = sol.n_arcs
                    stats["local_rounds"] += 1
                    break
                if len(rows) * 4 > _REGION_CAP * prob.S:
                    break  # a wider region would be too big anyway
        else:
            last = pot
            pot = None
        if pot is None:
            stats["rounds"] += 1
            if prune > 0 and last is not None and checker.rounds:
                # Edges far above the last prices will not be used: park them
                # with the certificate (smaller, faster solves), which puts
                # back any that the new prices make attractive.
                pi = last.carried(prob, graph)
                red = graph.cost + pi[graph.s] - pi[prob.S + graph.m]
                drop = red > prune * typical
                assert sol is not None
                drop[sol.edge_used] = False
                stats["parked"] += checker.park(graph, drop)
            sol = _solve(prob, graph)
            arcs = sol.n_arcs
            pot = _potentials(prob, graph, sol, big, 1e-12 * big)
        t_solve += time.perf_counter() - t1
        assert pot is not None and sol is not None
        if reprice:
            # Hot spots: the first solve's prices are rough; rather than prove
            # them wrong pair by pair, give every slot its cheapest members at
            # those prices and solve the whole graph again.
            reprice = False
            price = np.maximum(pot.sink - pot.member, 0.0)
            price[sol.flow < prob.index.remaining] = 0.0
            ps, pm = _priced_edges(prob, price, k_priced, workers)
            stats["repriced"] = 1
            if graph.add(ps, pm):
                sol = _solution_for(prob, graph, sol.slot_member)
                pot = None
                continue
        new_s, new_m, new_r, touched = checker.run(
            graph, pot.slot, pot.member, 8e-12 * big, k_add, near_slack
        )
        if not len(new_s):
            break
        gain = -new_r
        graph.add(new_s, new_m)
        fails[touched] += 1
        stats["widened_slots"] += len(touched)
        stuck = touched[fails[touched] >= exhaust_after]
        if len(stuck):
            _exhaust(prob, graph, stuck)
            checker.radius[stuck] = np.inf
            stats["exhausted_slots"] += len(stuck)
            fails[stuck] = -(10**9)  # never again: radius is now infinite
        # identical slots get the same edges (the class network needs it);
        # the flow must be re-expressed on the grown graph
        graph.symmetrize()
        sol = _solution_for(prob, graph, sol.slot_member)
    assert sol is not None
    stats.update(
        edges=len(graph.keys),
        arcs=arcs,
        gadgets=len(sol.gadget_member),
        classes=prob.n_classes,
        banded_slots=checker.banded,
        incremental_checks=checker.incremental,
        certified=True,
        solve_s=t_solve,
        wall_s=time.perf_counter() - t0,
    )
    return _build_plan(prob, sol.slot_member, "engine", stats)
