"""One problem (slots, members, weights, exclusions) prepared for vector math:
the member index and its k-d trees, feasibility, costs, and the plan it
turns an assignment into.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from linli.dispatch.engine.geometry import _chord_km, _unit_xyz
from linli.dispatch.engine.masks import _mask_columns, _overlap_at, masks_overlap
from linli.dispatch.engine.model import (
    Assignment,
    MemberArrays,
    Plan,
    Reason,
    SlotArrays,
    Unassigned,
    Weights,
)


def _member_terms(members: MemberArrays, w: Weights) -> tuple[np.ndarray, np.ndarray]:
    """(cost of the member-only terms, rating actually used)."""
    rating = np.where(np.isnan(members.rating), w.unrated_rating, members.rating)
    rating = np.clip(rating, 1.0, 5.0)
    terms = w.load * members.load + w.week_load * members.week_load + w.rating * (5.0 - rating)
    return terms.astype(np.float64), rating


class MemberIndex:
    """Spatial index over members, reusable across calls with the same
    ``MemberArrays`` object and the same weights (it caches remaining
    capacity and member cost terms: rebuild it when loads change).

    One k-d tree per *key*: the skill (when crossing communities is allowed)
    or (skill, community) (when it is forbidden), holding only members with
    remaining capacity.  Trees are built lazily.
    """

    def __init__(self, members: MemberArrays, weights: Weights) -> None:
        self.members = members
        self.weights = weights
        self.cross_allowed = weights.cross_community is not None
        self.xyz = _unit_xyz(members.lat, members.lon)
        # per-coordinate / per-word copies: pair math gathers from them
        self.xyz_cols = tuple(np.ascontiguousarray(self.xyz[:, i]) for i in range(3))
        self.avail_cols = _mask_columns(members.availability)
        self.remaining = np.maximum(members.cap - members.load, 0)
        self.term, self.rating_used = _member_terms(members, weights)
        self._trees: dict[tuple[int, int], tuple[cKDTree | None, np.ndarray, float]] = {}
        self._skill_members: dict[int, np.ndarray] = {}
        order = np.argsort(members.id, kind="stable")
        self._sorted_ids = members.id[order]
        self._id_order = order

    def key(self, skill: int, community: int) -> tuple[int, int]:
        return (int(skill), 0 if self.cross_allowed else int(community))

    def skill_members(self, skill: int) -> np.ndarray:
        """Indices of every member having the skill (any capacity/community)."""
        got = self._skill_members.get(skill)
        if got is None:
            bit = np.uint64(1) << np.uint64(skill)
            got = np.flatnonzero((self.members.skills & bit) != 0)
            self._skill_members[skill] = got
        return got

    def tree(self, key: tuple[int, int]) -> tuple[cKDTree | None, np.ndarray, float]:
        """(tree or None, member indices in tree order, min member term)."""
        got = self._trees.get(key)
        if got is None:
            idx = self.skill_members(key[0])
            idx = idx[self.remaining[idx] > 0]
            if not self.cross_allowed:
                idx = idx[self.members.community[idx] == key[1]]
            if len(idx):
                got = (cKDTree(self.xyz[idx]), idx, float(self.term[idx].min()))
            else:
                got = (None, idx, math.inf)
            self._trees[key] = got
        return got

    def member_index(self, ids: np.ndarray) -> np.ndarray:
        """Indices for member ids; -1 where unknown."""
        ids = np.asarray(ids, dtype=np.int64)
        pos = np.searchsorted(self._sorted_ids, ids)
        pos = np.minimum(pos, max(len(self._sorted_ids) - 1, 0))
        if not len(self._sorted_ids):
            return np.full(len(ids), -1, dtype=np.int64)
        ok = self._sorted_ids[pos] == ids
        return np.where(ok, self._id_order[pos], -1)


class _Problem:
    """Slots + members + weights + exclusions, preprocessed for vector math."""

    def __init__(
        self,
        slots: SlotArrays,
        members: MemberArrays,
        weights: Weights | None,
        excluded: Iterable[tuple[int, int]],
        index: MemberIndex | None,
    ) -> None:
        self.w = weights or Weights()
        if index is None or index.members is not members or index.weights != self.w:
            index = MemberIndex(members, self.w)
        self.index = index
        self.slots = slots
        self.members = members
        self.S = len(slots)
        self.M = len(members)
        self.slot_xyz = _unit_xyz(slots.lat, slots.lon)
        self.slot_xyz_cols = tuple(np.ascontiguousarray(self.slot_xyz[:, i]) for i in range(3))
        self.window_cols = _mask_columns(slots.window)
        # Compact order numbers so (order, member) pairs fit one int64 key.
        self.orders, self.slot_order = np.unique(slots.order_id, return_inverse=True)
        self.slot_order = self.slot_order.astype(np.int64)
        self.n_orders = len(self.orders)
        pairs = np.array(list(excluded), dtype=np.int64).reshape(-1, 2)
        keys = np.empty(0, dtype=np.int64)
        if len(pairs) and self.n_orders:
            o_pos = np.searchsorted(self.orders, pairs[:, 0])
            o_pos = np.minimum(o_pos, self.n_orders - 1)
            m_idx = index.member_index(pairs[:, 1])
            ok = (self.orders[o_pos] == pairs[:, 0]) & (m_idx >= 0)
            keys = np.unique(o_pos[ok] * self.M + m_idx[ok])
        self.excluded_keys = keys
        self.slot_key = [
            index.key(sk, cm)
            for sk, cm in zip(slots.skill.tolist(), slots.community.tolist(), strict=True)
        ]
        self._groups: dict[tuple[int, int], np.ndarray] | None = None
        self._classes()

    def _classes(self) -> None:
        """Identical slots of one order (same place, skill, window and
        community: every slot of an order, in practice) form a *class*.
        The solver sees one node per class, with as many units as slots,
        and arcs of capacity 1 to members: that is the rule "one member
        at most once per order" without a gadget node per (order, member).
        ``slot_class``, ``class_size``, ``class_order``, and the slots of
        class ``c`` in ``class_slots[class_ptr[c]:class_ptr[c + 1]]``."""
        sl = self.slots
        cols = [
            self.slot_order,
            sl.skill,
            sl.window[:, 0],
            sl.window[:, 1],
            sl.window[:, 2],
            sl.lat,
            sl.lon,
            sl.community,
        ]
        order = np.lexsort(cols[::-1]) if self.S else np.empty(0, dtype=np.int64)
        new = np.zeros(self.S, dtype=bool)
        new[:1] = True
        for col in cols:
            c = col[order]
            new[1:] |= c[1:] != c[:-1]
        self.slot_class = np.empty(self.S, dtype=np.int64)
        self.slot_class[order] = np.cumsum(new) - 1
        self.n_classes = int(new.sum())
        self.class_size = np.bincount(self.slot_class, minlength=self.n_classes)
        self.class_slots = np.argsort(self.slot_class, kind="stable")
        self.class_ptr = np.zeros(self.n_classes + 1, dtype=np.int64)
        np.cumsum(self.class_size, out=self.class_ptr[1:])
        self.class_order = self.slot_order[self.class_slots[self.class_ptr[:-1]]]

    # -- pair level -------------------------------------------------------
    def is_excluded(self, s: np.ndarray, m: np.ndarray) -> np.ndarray:
        if not len(self.excluded_keys):
            return np.zeros(len(s), dtype=bool)
        keys = self.slot_order[s] * self.M + m
        pos = np.minimum(np.searchsorted(self.excluded_keys, keys), len(self.excluded_keys) - 1)
        found: np.ndarray = self.excluded_keys[pos] == keys
        return found

    def feasible(self, s: np.ndarray, m: np.ndarray, in_key: bool = False) -> np.ndarray:
        """All hard constraints except the within-batch ones.  ``in_key``:
        every member comes from its slot's tree, so skill, capacity and
        community hold already."""
        mem, sl = self.members, self.slots
        ok = _overlap_at(self.window_cols, s, self.index.avail_cols, m)
        if not in_key:
            bit = np.left_shift(np.uint64(1), sl.skill[s].astype(np.uint64))
            ok &= (mem.skills[m] & bit) != 0
            ok &= self.index.remaining[m] > 0
            if self.w.cross_community is None:
                ok &= sl.community[s] == mem.community[m]
        ok &= ~self.is_excluded(s, m)
        return ok

    def cost(self, s: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(total cost, km, crosses community) for pair arrays."""
        a, b = self.slot_xyz_cols, self.index.xyz_cols
        d2 = np.take(a[0], s) - np.take(b[0], m)
        d2 *= d2
        for i in (1, 2):
            di = np.take(a[i], s) - np.take(b[i], m)
            di *= di
            d2 += di
        km = _chord_km(np.sqrt(d2, out=d2))
        cross = self.slots.community[s] != self.members.community[m]
        total = self.w.per_km * km + self.index.term[m]
        if self.w.cross_community:
            total += self.w.cross_community * cross
        return total, km, cross

    def breakdowns(
        self,
        s: np.ndarray,
        m: np.ndarray,
        costs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> list[dict[str, Any]]:
        """Human-checkable cost breakdowns for pair arrays (``costs``: what
        :meth:`cost` returns for them, when the caller has it)."""
        w, mem = self.w, self.members
        total, km, cross = costs if costs is not None else self.cost(s, m)
        load, week = mem.load[m], mem.week_load[m]
        rating_used = self.index.rating_used[m]
        raw = mem.rating[m]
        penalty = w.cross_community or 0.0
        # each term as a column, then one dict per pair
        columns = zip(
            km.tolist(),
            load.tolist(),
            mem.cap[m].tolist(),
            week.tolist(),
            [None if math.isnan(r) else r for r in raw.tolist()],
            rating_used.tolist(),
            cross.tolist(),
            (w.per_km * km).tolist(),
            (w.load * load).tolist(),
            (w.week_load * week).tolist(),
            (w.rating * (5.0 - rating_used)).tolist(),
            np.where(cross, penalty, 0.0).tolist(),
            total.tolist(),
            strict=True,
        )
        return [
            {
                "distance_km": d,
                "load": ld,
                "cap": cap,
                "week_load": wk,
                "rating": rr,
                "rating_used": ru,
                "cross_community": c,
                "cost_distance": cd,
                "cost_load": cl,
                "cost_week_load": cw,
                "cost_rating": cr,
                "cost_cross_community": cc,
                "total": t,
            }
            for d, ld, cap, wk, rr, ru, c, cd, cl, cw, cr, cc, t in columns
        ]

    def big(self) -> float:
        """Cost of leaving a slot unassigned: exceeds n_slots x (largest
        possible pair cost in the *full* problem), see :mod:`.batch`."""
        if not self.S or not self.M:
            self.cmax = 0.0
            return 1.0
        pts_s, pts_m = self.slot_xyz, self.index.xyz
        cs, cm = pts_s.mean(axis=0), pts_m.mean(axis=0)
        rs = np.sqrt(((pts_s - cs) ** 2).sum(axis=1)).max()
        rm = np.sqrt(((pts_m - cm) ** 2).sum(axis=1)).max()
        chord = float(np.sqrt(((cs - cm) ** 2).sum()) + rs + rm)
        cmax = self.w.per_km * float(_chord_km(chord)) + float(self.index.term.max())
        cmax += self.w.cross_community or 0.0
        self.cmax = cmax
        return (self.S + 1) * (cmax + 1.0)

    def explain(self, s: int) -> tuple[str, dict[str, int]]:
        """Why slot ``s`` has no feasible member (see :class:`Reason`)."""
        sl, mem, idx = self.slots, self.members, self.index
        pool = idx.skill_members(int(sl.skill[s]))
        detail = {"with_skill": len(pool)}
        if not len(pool):
            return Reason.NO_SKILL, detail
        if self.w.cross_community is None:
            pool = pool[mem.community[pool] == sl.community[s]]
            detail["in_community"] = len(pool)
            if not len(pool):
                return Reason.OTHER_COMMUNITY, detail
        pool = pool[idx.remaining[pool] > 0]
        detail["with_capacity"] = len(pool)
        if not len(pool):
            return Reason.ALL_AT_CAPACITY, detail
        pool = pool[masks_overlap(sl.window[s], mem.availability[pool])]
        detail["available"] = len(pool)
        if not len(pool):
            return Reason.NONE_AVAILABLE, detail
        pool = pool[~self.is_excluded(np.full(len(pool), s), pool)]
        detail["not_excluded"] = len(pool)
        if not len(pool):
            return Reason.EXCLUDED, detail
        return Reason.BATCH_CAPACITY, detail

    def groups(self) -> dict[tuple[int, int], np.ndarray]:
        """Slot indices grouped by tree key (computed once)."""
        if self._groups is None:
            out: dict[tuple[int, int], list[int]] = {}
            for i, key in enumerate(self.slot_key):
                out.setdefault(key, []).append(i)
            self._groups = {key: np.asarray(v, dtype=np.int64) for key, v in out.items()}
        return self._groups


def _query(
    tree: cKDTree, pts: np.ndarray, k: int, workers: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    # Threads only pay off for big batches (each call starts its own).
    if len(pts) * k < 50_000:
        workers = 1
    d, j = tree.query(pts, k=k, workers=workers)
    return d.reshape(len(pts), k), j.reshape(len(pts), k)


def _build_plan(
    prob: _Problem, slot_member: np.ndarray, method: str, stats: dict[str, Any]
) -> Plan:
    S = prob.S
    cost = np.full(S, np.nan)
    km = np.full(S, np.nan)
    s_idx = np.flatnonzero(slot_member >= 0)
    m_idx = slot_member[s_idx]
    assignments: list[Assignment] = []
    if len(s_idx):
        costs = prob.cost(s_idx, m_idx)
        total, dist, _ = costs
        cost[s_idx] = total
        km[s_idx] = dist
        assignments = list(
            map(
                Assignment,
                prob.slots.id[s_idx].tolist(),
                prob.members.id[m_idx].tolist(),
                total.tolist(),
                prob.breakdowns(s_idx, m_idx, costs),
            )
        )
    unassigned = []
    for s in np.flatnonzero(slot_member < 0).tolist():
        reason, detail = prob.explain(s)
        unassigned.append(Unassigned(int(prob.slots.id[s]), reason, detail))
    return Plan(method, assignments, unassigned, slot_member, cost, km, stats)


def pair_cost(
    slots: SlotArrays,
    members: MemberArrays,
    weights: Weights | None,
    slot_index: np.ndarray,
    member_index: np.ndarray,
) -> np.ndarray:
    """Soft cost of (slot index, member index) pairs, for reporting/tests."""
    prob = _Problem(slots, members, weights, (), None)
    return prob.cost(
        np.asarray(slot_index, dtype=np.int64), np.asarray(member_index, dtype=np.int64)
    )[0]
