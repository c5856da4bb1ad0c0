"""Repairs.  When a round adds edges for at most a fifth of the slots, the
flow at hand is repaired instead of solved again (:func:`_repair`, the C
extension ``_repair.c``), on the solver's network of classes: each
class with a new negative arc rises until no arc leaving it is
negative and takes back the units whose way back that makes negative,
which leaves every reduced cost >= 0; successive shortest paths
(Dijkstra on reduced costs, one waiting unit at a time) then send those
units where they are cheapest and keep the potentials valid, so the
result is optimal on the grown graph and comes with its own potentials
(no potentials pass).  The result is checked (every slot's unit sent,
capacities, no negative reduced cost, on the class network and again on
the per-slot one) before it is used; a repair that would take too long
gives up and the graph is solved as below.  Without the extension (no
C compiler at install time) the engine solves every round as below.
"""

from __future__ import annotations

import numpy as np

from linli.dispatch.engine.flow import _ClassNetwork, _Solution, _solution_for
from linli.dispatch.engine.graph import _Graph
from linli.dispatch.engine.potentials import _Potentials, _residual
from linli.dispatch.engine.problem import _Problem

try:  # the flow repair in C (optional: without it, whole re-solves instead)
    from linli.dispatch import _repair as _repair_ext
except ImportError:  # pragma: no cover - built without a C compiler
    _repair_ext = None


def _repair(
    prob: _Problem,
    graph: _Graph,
    sol: _Solution,
    pot: _Potentials,
    big: float,
    tol: float,
    work: float,
) -> tuple[_Solution, _Potentials] | None:
    """The optimal flow on ``graph`` (and potentials proving it), from
    ``sol``, which was optimal before edges joined the graph, and that
    graph's potentials ``pot``; None when the C extension is missing or the
    repair gave up after ``work`` node visits per arc (about what a whole
    solve costs): the caller solves instead.

    The repair works on the solver's network (:class:`_ClassNetwork`, plus
    an "unassigned" arc of cost ``big`` per class), where identical slots
    of an order are one node: per slot, they would swap members at no
    cost and the shortest paths would wander through those ties.  A class
    takes the highest potential of its slots (they are equal, as the
    slots are interchangeable, except between unassigned slots).

    Only the new arcs can have a negative reduced cost, and they all leave
    classes.  Raising such a class's potential until no arc leaving it is
    negative, and taking back the units whose way back that makes
    negative, leaves them waiting at the class and missing where they went
    (a member, a gadget or the sink), with every reduced cost >= 0.
    Successive shortest paths (``_repair.c``) then send the waiting units
    along shortest paths and keep the potentials valid.  The result is
    checked before it is used: every class sends its slots' units,
    capacities hold, and no residual arc has a reduced cost below
    ``-tol``; the slots' potentials are then
    read off the classes' and checked on the per-slot network (see
    :func:`_slot_potentials`)."""
    if _repair_ext is None:
        return None
    S, M = prob.S, prob.M
    rem = prob.index.remaining
    # (all slots: the network's class numbers are the problem's)
    net = _ClassNetwork(prob, np.arange(S), graph.s, graph.m, graph.cost, rem)
    C, G, T = net.C, len(net.gadget_member), net.sink
    n_pairs = len(net.ac)
    if net.supply[net.ac].sum() != len(graph.keys):
        return None  # not symmetrized (the caller's mistake): solve instead
    # the flow: pairs used by a slot, gadgets by their pair, members, and
    # each class's unassigned slots on its "unassigned" arc
    done = sol.slot_member >= 0
    used_keys = prob.slot_class[done] * M + sol.slot_member[done]
    pair_flow = np.zeros(n_pairs, dtype=np.int64)
    if len(used_keys):
        pos = np.minimum(np.searchsorted(net.keys, used_keys), max(n_pairs - 1, 0))
        if not (n_pairs and (net.keys[pos] == used_keys).all()):
            return None  # a slot's member is not an edge (cannot happen)
        np.add.at(pair_flow, pos, 1)
    g = net.arc_gadget >= 0
    gadget_flow = np.bincount(net.arc_gadget[g], weights=pair_flow[g], minlength=G)
    unassigned = np.bincount(prob.slot_class[~done], minlength=C)
    tail = np.concatenate([net.tails, np.arange(C)])
    head = np.concatenate([net.heads, np.full(C, T)])
    cost = np.concatenate([net.acost, np.zeros(G + len(net.open_m)), np.full(C, big)])
    cap = np.concatenate([net.caps, net.supply])
    flow = np.concatenate(
        [pair_flow, gadget_flow.astype(np.int64), sol.flow[net.open_m], unassigned]
    ).astype(np.int64)
    # potentials: a class takes its slots' highest, a class gadget the
    # per-slot gadget of the same (order, member)
    node = pot.carried(prob, graph)
    pi = np.empty(T + 1)
    pi[:C] = -np.inf
    np.maximum.at(pi, prob.slot_class, node[:S])
    pi[C : C + M] = node[S : S + M]
    pi[C + M : T] = node[S + M + np.searchsorted(graph.gadget_keys(), net.gadget_keys)]
    pi[T] = node[-1]
    excess = np.zeros(T + 1, dtype=np.int64)
    rc = cost + pi[tail] - pi[head]
    bad = (rc < -tol) & (flow < cap)
    if (tail[bad] >= C).any():
        return None  # not a grown graph (cannot happen): solve it instead
    if bad.any():
        # such a class rises until no arc leaving it is negative, and takes
        # back the units whose way back that makes negative
        top = np.full(T + 1, -np.inf)
        np.maximum.at(top, tail[bad], -rc[bad])
        up = np.maximum(top[:C], 0.0)
        pi[:C] += up
        rc[:n_pairs] += up[tail[:n_pairs]]
        rc[-C:] += up
        back = np.flatnonzero((flow > 0) & (rc > tol) & (tail < C))
        np.add.at(excess, tail[back], flow[back])
        np.add.at(excess, head[back], -flow[back])
        flow[back] = 0
    try:
        sent, _ = _repair_ext.repair(tail, head, cost, cap, flow, pi, excess, int(work * len(tail)))
    except (ValueError, MemoryError):  # a network it cannot take: solve instead
        return None
    if sent < 0 or excess.any():
        return None
    # check what the C code did before anything relies on it
    sends = np.bincount(tail, weights=flow, minlength=T + 1)[:C]
    rc = cost + pi[tail] - pi[head]
    if (
        (flow < 0).any()
        or (flow > cap).any()
        or (sends != net.supply).any()
        or (rc[flow < cap] < -tol).any()
        or (rc[flow > 0] > tol).any()
    ):
        return None
    slot_member = net.members_of_rows(np.flatnonzero(flow[:n_pairs] > 0))
    new_sol = _solution_for(prob, graph, slot_member)
    return _slot_potentials(prob, graph, new_sol, net, pi, big, tol, pot.rounds)


def _slot_potentials(
    prob: _Problem,
    graph: _Graph,
    sol: _Solution,
    net: _ClassNetwork,
    pi: np.ndarray,
    big: float,
    tol: float,
    rounds: int,
) -> tuple[_Solution, _Potentials] | None:
    """Potentials of the per-slot residual network of ``sol`` from those of
    the class network ``net`` that prove it optimal, or None if they do
    not prove it (then the caller solves).

    A slot takes its class's potential.  A gadget of two classes is the
    class network's.  A gadget of one class's slots (not in the class
    network) takes its member's potential when unused; when a slot uses
    it, the class's other slots still reach it, so it takes exactly the
    class's potential plus the edge's cost (at most the member's, since
    the pair is used).  A gadget of two classes that one of them uses is
    lowered to the same value (which no other arc forbids)."""
    S, M, C = prob.S, prob.M, net.C
    edge_gadget, gadget_member = graph.gadgets()
    G = len(gadget_member)
    node = np.empty(S + M + G + 1)
    node[:S] = pi[net.local[prob.slot_class]]
    node[S : S + M] = pi[C : C + M]
    node[-1] = pi[net.sink]
    gp = pi[C + gadget_member]  # unused: the member's
    gp[np.searchsorted(graph.gadget_keys(), net.gadget_keys)] = pi[C + M : net.sink]
    e = np.flatnonzero(sol.edge_used & (edge_gadget >= 0))
    np.minimum.at(gp, edge_gadget[e], graph.cost[e] + node[graph.s[e]])
    node[S + M : S + M + G] = gp
    n, tails, heads, costs = _residual(prob, graph, sol, big)
    if (costs + node[tails] - node[heads] < -tol).any():
        return None
    return sol, _Potentials.of(prob, graph, sol, node, rounds)
