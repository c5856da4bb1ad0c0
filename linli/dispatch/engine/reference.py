"""References to compare the engine with: the greedy baseline and the dense
exact optimum (for tests and benchmarks).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
from scipy.optimize import linear_sum_assignment

from linli.dispatch.engine.model import MemberArrays, Plan, SlotArrays, Weights
from linli.dispatch.engine.problem import MemberIndex, _build_plan, _Problem, _query


def _expand_copies(
    rows: np.ndarray, mem: np.ndarray, w: np.ndarray, copies: np.ndarray, col_base: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat each (row, member, weight) once per copy column of the member."""
    n = copies[mem]
    r = np.repeat(rows, n)
    starts = np.repeat(col_base[mem], n)
    offs = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    return r, starts + offs, np.repeat(w, n)


def greedy(
    slots: SlotArrays,
    members: MemberArrays,
    weights: Weights | None = None,
    *,
    excluded: Iterable[tuple[int, int]] = (),
    index: MemberIndex | None = None,
    workers: int = -1,
) -> Plan:
    """Baseline: slots in input order each take the nearest feasible member
    with spare capacity (respecting every hard constraint)."""
    t0 = time.perf_counter()
    prob = _Problem(slots, members, weights, excluded, index)
    S = prob.S
    spare = prob.index.remaining.copy()
    taken: set[tuple[int, int]] = set()
    slot_member = np.full(S, -1, dtype=np.int64)
    k0 = 16
    near: list[list[int]] = [[] for _ in range(S)]
    exhausted = np.zeros(S, dtype=bool)
    for key, group in prob.groups().items():
        tree, pool, _ = prob.index.tree(key)
        if tree is None:
            exhausted[group] = True
            continue
        kq = min(len(pool), k0)
        _, j = _query(tree, prob.slot_xyz[group], kq, workers)
        mm = pool[j]
        ok = prob.feasible(np.repeat(group, kq), mm.ravel()).reshape(len(group), kq)
        for row, s in enumerate(group.tolist()):
            near[s] = mm[row][ok[row]].tolist()
        exhausted[group] = kq >= len(pool)
    order = prob.slot_order.tolist()
    for s in range(S):
        o = order[s]
        choice = next((m for m in near[s] if spare[m] > 0 and (o, m) not in taken), -1)
        if choice < 0 and not exhausted[s]:
            tree, pool, _ = prob.index.tree(prob.slot_key[s])
            _, j = _query(tree, prob.slot_xyz[s : s + 1], len(pool))
            mm = pool[j[0]]
            mm = mm[prob.feasible(np.full(len(mm), s), mm)]
            choice = next((m for m in mm.tolist() if spare[m] > 0 and (o, m) not in taken), -1)
        if choice >= 0:
            slot_member[s] = choice
            spare[choice] -= 1
            taken.add((o, choice))
    return _build_plan(prob, slot_member, "greedy", {"wall_s": time.perf_counter() - t0})


def dense_exact(
    slots: SlotArrays,
    members: MemberArrays,
    weights: Weights | None = None,
    *,
    excluded: Iterable[tuple[int, int]] = (),
    max_cells: int = 60_000_000,
) -> Plan:
    """Reference optimum by ``scipy.optimize.linear_sum_assignment`` on the
    dense capacity-expanded matrix (every feasible pair, no sparsity).

    Rows are slots plus one "exit" row per (order, member) gadget; columns are
    member copies, gadget entries and one "unassigned" column per slot (cost
    BIG); infeasible cells are +inf.  Raises ``MemoryError`` when the matrix
    would exceed ``max_cells`` cells.  Meant for tests and benchmarks.
    """
    t0 = time.perf_counter()
    prob = _Problem(slots, members, weights, excluded, None)
    S, M = prob.S, prob.M
    s_all = np.repeat(np.arange(S), M)
    m_all = np.tile(np.arange(M), S)
    feas = prob.feasible(s_all, m_all).reshape(S, M)
    cost = np.full((S, M), np.inf)
    fs, fm = np.nonzero(feas)
    cost[fs, fm] = prob.cost(fs, fm)[0]
    cmax = float(cost[feas].max()) if feas.any() else 0.0
    big = (S + 1) * (cmax + 1.0)
    # gadgets: (order, member) with >= 2 feasible slots of the order
    om = prob.slot_order[fs] * M + fm
    uniq, inv, counts = np.unique(om, return_inverse=True, return_counts=True)
    gadget_keys = uniq[counts >= 2]
    G = len(gadget_keys)
    edge_g = np.full(len(fs), -1)
    if G:
        edge_g = np.where(counts[inv] >= 2, np.searchsorted(gadget_keys, om), -1)
    g_member = gadget_keys % M if G else np.empty(0, dtype=np.int64)
    copies = np.minimum(prob.index.remaining, S)
    copies[~feas.any(axis=0)] = 0
    col_base = np.concatenate([[0], np.cumsum(copies)])
    C = int(col_base[-1])
    rows, cols = S + G, C + G + S
    if rows * cols > max_cells:
        raise MemoryError(f"dense matrix {rows} x {cols} exceeds max_cells={max_cells}")
    mat = np.full((rows, cols), np.inf)
    direct = edge_g < 0
    r, c, w = _expand_copies(fs[direct], fm[direct], cost[fs[direct], fm[direct]], copies, col_base)
    mat[r, c] = w
    gd = ~direct
    mat[fs[gd], C + edge_g[gd]] = cost[fs[gd], fm[gd]]
    g_rows = S + np.arange(G)
    mat[g_rows, C + np.arange(G)] = 0.0
    r, c, w = _expand_copies(g_rows, g_member, np.zeros(G), copies, col_base)
    mat[r, c] = w
    mat[np.arange(S), C + G + np.arange(S)] = big
    r, c = linear_sum_assignment(mat)
    col_member = np.repeat(np.arange(M), copies)
    slot_col = c[:S] if len(r) else np.empty(0, dtype=np.int64)
    slot_member = np.full(S, -1, dtype=np.int64)
    to_copy = slot_col < C
    slot_member[to_copy] = col_member[slot_col[to_copy]]
    to_g = (slot_col >= C) & (slot_col < C + G)
    slot_member[to_g] = g_member[slot_col[to_g] - C]
    stats = {"wall_s": time.perf_counter() - t0, "matrix": (rows, cols), "gadgets": G}
    return _build_plan(prob, slot_member, "dense_exact", stats)
