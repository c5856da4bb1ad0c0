"""The candidate graph: the edges the exact solver sees.

Every slot gets its ``k`` nearest feasible members from a k-d
tree per skill (per skill and community when crossing is forbidden).  A
slot in a local *shortage* (more slots of its skill within its k-th
nearest member than those k members can take: a hot spot) also gets
members at a few geometrically spaced ranks out to its ``reach`` nearest,
so that the first solve already lets a hot spot spill outwards.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from linli.dispatch.engine.geometry import EARTH_RADIUS_KM
from linli.dispatch.engine.problem import _Problem, _query


def _unique_sorted(a: np.ndarray) -> np.ndarray:
    """Sorted unique values (sort based: faster than numpy's hash path for
    the large int64 key arrays used here)."""
    a = np.sort(a)
    if len(a) <= 1:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def _group(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted unique values, inverse index, counts), sort based."""
    order = np.argsort(a, kind="stable")
    sa = a[order]
    flag = np.empty(len(a), dtype=bool)
    flag[:1] = True
    np.not_equal(sa[1:], sa[:-1], out=flag[1:])
    inv = np.empty(len(a), dtype=np.int64)
    inv[order] = np.cumsum(flag) - 1
    counts = np.diff(np.append(np.flatnonzero(flag), len(a)))
    return sa[flag], inv, counts


def _gadgets_of(order_member: np.ndarray, M: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gadgets for arcs keyed ``order * M + member``: one per key that two or
    more arcs share.  Returns (gadget number per arc or -1, member of each
    gadget, key of each gadget, sorted)."""
    uniq, inv, counts = _group(order_member)
    is_g = counts >= 2
    g_of_uniq = np.where(is_g, np.cumsum(is_g) - 1, -1)
    return g_of_uniq[inv], uniq[is_g] % M, uniq[is_g]


class _Graph:
    """Edge set handed to the exact solver (sorted unique keys s * M + m,
    split into ``s`` and ``m``, with each edge's ``cost``).

    ``radius[s]``: every feasible member of the slot's tree within this chord
    distance has an edge (used by the certificate's cheap bound).
    """

    def __init__(self, prob: _Problem, s: np.ndarray, m: np.ndarray, radius: np.ndarray) -> None:
        self.prob = prob
        self.keys = _unique_sorted(s * prob.M + m)
        self.radius = radius
        self._split()
        self.cost = prob.cost(self.s, self.m)[0]
        self._gadgets: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _split(self) -> None:
        self.s = self.keys // self.prob.M
        self.m = self.keys % self.prob.M

    def contains(self, s: np.ndarray, m: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.zeros(len(s), dtype=bool)
        keys = s * self.prob.M + m
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found: np.ndarray = self.keys[pos] == keys
        return found

    def add(self, s: np.ndarray, m: np.ndarray) -> int:
        M = self.prob.M
        keys = _unique_sorted(s * M + m)
        keys = keys[~self.contains(keys // M, keys % M)]
        if len(keys):
            cost = self.prob.cost(keys // M, keys % M)[0]
            merged = np.concatenate([self.keys, keys])
            order = np.argsort(merged, kind="stable")
            self.keys = merged[order]
            self.cost = np.concatenate([self.cost, cost])[order]
            self._split()
            self._gadgets = None
        return len(keys)

    def symmetrize(self) -> int:
        """Give every slot the edges of the other slots of its class (they
        are the same pairs for identical slots), so the class-level solve
        and the per-slot flow agree.  Returns the number of edges added."""
        prob = self.prob
        if prob.n_classes == prob.S or not len(self.keys):
            return 0
        multi = prob.class_size[prob.slot_class[self.s]] > 1
        if not multi.any():
            return 0
        M = prob.M
        ck = _unique_sorted(prob.slot_class[self.s[multi]] * M + self.m[multi])
        c, m = ck // M, ck % M
        n = prob.class_size[c]
        offs = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        ss = prob.class_slots[np.repeat(prob.class_ptr[c], n) + offs]
        return self.add(ss, np.repeat(m, n))

    def remove(self, drop: np.ndarray) -> None:
        """Drop the edges where ``drop`` (a mask over the edges) is set."""
        keep = ~drop
        self.keys, self.cost = self.keys[keep], self.cost[keep]
        self._split()
        self._gadgets = None

    def gadgets(self) -> tuple[np.ndarray, np.ndarray]:
        """(gadget number per edge or -1, member of each gadget): one gadget
        per (order, member) pair reachable from >= 2 slots of the order."""
        if self._gadgets is None:
            M = self.prob.M
            self._gadgets = _gadgets_of(self.prob.slot_order[self.s] * M + self.m, M)
        edge_gadget, gadget_member, _ = self._gadgets
        return edge_gadget, gadget_member

    def gadget_keys(self) -> np.ndarray:
        """order * M + member of each gadget, sorted (gadget numbering)."""
        self.gadgets()
        assert self._gadgets is not None
        return self._gadgets[2]


def _initial_graph(
    prob: _Problem, k: int, reach: int, rings: int, workers: int
) -> tuple[_Graph, int]:
    """The first graph: per slot its ``k`` nearest feasible members (all of
    them, so the graph's radius claim holds).  Slots in a *shortage* -- more
    slots of their key within the k-th nearest member than those k members
    can take -- also get members at ``rings`` geometrically spaced ranks out
    to the ``reach`` nearest, so a hot spot spills outwards in the very first
    solve and its prices are nearly right from the start.  Returns the graph
    and the number of slots in a shortage."""
    radius = np.zeros(prob.S)
    n_short = 0
    rem = prob.index.remaining
    parts_s, parts_m = [], []
    for key, group in prob.groups().items():
        tree, pool, _ = prob.index.tree(key)
        if tree is None:
            radius[group] = np.inf
            continue
        n = len(pool)
        near = min(n, k)
        pts = prob.slot_xyz[group]
        d, j = _query(tree, pts, near, workers)
        parts_s.append(np.repeat(group, near))
        parts_m.append(pool[j.ravel()])
        radius[group] = np.inf if near >= n else d[:, -1]
        kq = min(n, reach)
        if kq <= near or rings <= 0:
            continue
        demand = cKDTree(pts).query_ball_point(pts, d[:, -1], return_length=True)
        short = np.flatnonzero(demand > rem[pool[j]].sum(axis=1))
        if not len(short):
            continue
        n_short += len(short)
        _, jf = _query(tree, pts[short], kq, workers)
        ranks = _unique_sorted(np.geomspace(near, kq - 1, rings).astype(np.int64))
        parts_s.append(np.repeat(group[short], len(ranks)))
        parts_m.append(pool[jf[:, ranks].ravel()])
    if not parts_s:
        empty = np.empty(0, dtype=np.int64)
        return _Graph(prob, empty, empty, radius), 0
    ss, mm = np.concatenate(parts_s), np.concatenate(parts_m)
    ok = prob.feasible(ss, mm, in_key=True)
    return _Graph(prob, ss[ok], mm[ok], radius), n_short


def _priced_edges(
    prob: _Problem, price: np.ndarray, k: int, workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per slot of a key with priced members, its ``k`` cheapest feasible
    members at those prices (cost + price), from a lifted 4-D k-d tree over
    ``(per_km * R * xyz, term + price)``: its 4-D distance never exceeds the
    priced cost (less the smallest term), so its nearest points are close
    to the cheapest ones -- a choice of edges, not a proof of anything."""
    alpha = prob.w.per_km * EARTH_RADIUS_KM
    out_s, out_m = [], []
    for key, group in prob.groups().items():
        tree, pool, _ = prob.index.tree(key)
        if tree is None or not (price[pool] > 0).any():
            continue
        h = prob.index.term[pool] + price[pool]
        lifted = cKDTree(np.column_stack([alpha * prob.index.xyz[pool], h - h.min()]))
        kq = min(len(pool), k)
        q = np.column_stack([alpha * prob.slot_xyz[group], np.zeros(len(group))])
        _, j = _query(lifted, q, kq, workers)
        ss = np.repeat(group, kq)
        mm = pool[j.ravel()]
        ok = prob.feasible(ss, mm, in_key=True)
        out_s.append(ss[ok])
        out_m.append(mm[ok])
    if not out_s:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(out_s), np.concatenate(out_m)


def _exhaust(prob: _Problem, graph: _Graph, slots_idx: np.ndarray) -> None:
    """Give slots every feasible member of their tree."""
    for s in slots_idx.tolist():
        _, pool, _ = prob.index.tree(prob.slot_key[s])
        ss = np.full(len(pool), s, dtype=np.int64)
        ok = prob.feasible(ss, pool, in_key=True)
        graph.add(ss[ok], pool[ok])
        graph.radius[s] = np.inf
