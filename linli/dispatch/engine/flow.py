"""The exact solve on the graph: a min-cost flow network (slot -> member, or
slot -> gadget -> member, -> sink), solved by OR-tools' cost-scaling
push-relabel ``SimpleMinCostFlow.SolveMaxFlowWithMinCost``: maximum flow
first, then minimum cost, which is the lexicographic objective without a
``BIG`` arc.  Costs are rounded to integers at the finest resolution that
cannot overflow int64 (about 1e-9 of the largest cost at city sizes).
Identical slots of one order (every slot of an order, in practice) are
one *class* node for the solver, with one unit per slot and arcs of
capacity 1 to its members: the same rule as the gadgets, with a node
per order instead of a node per (order, member); gadgets remain only
between different classes of one order.  The graph gives every slot of
a class the same edges (:meth:`_Graph.symmetrize`) so the two views
agree; potentials and the certificate stay per slot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from linli.dispatch.engine.graph import _gadgets_of, _Graph, _unique_sorted
from linli.dispatch.engine.problem import _Problem


@dataclass
class _Solution:
    slot_member: np.ndarray  # member idx or -1
    edge_used: np.ndarray  # bool per graph edge
    edge_gadget: np.ndarray  # gadget number per graph edge or -1
    gadget_member: np.ndarray
    gadget_used: np.ndarray
    flow: np.ndarray  # slots given to each member
    n_arcs: int


class _ClassNetwork:
    """The flow network of the slots ``rows`` over edges (es, em) with costs
    ``ec`` and member capacities ``cap``, with one node per class of slots
    (see :meth:`_Problem._classes`): class -> member (capacity 1) -> sink,
    supplies at the classes (their number of slots among ``rows``).  When
    two classes of one order reach a member, their arcs pass a gadget node
    (order, member) of capacity 1 instead.  The edges must be the same for
    every slot of a class among ``rows`` (see :meth:`_Graph.symmetrize`).

    Nodes: classes ``0..C-1`` (``cls`` numbered locally), members
    ``C..C+M-1``, gadgets ``C+M..``, then ``sink``.  Arcs: one per (class,
    member) pair (``ac``, ``am``, ``acost``, sorted by class then member;
    into the gadget when ``arc_gadget >= 0``), then gadget -> member, then
    open member -> sink (``open_m``); ``tails``, ``heads``, ``caps``.
    """

    def __init__(
        self,
        prob: _Problem,
        rows: np.ndarray,
        es: np.ndarray,
        em: np.ndarray,
        ec: np.ndarray,
        cap: np.ndarray,
    ) -> None:
        M = prob.M
        self.rows = rows
        row_cls = prob.slot_class[rows]
        self.cls, self.local_of_row, self.supply = np.unique(
            row_cls, return_inverse=True, return_counts=True
        )
        C = self.C = len(self.cls)
        local = np.full(prob.n_classes, -1, dtype=np.int64)
        local[self.cls] = np.arange(C)
        keys, first = np.unique(local[prob.slot_class[es]] * M + em, return_index=True)
        self.ac, self.am, self.acost = keys // M, keys % M, ec[first]
        self.arc_gadget, self.gadget_member, _ = _gadgets_of(
            prob.class_order[self.cls[self.ac]] * M + self.am, M
        )
        G = len(self.gadget_member)
        self.sink = C + M + G
        self.open_m = np.flatnonzero(cap > 0)
        target = np.where(self.arc_gadget >= 0, C + M + self.arc_gadget, C + self.am)
        self.tails = np.concatenate([self.ac, C + M + np.arange(G), C + self.open_m])
        self.heads = np.concatenate(
            [target, C + self.gadget_member, np.full(len(self.open_m), self.sink)]
        )
        self.caps = np.concatenate(
            [np.ones(len(self.ac) + G, dtype=np.int64), cap[self.open_m].astype(np.int64)]
        )

    def members_of_rows(self, used: np.ndarray) -> np.ndarray:
        """Member per row (or -1) from the used (class, member) pairs
        ``used`` (sorted indices): each class hands its members to its
        rows in order."""
        member = np.full(len(self.rows), -1, dtype=np.int64)
        by_class = np.argsort(self.local_of_row, kind="stable")  # rows grouped by class
        start = np.zeros(self.C + 1, dtype=np.int64)
        np.cumsum(self.supply, out=start[1:])
        uc = self.ac[used]  # sorted by class (pairs are sorted by class * M + member)
        rank = np.arange(len(uc)) - np.searchsorted(uc, uc)
        member[by_class[start[uc] + rank]] = self.am[used]
        return member


# Costs go to the min-cost flow solver as integers: the largest one times
# (number of nodes + 2) stays below this, so neither the solver's internal
# scaling (it multiplies costs by the node count) nor a total cost overflows
# int64, and the rounding error per arc stays far below float64 noise for
# city-sized instances.
_COST_SPAN = 2.0**60


def _min_cost_assignment(net: _ClassNetwork) -> tuple[np.ndarray, int]:
    """Exact maximum-cardinality, then minimum-cost assignment of the slots
    ``net.rows`` on the network ``net``.  Returns (member per row or -1,
    number of arcs).

    Solved by OR-tools' cost-scaling push-relabel
    (``SolveMaxFlowWithMinCost``).  Costs are rounded to integers with the
    finest resolution that cannot overflow (``_COST_SPAN``).
    """
    n_pairs, sink = len(net.ac), net.sink
    # (a floor on the largest cost keeps the scale finite when every cost
    # is zero or denormal-tiny)
    top = max(float(np.abs(net.acost).max(initial=0.0)), 1e-9)
    scale = _COST_SPAN / ((sink + 2) * top)
    costs = np.zeros(len(net.tails), dtype=np.int64)
    costs[:n_pairs] = np.rint(net.acost * scale).astype(np.int64)
    flow = SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, net.caps, costs)
    supply = np.zeros(sink + 1, dtype=np.int64)
    supply[: net.C] = net.supply
    supply[sink] = -len(net.rows)
    flow.set_nodes_supplies(np.arange(sink + 1), supply)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow solver failed: {status}")
    used = np.flatnonzero(flow.flows(np.arange(n_pairs)) > 0)
    return net.members_of_rows(used), len(net.tails)


def _solve(prob: _Problem, graph: _Graph) -> _Solution:
    """Exact maximum-cardinality min-cost flow on the whole graph."""
    graph.symmetrize()
    rows = np.arange(prob.S)
    member, arcs = _min_cost_assignment(
        _ClassNetwork(prob, rows, graph.s, graph.m, graph.cost, prob.index.remaining)
    )
    return _solution_for(prob, graph, member, arcs)


def _solve_local(prob: _Problem, graph: _Graph, sol: _Solution, rows: np.ndarray) -> _Solution:
    """Re-optimise only the slots ``rows``, the others keeping their members
    (see :func:`_region`).  The result is optimal for the region only; the
    caller verifies it globally."""
    S, M = prob.S, prob.M
    graph.symmetrize()
    slot_member = sol.slot_member
    in_r = np.zeros(S, dtype=bool)
    in_r[rows] = True
    fixed = ~in_r & (slot_member >= 0)
    cap = prob.index.remaining - np.bincount(slot_member[fixed], minlength=M)
    # a fixed slot's member is taken for the other slots of its order
    taken = _unique_sorted(prob.slot_order[fixed] * M + slot_member[fixed])
    keys = prob.slot_order[graph.s] * M + graph.m
    pos = np.minimum(np.searchsorted(taken, keys), max(len(taken) - 1, 0))
    clash = taken[pos] == keys if len(taken) else np.zeros(len(keys), dtype=bool)
    use = in_r[graph.s] & (cap[graph.m] > 0) & ~clash
    member, arcs = _min_cost_assignment(
        _ClassNetwork(prob, rows, graph.s[use], graph.m[use], graph.cost[use], cap)
    )
    combined = slot_member.copy()
    combined[rows] = member
    return _solution_for(prob, graph, combined, arcs)


def _solution_for(
    prob: _Problem,
    graph: _Graph,
    slot_member: np.ndarray,
    n_arcs: int = 0,
) -> _Solution:
    """The flow of an assignment on ``graph`` (its edges must be in it)."""
    M = prob.M
    edge_gadget, gadget_member = graph.gadgets()
    assigned = slot_member >= 0
    edge_used = np.zeros(len(graph.keys), dtype=bool)
    if assigned.any():
        keys = np.flatnonzero(assigned) * M + slot_member[assigned]
        edge_used[np.searchsorted(graph.keys, keys)] = True
    gadget_used = np.zeros(len(gadget_member), dtype=bool)
    gadget_used[edge_gadget[edge_used & (edge_gadget >= 0)]] = True
    flow = np.bincount(slot_member[assigned], minlength=M)
    return _Solution(slot_member, edge_used, edge_gadget, gadget_member, gadget_used, flow, n_arcs)
