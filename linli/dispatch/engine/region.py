"""Regional re-solves.  When a round adds edges for only a few slots, the
next solve keeps most slots where they are: only the slots an improving
cycle through the new edges could visit -- within the new edges' reduced
costs of both ends in the residual network, Dijkstra on reduced costs,
split at the sink because a simple cycle passes it once -- are solved
again, the others keep their members.  The result is accepted only if
potentials settle on the whole graph (a bounded SPFA; settling proves
optimality, since valid potentials exclude negative cycles); otherwise a
wider region, then the whole graph, is solved.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from linli.dispatch.engine.flow import _Solution
from linli.dispatch.engine.graph import _Graph, _unique_sorted
from linli.dispatch.engine.potentials import _Potentials, _residual
from linli.dispatch.engine.problem import _Problem


def _region(
    prob: _Problem,
    graph: _Graph,
    sol: _Solution,
    pot: _Potentials,
    big: float,
    new_s: np.ndarray,
    new_m: np.ndarray,
    gain: np.ndarray,
    limit: float = math.inf,
) -> np.ndarray:
    """Slots that an improving cycle through the new edges (new_s, new_m)
    could plausibly visit (or, once more than ``limit`` slots are in, the
    ones found so far: the caller will not use a region that big).
    Distances are in the residual network of ``sol`` under reduced costs
    (``pot`` makes them non-negative); an improving simple cycle through
    one new edge ``s -> m`` of reduced cost
    ``-gain < 0`` only visits nodes ``v`` with ``d(m, v) + d(v, s) <=
    gain``.  It passes the sink at most once, so ``d`` is split: paths that
    avoid the sink, and paths that reach it (into the sink: a member with
    spare capacity) or leave it (to a member that can give a slot up).
    Edges are taken in classes of similar gain (a power of two apart), each
    class with its largest gain and its nearest head / tail standing in for
    each edge's own: a heuristic region (cycles through several new edges
    may leave it), which the caller proves globally."""
    S = prob.S
    n, tails, heads, costs = _residual(prob, graph, sol, big)
    pi = pot.carried(prob, graph)
    T = n - 1
    top = float(gain.max(initial=0.0))
    red = np.maximum(costs + pi[tails] - pi[heads], 0.0) + 1e-12 * (1.0 + top)

    def matrix(sel: np.ndarray, reverse: bool = False) -> csr_array:
        # residual arcs are distinct (tail, head) pairs: nothing is summed
        t, h = (heads[sel], tails[sel]) if reverse else (tails[sel], heads[sel])
        return csr_array((red[sel], (t, h)), shape=(n, n))

    def dist(mat: csr_array, sources: np.ndarray, limit: float) -> np.ndarray:
        d: np.ndarray = dijkstra(mat, indices=sources, min_only=True, limit=limit)
        return d

    inner = (tails != T) & (heads != T)
    fwd, back = matrix(inner), matrix(inner, reverse=True)
    sink = np.array([T])
    to_sink = dist(matrix(inner | (heads == T), reverse=True), sink, top)
    from_sink = dist(matrix(inner | (tails == T)), sink, top)
    inside = np.zeros(n, dtype=bool)
    improving = gain > 0
    cls = np.ceil(np.log2(gain[improving] / top)).astype(np.int64)
    es, em, eg = new_s[improving], new_m[improving], gain[improving]
    # largest gains first: they reach furthest, so a region too big to use
    # shows at once
    for c in np.unique(np.maximum(cls, -20)).tolist()[::-1]:
        if np.count_nonzero(inside[:S]) > limit:
            break
        sel = np.maximum(cls, -20) == c
        budget = float(eg[sel].max())
        starts = _unique_sorted(S + em[sel])
        ends = _unique_sorted(es[sel])
        d_f = dist(fwd, starts, budget)  # from the nearest head, avoiding the sink
        d_b = dist(back, ends, budget)  # to the nearest tail, avoiding the sink
        inside |= d_f + d_b <= budget
        inside |= d_f + to_sink + float(from_sink[ends].min()) <= budget
        inside |= float(to_sink[starts].min()) + from_sink + d_b <= budget
    return np.flatnonzero(inside[:S])
