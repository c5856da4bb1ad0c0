"""Certificate.  An arc missing from the graph keeps ``pi`` valid, and so the
flow optimal, iff its reduced cost ``c_sm + pi_s - pi_m >= 0``.  (A gadget
node may take ``pi_g = pi_m`` when unused or absent and has
``pi_g <= pi_m`` when used, so checking against ``pi_m`` is enough.)  If
*no* feasible pair outside the graph has a negative reduced cost, the
graph optimum is an optimum of the full problem, by LP duality on the full
network, cardinality included (dummy arcs are part of it).  With
``theta_s = -pi_s`` and ``h_m = c_m - pi_m`` (``c_m``: the member's own
cost terms) a missing pair can only violate if
``per_km * km(s, m) + h_m < theta_s``.  Per slot the checker keeps an
examined radius ``R_s``: every feasible member within it is a graph edge
or a "watched" pair re-checked exactly each round, and every member beyond
it costs at least ``per_km * km(R_s) + min h``, which proves most slots.
When it does not, ``R_s`` grows to exactly the radius the bound needs
(a k-d tree ball query) and the members inside are watched from then on,
unless there are more than ``watch_max`` of them (hot spots, where
``theta_s`` is high).  Those slots are checked by *bands*: the key's
members sorted by ``h`` and cut into ``bands`` parts; a member of a band
whose lowest ``h`` is ``lo`` can only violate within ``(theta_s - lo) /
per_km`` km, so a ball query per band finds every candidate.  After a
pass that proved every slot it did not widen, the next pass re-checks
only slots whose potential changed (or that were widened) and members
whose potential rose -- the only ways a pair outside the graph can turn
violating -- which makes the proofs after regional re-solves cheap.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import cKDTree

from linli.dispatch.engine.geometry import _chord_km, _km_chord
from linli.dispatch.engine.graph import _Graph, _unique_sorted
from linli.dispatch.engine.problem import _Problem


def _take_most_negative(
    s: np.ndarray, m: np.ndarray, red: np.ndarray, k_add: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per slot, the ``k_add`` pairs with the most negative reduced cost
    (slots, members, reduced costs)."""
    order = np.lexsort((red, s))
    s, m, red = s[order], m[order], red[order]
    first = np.empty(len(s), dtype=bool)
    first[:1] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    rank = np.arange(len(s)) - np.repeat(starts, np.diff(np.append(starts, len(s))))
    keep = rank < k_add
    return s[keep], m[keep], red[keep]


class _Checker:
    """The certificate: proves that no feasible pair outside the graph has a
    negative reduced cost, or returns pairs that do.

    Per slot it keeps an *examined radius*: each feasible member of the
    slot's tree within that chord distance is either a graph edge or a
    "watched" pair, re-checked exactly every round (cheap vector math).
    Members beyond the radius cost at least ``per_km * km(radius) + h_min``,
    which settles most slots at once.  When it does not, the radius grows
    to what the bound needs (k-d tree ball query), as long as that holds at
    most ``watch_max`` members; past that the slot is checked by bands of
    ``h`` each round (:meth:`_banded`), so hot spots do not need huge watch
    lists.
    """

    def __init__(
        self, prob: _Problem, graph: _Graph, workers: int, watch_max: int = 512, bands: int = 16
    ) -> None:
        self.prob = prob
        self.bands = bands
        self.workers = workers
        self.watch_max = watch_max
        self.radius = graph.radius.copy()
        self.banded = 0  # slots checked by h-bands, over all rounds
        self.incremental = 0  # runs that only re-checked what changed
        # The last run's potentials and the slots it left unproven (they got
        # new edges); None when the next run must check everything.
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._slot_trees: dict[tuple[int, int], cKDTree] = {}
        self.rounds = 0  # passes run
        self.keys = np.empty(0, dtype=np.int64)  # watched pairs s * M + m, sorted
        self.cost = np.empty(0)
        # the same pairs split (kept beside the keys: no division per round)
        self.ws = np.empty(0, dtype=np.int64)
        self.wm = np.empty(0, dtype=np.int64)
        self._new_keys: list[np.ndarray] = []
        self._new_cost: list[np.ndarray] = []

    def _watch(
        self, s: np.ndarray, m: np.ndarray, graph: _Graph
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start watching pairs, given sorted by (slot, member) without
        repeats (merged into the sorted store by ``_merge``); returns the
        ones not watched before (slots, members, costs)."""
        M = self.prob.M
        keep = ~graph.contains(s, m)
        s, m = s[keep], m[keep]
        keys = s * M + m
        if len(self.keys):
            pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
            fresh = self.keys[pos] != keys
            s, m, keys = s[fresh], m[fresh], keys[fresh]
        cost = self.prob.cost(s, m)[0]
        self._new_keys.append(keys)
        self._new_cost.append(cost)
        return s, m, cost

    def park(self, graph: _Graph, drop: np.ndarray) -> int:
        """Move the graph edges where ``drop`` is set to the watched pairs:
        the solver no longer sees them, the certificate still checks them
        exactly every round (and puts them back if they violate)."""
        keys, cost = graph.keys[drop], graph.cost[drop]
        graph.remove(drop)
        self._last = None  # parked pairs were never checked at the last prices
        self._new_keys.append(keys)
        self._new_cost.append(cost)
        self._merge()
        return len(keys)

    def _merge(self) -> None:
        if not sum(len(k) for k in self._new_keys):
            self._new_keys, self._new_cost = [], []
            return
        newk = np.concatenate(self._new_keys)
        newc = np.concatenate(self._new_cost)
        self._new_keys, self._new_cost = [], []
        # a few sorted runs: the stable sort (timsort) merges them cheaply
        order = np.argsort(newk, kind="stable")
        newk, newc = newk[order], newc[order]
        first = np.ones(len(newk), dtype=bool)
        np.not_equal(newk[1:], newk[:-1], out=first[1:])
        newk, newc = newk[first], newc[first]
        pos = np.searchsorted(self.keys, newk)
        fresh = np.ones(len(newk), dtype=bool)
        if len(self.keys):
            fresh = self.keys[np.minimum(pos, len(self.keys) - 1)] != newk
        # both sorted: inserting keeps the store sorted without a full sort
        at, newk = pos[fresh], newk[fresh]
        news, newm = np.divmod(newk, self.prob.M)
        self.keys = np.insert(self.keys, at, newk)
        self.cost = np.insert(self.cost, at, newc[fresh])
        self.ws = np.insert(self.ws, at, news)
        self.wm = np.insert(self.wm, at, newm)

    def run(
        self,
        graph: _Graph,
        pi_s: np.ndarray,
        pi_m: np.ndarray,
        tol: float,
        k_add: int,
        slack: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pairs to add: slots, members, reduced costs; slots concerned);
        empty = proven.

        Pairs to add are violating ones and, for the same slots, pairs whose
        reduced cost is below ``slack`` (the ``k_add`` lowest per slot).

        After a run that proved every slot it did not return, the next run
        only re-checks what can have changed: a pair outside the graph can
        only turn violating if its slot's potential changed (or the slot
        got new edges, i.e. was left unproven) or its member's potential
        rose.  Slots of the first kind get the whole check; members of the
        second kind are checked against every slot near enough to matter
        (:meth:`_members_down`).  Regional re-solves change few potentials,
        so this makes their proofs cheap.  The graph only grows between such
        runs; parking edges (:meth:`park`) forces a whole check."""
        prob, w, M = self.prob, self.prob.w, self.prob.M
        self.rounds += 1
        theta = -pi_s
        h = prob.index.term - pi_m
        check = np.ones(prob.S, dtype=bool)
        down = np.empty(0, dtype=np.int64)
        if self._last is not None:
            last_s, last_m, unproven = self._last
            rose = np.flatnonzero(pi_m > last_m)
            if len(rose) <= max(16, prob.M // 20):
                check = pi_s != last_s
                check[unproven] = True
                down = rose
                self.incremental += 1
        self._last = None
        found_s: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
        found_m: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
        found_r: list[np.ndarray] = [np.empty(0)]

        near_s: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
        near_m: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
        near_r: list[np.ndarray] = [np.empty(0)]
        settled = np.zeros(prob.S, dtype=bool)  # has a violation: no proof needed now

        def violations(ks: np.ndarray, km: np.ndarray, cost: np.ndarray, fresh: bool) -> None:
            # fresh: pairs just found outside the graph
            red = cost + pi_s[ks] - pi_m[km]
            low = red < slack
            ks, km, red = ks[low], km[low], red[low]
            out = np.ones(len(ks), dtype=bool) if fresh else ~graph.contains(ks, km)
            bad = out & (red < -tol)
            found_s.append(ks[bad])
            found_m.append(km[bad])
            found_r.append(red[bad])
            settled[ks[bad]] = True
            # Nearly violating pairs ride along with real violations: the
            # next solve shifts the duals and would often expose them.
            close = out & ~bad
            near_s.append(ks[close])
            near_m.append(km[close])
            near_r.append(red[close])

        # 1. Every watched pair of the slots to check, exactly.
        if len(self.keys):
            ws, wm = self.ws, self.wm
            if check.all():
                violations(ws, wm, self.cost, fresh=False)
            else:
                sel = check[ws]
                violations(ws[sel], wm[sel], self.cost[sel], fresh=False)
        # 2. Members whose potential rose, against every slot near enough
        # (their watched pairs included).
        if len(down):
            ds, dm, dr = self._members_down(graph, down, pi_s, pi_m, h, tol)
            found_s.append(ds)
            found_m.append(dm)
            found_r.append(dr)
            settled[ds] = True
        # 3. Slots the radius bound does not settle.
        for key, group in prob.groups().items():
            tree, pool, _ = prob.index.tree(key)
            if tree is None:
                continue
            hmin = float(h[pool].min())
            n = len(pool)
            pending = group[~settled[group] & check[group]]
            rad = self.radius[pending]
            with np.errstate(invalid="ignore"):
                bound = np.where(np.isinf(rad), np.inf, w.per_km * _chord_km(rad) + hmin)
            pending = pending[theta[pending] - bound > tol]
            if not len(pending):
                continue
            # The chord radius the bound needs (everything, if per_km == 0).
            if w.per_km > 0:
                need_km = (theta[pending] - hmin) / w.per_km
            else:
                need_km = np.full(len(pending), np.inf)
            need = np.where(np.isfinite(need_km), _km_chord(need_km) * (1 + 1e-9), np.inf)
            pts = prob.slot_xyz[pending]
            counts = tree.query_ball_point(pts, np.minimum(need, 2.5), return_length=True)
            # Too many members inside: the h-bands prove these slots instead.
            wide = counts > min(n, self.watch_max)
            if wide.any():
                ls, lm, lr = self._banded(key, pending[wide], graph, pi_s, pi_m, h, tol)
                found_s.append(ls)
                found_m.append(lm)
                found_r.append(lr)
            sel = np.flatnonzero(~wide)
            if not len(sel):
                continue
            # Watch every member within the needed radius: the bound then
            # proves the rest of the key's members.
            # (sorted lists over an ascending pool, for ascending slots: the
            # pairs come out sorted by (slot, member), as _watch wants them)
            inside = tree.query_ball_point(pts[sel], np.minimum(need[sel], 2.5), return_sorted=True)
            lens = counts[sel]
            ss = np.repeat(pending[sel], lens)
            mm = pool[np.fromiter(itertools.chain.from_iterable(inside), np.int64, int(lens.sum()))]
            ok = prob.feasible(ss, mm, in_key=True)
            violations(*self._watch(ss[ok], mm[ok], graph), fresh=True)
            self.radius[pending[sel]] = need[sel]
        self._merge()
        fs = np.concatenate(found_s)
        if not len(fs):
            empty = np.empty(0, dtype=np.int64)
            self._last = (pi_s.copy(), pi_m.copy(), empty)
            return empty, empty, np.empty(0), empty
        ns = np.concatenate(near_s)
        with_violation = np.zeros(prob.S, dtype=bool)
        with_violation[fs] = True
        ride = with_violation[ns]
        new_s, new_m, new_r = _take_most_negative(
            np.concatenate([fs, ns[ride]]),
            np.concatenate([*found_m, np.concatenate(near_m)[ride]]),
            np.concatenate([*found_r, np.concatenate(near_r)[ride]]),
            k_add,
        )
        # pairs that join the graph are no longer watched
        if len(self.keys):
            joined = _unique_sorted(new_s * M + new_m)
            pos = np.minimum(np.searchsorted(self.keys, joined), len(self.keys) - 1)
            keep = np.ones(len(self.keys), dtype=bool)
            keep[pos[self.keys[pos] == joined]] = False
            self.keys, self.cost = self.keys[keep], self.cost[keep]
            self.ws, self.wm = self.ws[keep], self.wm[keep]
        touched = _unique_sorted(new_s)
        self._last = (pi_s.copy(), pi_m.copy(), touched)
        return new_s, new_m, new_r, touched

    def _violating(
        self,
        graph: _Graph,
        out_s: list[np.ndarray],
        out_m: list[np.ndarray],
        pi_s: np.ndarray,
        pi_m: np.ndarray,
        tol: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Of candidate pairs (from a key's own tree), the feasible ones
        outside the graph whose reduced cost is below ``-tol``."""
        prob = self.prob
        if not out_s:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, np.empty(0)
        ss, mm = np.concatenate(out_s), np.concatenate(out_m)
        red = prob.cost(ss, mm)[0] + pi_s[ss] - pi_m[mm]
        bad = red < -tol
        ss, mm, red = ss[bad], mm[bad], red[bad]
        bad = prob.feasible(ss, mm, in_key=True) & ~graph.contains(ss, mm)
        return ss[bad], mm[bad], red[bad]

    def _members_down(
        self,
        graph: _Graph,
        members_idx: np.ndarray,
        pi_s: np.ndarray,
        pi_m: np.ndarray,
        h: np.ndarray,
        tol: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Violating pairs of the members ``members_idx`` with any slot: per
        key holding the member, the slots within ``(max theta - h_m) /
        per_km`` km of it (a k-d tree over the key's slots), checked
        exactly."""
        prob = self.prob
        theta = -pi_s
        out_s, out_m = [], []
        for key, group in prob.groups().items():
            _, pool, _ = prob.index.tree(key)
            mem = members_idx[np.isin(members_idx, pool, assume_unique=True)]
            if not len(mem):
                continue
            reach = float(theta[group].max()) - h[mem] - tol
            if prob.w.per_km > 0:
                km = reach / prob.w.per_km
                chord = _km_chord(km)
            else:
                km = np.where(reach > 0, np.inf, -1.0)
                chord = np.full(len(mem), 2.0)
            act = np.flatnonzero(km > 0)
            if not len(act):
                continue
            tree = self._slot_trees.get(key)
            if tree is None:
                tree = self._slot_trees[key] = cKDTree(prob.slot_xyz[group])
            found = tree.query_ball_point(
                prob.index.xyz[mem[act]], chord[act] * (1 + 1e-9) + 1e-12, return_sorted=False
            )
            lens = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
            if not lens.sum():
                continue
            out_m.append(np.repeat(mem[act], lens))
            out_s.append(group[np.fromiter(itertools.chain.from_iterable(found), np.int64)])
        return self._violating(graph, out_s, out_m, pi_s, pi_m, tol)

    def _banded(
        self,
        key: tuple[int, int],
        slots_idx: np.ndarray,
        graph: _Graph,
        pi_s: np.ndarray,
        pi_m: np.ndarray,
        h: np.ndarray,
        tol: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Violating pairs of ``slots_idx`` (or none: proven), by bands of
        ``h``.  The key's members are sorted by ``h_m`` and cut into
        ``bands`` equal parts; a member of a band whose lowest ``h`` is
        ``lo`` costs at least ``per_km * km + lo``, so only members of that
        band within ``(theta_s - lo) / per_km`` km of the slot can violate.
        Those are checked exactly, band by band (one small k-d tree each)."""
        prob = self.prob
        self.banded += len(slots_idx)
        _, pool, _ = prob.index.tree(key)
        hp = h[pool]
        order = np.argsort(hp, kind="stable")
        n = len(pool)
        cuts = _unique_sorted(np.linspace(0, n, min(n, self.bands) + 1).astype(np.int64))
        reach = -pi_s[slots_idx] - tol  # theta_s, less the tolerance
        pts = prob.slot_xyz[slots_idx]
        out_s, out_m = [], []
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
            band = pool[order[a:b]]
            lo = float(hp[order[a]])
            if prob.w.per_km > 0:
                km = (reach - lo) / prob.w.per_km
                chord = _km_chord(km)
            else:
                km = np.where(reach > lo, np.inf, -1.0)
                chord = np.full(len(slots_idx), 2.0)
            act = np.flatnonzero(km > 0)
            if not len(act):
                continue
            found = cKDTree(prob.index.xyz[band]).query_ball_point(
                pts[act], chord[act] * (1 + 1e-9) + 1e-12, return_sorted=False
            )
            lens = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
            if not lens.sum():
                continue
            out_s.append(np.repeat(slots_idx[act], lens))
            out_m.append(band[np.fromiter(itertools.chain.from_iterable(found), dtype=np.int64)])
        return self._violating(graph, out_s, out_m, pi_s, pi_m, tol)
