"""Rank the members for one slot (:func:`suggest`)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from linli.dispatch.engine.geometry import _chord_km
from linli.dispatch.engine.model import (
    Candidate,
    MemberArrays,
    SlotArrays,
    SlotSpec,
    Suggestion,
    Weights,
)
from linli.dispatch.engine.problem import MemberIndex, _Problem, _query


def suggest(
    slot: int | SlotSpec,
    slots: SlotArrays | None,
    members: MemberArrays,
    weights: Weights | None = None,
    *,
    k: int = 5,
    excluded: Iterable[tuple[int, int]] = (),
    index: MemberIndex | None = None,
) -> Suggestion:
    """Top-``k`` feasible members for one slot, cheapest first, exact.

    ``slot`` is an index into ``slots`` or a :class:`SlotSpec` (then ``slots``
    may be None).  ``excluded`` holds (order_id, member_id) pairs already on
    orders.  Pass a cached :class:`MemberIndex` to skip building k-d trees.

    The member tree for the slot's skill (and community) is queried with a
    growing k until the k-th best cost found is no larger than a lower bound
    on every unseen member (``per_km * distance of the farthest seen +
    cheapest member term``), so the ranking is exact without a full scan.
    """
    if isinstance(slot, SlotSpec):
        one = SlotArrays.from_specs([slot])
        s = 0
    else:
        if slots is None:
            raise ValueError("an index needs the slots arrays")
        one = slots.subset(np.array([int(slot)]))
        s = 0
    prob = _Problem(one, members, weights, excluded, index)
    w = prob.w
    tree, pool, term_min = prob.index.tree(prob.slot_key[s])
    found_m = np.empty(0, dtype=np.int64)
    if tree is not None:
        n = len(pool)
        kq = min(n, max(2 * k, 16))
        point = prob.slot_xyz[s : s + 1]
        while True:
            d, j = _query(tree, point, kq)
            m = pool[j[0]]
            ok = prob.feasible(np.zeros(kq, dtype=np.int64), m)
            found_m = m[ok]
            if kq >= n:
                break
            if len(found_m) >= k:
                costs = np.sort(prob.cost(np.zeros(len(found_m), dtype=np.int64), found_m)[0])
                unseen_lb = w.per_km * float(_chord_km(d[0, -1])) + term_min
                if unseen_lb >= costs[k - 1]:
                    break
            kq = min(n, kq * 4)
    slot_id = int(one.id[s])
    if not len(found_m):
        reason, detail = prob.explain(s)
        return Suggestion(slot_id, [], reason, detail)
    zeros = np.zeros(len(found_m), dtype=np.int64)
    total, km, _ = prob.cost(zeros, found_m)
    order = np.lexsort((members.id[found_m], km, total))[:k]
    chosen = found_m[order]
    bds = prob.breakdowns(np.zeros(len(chosen), dtype=np.int64), chosen)
    cands = [
        Candidate(int(members.id[mi]), int(mi), float(bd["total"]), bd)
        for mi, bd in zip(chosen.tolist(), bds, strict=True)
    ]
    return Suggestion(slot_id, cands)
