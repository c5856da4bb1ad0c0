"""Potentials.  Shortest-path distances ``pi`` in the residual network of the
optimal flow (with the ``BIG`` arcs of unassigned slots; vectorised
Bellman-Ford / SPFA from a virtual root; the optimal residual network has
no negative cycle) give every residual arc a reduced cost
``c_ij + pi_i - pi_j >= 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linli.dispatch.engine.flow import _Solution
from linli.dispatch.engine.graph import _Graph, _unique_sorted
from linli.dispatch.engine.problem import _Problem


def _spfa(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    cost: np.ndarray,
    eps: float,
    max_rounds: int | None = None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray | None, int]:
    """Shortest distances from a virtual root joined to every node by a 0-cost
    arc (so all distances start at 0).  Vectorised Bellman-Ford that only
    relaxes arcs leaving nodes improved in the previous round.

    With ``start`` (earlier potentials of a nearby network) it relaxes from
    there instead, beginning with the arcs they violate: the fixpoint is not
    the shortest distances any more but it is just as valid a potential, and
    after a local change it is reached in far fewer rounds.

    Without ``max_rounds`` a negative cycle is an error (the caller hands in
    an optimal flow).  With it, None means "not settled within max_rounds":
    maybe a negative cycle, i.e. the flow may not be optimal.  Returns
    (distances or None, rounds used)."""
    counts = np.bincount(tail, minlength=n)
    # (the order within a node's arcs does not matter: 16-bit keys sort by radix)
    order = np.argsort(tail.astype(np.uint16) if n <= 1 << 16 else tail, kind="stable")
    head, cost = head[order], cost[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    if start is None:
        dist = np.zeros(n)
        frontier = np.flatnonzero(counts)
    else:
        dist = start.copy()
        tail = tail[order]
        frontier = _unique_sorted(tail[dist[tail] + cost < dist[head] - eps])
    mark = np.zeros(n, dtype=bool)
    for rounds in range(n + 1 if max_rounds is None else min(n + 1, max_rounds)):
        if not len(frontier):
            return dist, rounds
        lens = counts[frontier]
        ends = np.cumsum(lens)
        total = int(ends[-1])
        if not total:
            return dist, rounds
        arc = np.repeat(indptr[frontier] - (ends - lens), lens)
        arc += np.arange(total)
        cand = np.repeat(dist[frontier], lens)
        cand += cost[arc]
        h = head[arc]
        better = cand < dist[h] - eps
        h, cand = h[better], cand[better]
        if not len(h):
            return dist, rounds
        np.minimum.at(dist, h, cand)
        mark[h] = True
        frontier = np.flatnonzero(mark)
        mark[frontier] = False
    if max_rounds is not None:
        return None, max_rounds
    raise RuntimeError("negative cycle in residual graph: sparse solution not optimal")


def _residual(
    prob: _Problem, graph: _Graph, sol: _Solution, big: float
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The residual network of the flow ``sol`` on ``graph``: (number of
    nodes, tails, heads, costs).  Nodes: slots ``0..S-1``, members
    ``S..S+M-1``, gadgets, then the sink; unassigned slots use their ``big``
    "unassigned" arc."""
    S, M = prob.S, prob.M
    G = len(sol.gadget_member)
    T = S + M + G
    es, em = graph.s, graph.m
    ec = graph.cost
    eg = sol.edge_gadget
    target = np.where(eg >= 0, S + M + eg, S + em)  # node the slot arc enters
    used = sol.edge_used
    tails = [np.where(used, target, es)]
    heads = [np.where(used, es, target)]
    costs = [np.where(used, -ec, ec)]
    g_nodes = S + M + np.arange(G)
    g_mem = S + sol.gadget_member
    tails.append(np.where(sol.gadget_used, g_mem, g_nodes))
    heads.append(np.where(sol.gadget_used, g_nodes, g_mem))
    costs.append(np.zeros(G))
    rem = prob.index.remaining
    spare = np.flatnonzero((sol.flow < rem) & (rem > 0))
    busy = np.flatnonzero(sol.flow > 0)
    tails += [S + spare, np.full(len(busy), T)]
    heads += [np.full(len(spare), T), S + busy]
    costs += [np.zeros(len(spare)), np.zeros(len(busy))]
    un = sol.slot_member < 0
    sl = np.arange(S)
    tails.append(np.where(un, T, sl))
    heads.append(np.where(un, sl, T))
    costs.append(np.where(un, -big, big))
    return (
        T + 1,
        np.concatenate(tails).astype(np.int64),
        np.concatenate(heads).astype(np.int64),
        np.concatenate(costs),
    )


@dataclass
class _Potentials:
    slot: np.ndarray
    member: np.ndarray  # idle members lowered to the sink's potential
    sink: float
    node: np.ndarray  # every node of the residual network, as computed
    rounds: int
    gadget_keys: np.ndarray  # order * M + member of each gadget node, sorted

    @classmethod
    def of(
        cls, prob: _Problem, graph: _Graph, sol: _Solution, pi: np.ndarray, rounds: int
    ) -> _Potentials:
        """From ``pi`` over every node of the residual network of ``sol`` on
        ``graph`` (slots, members, gadgets, sink)."""
        S, M = prob.S, prob.M
        sink = float(pi[-1])
        pi_m = pi[S : S + M].copy()
        # A member with no slot only has the arc member -> sink, so any
        # potential >= pi(sink) is valid; the lowest one makes the
        # certificate easiest.
        rem = prob.index.remaining
        idle = (sol.flow == 0) & (rem > 0)
        pi_m[idle] = np.minimum(pi_m[idle], sink)
        return cls(pi[:S], pi_m, sink, pi, rounds, graph.gadget_keys())

    def carried(self, prob: _Problem, graph: _Graph) -> np.ndarray:
        """``node`` laid out for the current graph, whose gadgets may be new:
        a gadget keeps its potential, a new one takes its member's (what an
        unused gadget may always take)."""
        S, M = prob.S, prob.M
        keys = graph.gadget_keys()
        if np.array_equal(keys, self.gadget_keys):
            return self.node
        old = self.node[S + M : -1]
        pos = np.minimum(np.searchsorted(self.gadget_keys, keys), max(len(old) - 1, 0))
        known = (self.gadget_keys[pos] == keys) if len(old) else np.zeros(len(keys), dtype=bool)
        g = np.where(known, old[pos] if len(old) else 0.0, self.node[S + keys % M])
        return np.concatenate([self.node[: S + M], g, self.node[-1:]])


def _potentials(
    prob: _Problem,
    graph: _Graph,
    sol: _Solution,
    big: float,
    eps: float,
    max_rounds: int | None = None,
    start: _Potentials | None = None,
) -> _Potentials | None:
    """Potentials of the residual network of the flow ``sol``, or None if
    ``max_rounds`` ran out (see :func:`_spfa`; ``start``: earlier ones to
    relax from, when the network has the same nodes)."""
    n, tails, heads, costs = _residual(prob, graph, sol, big)
    init = start.carried(prob, graph) if start is not None else None
    pi, rounds = _spfa(n, tails, heads, costs, eps, max_rounds, init)
    if pi is None:
        return None
    return _Potentials.of(prob, graph, sol, pi, rounds)
