"""Benchmark the dispatch engine on a synthetic city (run by hand, not a test).

    python bench/dispatch.py --slots 10000 --members 5000 --scenario clustered
    python bench/dispatch.py --slots 2000 --members 1000 --json

The city is Cenxi-sized: a 30 km x 30 km square around (22.92 N, 110.99 E).
Members are spread uniformly; slots are uniform too (``uniform``) or 20% of
them fall in ten hot spots of ~0.5 km (``clustered``; ``--hot`` changes
that), where the few nearby members are quickly full so that k-nearest
candidates alone would strand slots and serving them takes members from
kilometres away.  Six skills, members hold 1-3 of them, most availability is wide
(daytime every day) and slot windows are 2-4 hour daytime windows, so nearly
every skill match is also time-feasible.  Costs are dominated by distance.

For the engine (:func:`assign`), the greedy baseline and, when the dense
capacity-expanded matrix fits (``--exact auto``: up to 15 M cells, i.e. the
2,000 x 1,000 size), the dense exact reference, it reports wall seconds, peak
memory, slots assigned and total / maximum km, plus the ratios greedy/engine
and engine/exact.  Each method runs in forked child processes: wall time and
peak-RSS growth (``rss_peak_mb``) come from untraced runs (the fastest of
``--repeat``), ``peak_mb`` from one more run under ``tracemalloc``; ``cpu_s`` is the
process CPU time of the timed run and ``steal_pct`` the share of all CPU time
the hypervisor took for other guests while the method ran (``/proc/stat``):
when it is high, the machine is shared and wall times are stretched.  Needs no
Django; ``--json`` prints one JSON object (keys ``engine``, ``greedy``,
``exact`` -- null when skipped -- plus ``config``, ``ratios``, ``suggest``
and ``machine``: milliseconds for four fixed workloads, to compare runs made
on different machines).

Suggestions (``--suggest N``, 0 = skip): for N random slots of the city,
the top 5 members by :func:`suggest` with a cached member index (the k-d
trees built once), with a new index per call (what one request to the
suggestions page or API does: it builds the tree of the slot's skill), and
by a scan of every member with the engine's own feasibility and cost; it
prints the median and 95th percentile milliseconds per call, the scan's
ratio, and how many of the N top-5 lists agree with the scan.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow
from scipy.spatial import cKDTree

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from linli.dispatch.engine import (  # noqa: E402
    MemberArrays,
    MemberIndex,
    Plan,
    SlotArrays,
    Weights,
    assign,
    dense_exact,
    full_mask,
    greedy,
    suggest,
    weekly_mask,
)
from linli.dispatch.engine.problem import _Problem  # noqa: E402

CENTER_LAT, CENTER_LON = 22.92, 110.99
HALF_SIDE_KM = 15.0
N_SKILLS = 6
# clustered: this share of the slots falls in HOT_SPOTS Gaussian blobs
HOT_SHARE, HOT_SPOTS, HOT_SIGMA_KM = 0.2, 10, 0.5
SKILL_SHARE = np.array([0.28, 0.22, 0.17, 0.14, 0.11, 0.08])
# Distance dominates; the other terms break near-ties sensibly.
BENCH_WEIGHTS = Weights(per_km=1.0, load=0.3, week_load=0.05, rating=0.2, cross_community=None)


def _to_latlon(xy_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = CENTER_LAT + xy_km[:, 1] / 111.32
    lon = CENTER_LON + xy_km[:, 0] / (111.32 * np.cos(np.radians(CENTER_LAT)))
    return lat, lon


def _mask_rows(masks: list[np.ndarray], n: int) -> np.ndarray:
    return np.array(masks, dtype=np.uint64).reshape(n, 3)


def make_city(
    n_slots: int,
    n_members: int,
    cap: int = 3,
    scenario: str = "uniform",
    seed: int = 0,
    multi: float = 0.0,
    hot: tuple[float, int, float] | None = None,
) -> tuple[SlotArrays, MemberArrays, Weights]:
    """Synthetic instance.  ``multi`` = share of slots in 2-slot orders;
    ``hot`` = (share of slots, number of spots, spot sigma km) for
    ``clustered``."""
    hot_share, hot_spots, hot_sigma = hot or (HOT_SHARE, HOT_SPOTS, HOT_SIGMA_KM)
    rng = np.random.default_rng(seed)
    # Members: uniform over the square.
    m_xy = rng.uniform(-HALF_SIDE_KM, HALF_SIDE_KM, (n_members, 2))
    m_lat, m_lon = _to_latlon(m_xy)
    skills = np.zeros(n_members, dtype=np.uint64)
    n_sk = rng.choice([1, 2, 3], size=n_members, p=[0.35, 0.4, 0.25])
    for i in range(n_members):
        for code in rng.choice(N_SKILLS, size=n_sk[i], replace=False, p=SKILL_SHARE):
            skills[i] |= np.uint64(1) << np.uint64(code)
    daytime = weekly_mask([(d, 7 * 60, 22 * 60) for d in range(7)])
    evenings = weekly_mask(
        [(d, 17 * 60, 23 * 60) for d in range(5)] + [(5, 8 * 60, 20 * 60), (6, 8 * 60, 20 * 60)]
    )
    weekdays = weekly_mask([(d, 8 * 60, 18 * 60) for d in range(5)])
    kind = rng.choice(4, size=n_members, p=[0.55, 0.25, 0.1, 0.1])
    avail = _mask_rows([[full_mask(), daytime, evenings, weekdays][k] for k in kind], n_members)
    load = rng.choice([0, 1, 2], size=n_members, p=[0.7, 0.25, 0.05])
    load = np.minimum(load, cap - 1)
    rating = np.round(rng.uniform(3.0, 5.0, n_members), 1)
    rating[rng.random(n_members) < 0.2] = np.nan
    members = MemberArrays(
        id=np.arange(1, n_members + 1),
        lat=m_lat,
        lon=m_lon,
        skills=skills,
        availability=avail,
        load=load,
        cap=np.full(n_members, cap),
        week_load=rng.integers(0, 6, n_members),
        rating=rating,
        community=np.zeros(n_members, dtype=np.int64),
    )

    # Slots.
    if scenario == "uniform":
        s_xy = rng.uniform(-HALF_SIDE_KM, HALF_SIDE_KM, (n_slots, 2))
    elif scenario == "clustered":
        n_hot = int(hot_share * n_slots)
        centers = rng.uniform(-10, 10, (hot_spots, 2))
        blobs = centers[rng.integers(0, hot_spots, n_hot)] + rng.normal(0, hot_sigma, (n_hot, 2))
        s_xy = np.vstack([blobs, rng.uniform(-HALF_SIDE_KM, HALF_SIDE_KM, (n_slots - n_hot, 2))])
        s_xy = s_xy[rng.permutation(n_slots)]
    else:
        raise ValueError(f"unknown scenario {scenario!r}")
    s_xy = np.clip(s_xy, -HALF_SIDE_KM, HALF_SIDE_KM)
    s_lat, s_lon = _to_latlon(s_xy)
    s_skill = rng.choice(N_SKILLS, size=n_slots, p=SKILL_SHARE)
    day = rng.integers(0, 7, n_slots)
    start_h = rng.integers(8, 19, n_slots)
    length = rng.integers(2, 5, n_slots)
    windows = _mask_rows(
        [
            weekly_mask([(int(d), int(h) * 60, int(h + ln) * 60)])
            for d, h, ln in zip(day, start_h, length, strict=True)
        ],
        n_slots,
    )
    # Orders: most have one slot; a share ``multi`` of slots come in pairs
    # sharing location, skill and window.
    order_id = np.arange(1, n_slots + 1)
    n_pairs = int(multi * n_slots) // 2
    for p in range(n_pairs):
        a, b = 2 * p, 2 * p + 1
        order_id[b] = order_id[a]
        s_lat[b], s_lon[b], s_skill[b], windows[b] = s_lat[a], s_lon[a], s_skill[a], windows[a]
    slots = SlotArrays(
        id=np.arange(1, n_slots + 1),
        order_id=order_id,
        lat=s_lat,
        lon=s_lon,
        skill=s_skill,
        window=windows,
        community=np.zeros(n_slots, dtype=np.int64),
    )
    return slots, members, BENCH_WEIGHTS


def _flow_workload(
    rng: np.random.Generator, n_slots: int = 4000, n_members: int = 2000, k: int = 8
) -> tuple[np.ndarray, ...]:
    """A fixed min-cost flow like the engine's: slots in a unit square, each
    joined to its ``k`` nearest of ``n_members`` members (capacity 3, so
    two thirds of the capacity is needed) at integer distance costs, members
    to a sink.  Returns (tails, heads, capacities, costs, supplies)."""
    s_xy, m_xy = rng.random((n_slots, 2)), rng.random((n_members, 2))
    d, j = cKDTree(m_xy).query(s_xy, k)
    sink = n_slots + n_members
    tails = np.concatenate([np.repeat(np.arange(n_slots), k), n_slots + np.arange(n_members)])
    heads = np.concatenate([n_slots + j.ravel(), np.full(n_members, sink)])
    caps = np.concatenate([np.ones(n_slots * k, dtype=np.int64), np.full(n_members, 3)])
    costs = np.concatenate(
        [np.rint(d.ravel() * 1e9).astype(np.int64), np.zeros(n_members, np.int64)]
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_slots] = 1
    supplies[sink] = -n_slots
    return tails, heads, caps, costs, supplies


def machine_speed() -> dict[str, float]:
    """Milliseconds (fastest of 3) for four fixed workloads, printed beside
    the figures so that runs on different machines can be compared.  The
    engine's time is about half OR-tools min-cost-flow solves, which wait on
    memory and suffer most from a busy host's shared caches (the last
    workload: one such solve), and half many small numpy calls, which a slow
    or busy virtual machine stretches far more than one big compiled call."""
    rng = np.random.default_rng(0)
    big = rng.random(1_000_000)
    small = rng.random(100)
    flow_arcs = _flow_workload(rng)

    def python_loop() -> None:
        total = 0
        for i in range(2_000_000):
            total += i

    def small_numpy() -> None:
        for _ in range(20_000):
            np.add(small, small)

    def sort_1m() -> None:
        np.sort(big)

    def min_cost_flow() -> None:
        flow = SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(*flow_arcs[:4])
        flow.set_nodes_supplies(np.arange(len(flow_arcs[4])), flow_arcs[4])
        if flow.solve_max_flow_with_min_cost() != flow.OPTIMAL:
            raise RuntimeError("the reference min-cost flow did not solve")

    out = {}
    for name, fn in [
        ("python_2m_adds_ms", python_loop),
        ("numpy_20k_small_calls_ms", small_numpy),
        ("numpy_sort_1m_ms", sort_1m),
        ("ortools_flow_ms", min_cost_flow),
    ]:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        out[name] = round(best * 1000, 1)
    return out


def _cpu_ticks() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs so far, from /proc/stat (0, 0 where
    there is none).  Steal is time the hypervisor gave this machine's CPUs to
    someone else: on a shared host it stretches wall times."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0, 0
    steal = fields[7] if len(fields) > 7 else 0
    return steal, sum(fields[:8])


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(fn: Callable[[], Plan], traced: bool, conn: Any) -> None:
    try:
        rss0 = _rss_mb()
        if traced:
            tracemalloc.start()
        t0 = time.perf_counter()
        c0 = time.process_time()
        plan = fn()
        wall = time.perf_counter() - t0
        out: dict[str, Any] = {
            "wall_s": wall,
            "cpu_s": time.process_time() - c0,
            "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0,
            "assigned": plan.n_assigned,
            "total_km": plan.total_km,
            "max_km": plan.max_km,
            "total_cost": plan.total_cost,
        }
        if traced:
            out["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        stats = {k: v for k, v in plan.stats.items() if isinstance(v, (int, float, bool, str))}
        out["stats"] = stats
        conn.send(out)
    except BaseException as exc:  # report, never hang the parent
        conn.send({"error": f"{type(exc).__name__}: {exc}"})


def measure(fn: Callable[[], Plan], repeat: int = 1) -> dict[str, Any]:
    """Untraced runs for wall time / RSS (the fastest of ``repeat`` is kept:
    other work on the machine only ever slows a run down), then one traced
    run for the tracemalloc peak.  Each run is a fresh forked process."""
    ctx = mp.get_context("fork")
    timed: dict[str, Any] | None = None
    steal0, total0 = _cpu_ticks()
    for traced in [False] * max(1, repeat) + [True]:
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(fn, traced, send))
        proc.start()
        result: dict[str, Any] = recv.recv()
        proc.join()
        if "error" in result:
            return result
        if traced:
            assert timed is not None
            timed["peak_mb"] = result["peak_mb"]
        elif timed is None or result["wall_s"] < timed["wall_s"]:
            timed = result
    assert timed is not None
    steal1, total1 = _cpu_ticks()
    timed["steal_pct"] = 100.0 * (steal1 - steal0) / max(total1 - total0, 1)
    return timed


def _scan_top(
    s: int, slots: SlotArrays, members: MemberArrays, weights: Weights, index: MemberIndex, k: int
) -> list[int]:
    """Top-``k`` member ids for slot ``s`` by checking every member (the
    engine's feasibility and cost, ranked as :func:`suggest` ranks)."""
    prob = _Problem(slots.subset(np.array([s])), members, weights, (), index)
    m = np.arange(len(members))
    m = m[prob.feasible(np.zeros(len(m), dtype=np.int64), m)]
    total, km, _ = prob.cost(np.zeros(len(m), dtype=np.int64), m)
    top: list[int] = members.id[m[np.lexsort((members.id[m], km, total))[:k]]].tolist()
    return top


def suggest_figures(
    slots: SlotArrays, members: MemberArrays, weights: Weights, n: int, seed: int, k: int = 5
) -> dict[str, Any]:
    """Milliseconds per :func:`suggest` call (median, 95th percentile) with
    a cached index and with a new one per call, against a full scan."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(slots), size=min(n, len(slots)), replace=False)
    index = MemberIndex(members, weights)
    times: dict[str, list[float]] = {"cached_index": [], "new_index": [], "scan": []}
    same = 0
    for s in picks.tolist():
        t0 = time.perf_counter()
        got = suggest(s, slots, members, weights, k=k, index=index)
        t1 = time.perf_counter()
        suggest(s, slots, members, weights, k=k)
        t2 = time.perf_counter()
        top = _scan_top(s, slots, members, weights, index, k)
        t3 = time.perf_counter()
        times["cached_index"].append(t1 - t0)
        times["new_index"].append(t2 - t1)
        times["scan"].append(t3 - t2)
        same += [c.member_id for c in got.candidates] == top
    out: dict[str, Any] = {"calls": len(picks), "members": len(members), "k": k}
    for name, ts in times.items():
        ms = 1000 * np.array(ts)
        out[f"{name}_ms"] = {
            "median": round(float(np.median(ms)), 3),
            "p95": round(float(np.percentile(ms, 95)), 3),
        }
    out["scan_over_cached"] = out["scan_ms"]["median"] / out["cached_index_ms"]["median"]
    out["same_top"] = same
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    hot = None
    if args.hot:
        share, spots, sigma = args.hot.split(",")
        hot = (float(share), int(spots), float(sigma))
    slots, members, weights = make_city(
        args.slots, args.members, args.cap, args.scenario, args.seed, args.multi, hot
    )
    out: dict[str, Any] = {
        "config": {
            "slots": args.slots,
            "members": args.members,
            "cap": args.cap,
            "scenario": args.scenario,
            "seed": args.seed,
            "multi": args.multi,
            "hot": args.hot or f"{HOT_SHARE},{HOT_SPOTS},{HOT_SIGMA_KM}",
            "repeat": args.repeat,
        }
    }
    out["engine"] = measure(lambda: assign(slots, members, weights), args.repeat)
    out["greedy"] = measure(lambda: greedy(slots, members, weights), args.repeat)
    # dense_exact refuses (MemoryError) beyond max_cells; "auto" allows the
    # 2,000 x 1,000 size (~10 M cells, ~100 MB) but not 10,000 x 5,000.
    out["exact"] = None
    if args.exact != "never":
        cells = 15_000_000 if args.exact == "auto" else 10**10
        exact = measure(lambda: dense_exact(slots, members, weights, max_cells=cells))
        if not str(exact.get("error", "")).startswith("MemoryError"):
            out["exact"] = exact
    eng, gre, ex = out["engine"], out["greedy"], out["exact"]
    ratios: dict[str, float | None] = {}
    if "total_km" in eng and "total_km" in gre:
        ratios["greedy_over_engine_km"] = gre["total_km"] / eng["total_km"]
    if ex and "total_km" in ex and "total_km" in eng:
        ratios["engine_over_exact_km"] = eng["total_km"] / ex["total_km"]
        ratios["engine_over_exact_cost"] = eng["total_cost"] / ex["total_cost"]
        ratios["assigned_engine_minus_exact"] = eng["assigned"] - ex["assigned"]
    out["ratios"] = ratios
    out["suggest"] = (
        suggest_figures(slots, members, weights, args.suggest, args.seed) if args.suggest else None
    )
    out["machine"] = machine_speed()
    return out


def _print_table(out: dict[str, Any]) -> None:
    cfg = out["config"]
    hot = f" (hot spots {cfg['hot']})" if cfg["scenario"] == "clustered" else ""
    print(
        f"{cfg['slots']} slots x {cfg['members']} members, cap {cfg['cap']}, "
        f"{cfg['scenario']}{hot}, seed {cfg['seed']}, multi-slot share {cfg['multi']}"
    )
    print(
        f"{'method':8} {'wall_s':>8} {'cpu_s':>8} {'steal%':>6} {'peak_mb':>8} {'rss_mb':>8} "
        f"{'assigned':>8} {'total_km':>12} {'max_km':>8}"
    )
    for name in ("engine", "greedy", "exact"):
        r = out[name]
        if r is None:
            print(f"{name:8} skipped (dense matrix too large)")
            continue
        if "error" in r:
            print(f"{name:8} ERROR {r['error']}")
            continue
        print(
            f"{name:8} {r['wall_s']:8.3f} {r['cpu_s']:8.3f} {r['steal_pct']:6.1f} "
            f"{r['peak_mb']:8.1f} {r['rss_peak_mb']:8.1f} "
            f"{r['assigned']:8d} {r['total_km']:12.3f} {r['max_km']:8.3f}"
        )
    for key, value in out["ratios"].items():
        print(f"{key}: {value:.6f}" if isinstance(value, float) else f"{key}: {value}")
    sg = out["suggest"]
    if sg:

        def ms(name: str) -> str:
            return f"median {sg[name]['median']:.3f} / p95 {sg[name]['p95']:.3f} ms"

        print(
            f"suggest top {sg['k']} of {sg['members']} members, {sg['calls']} slots: "
            f"cached index {ms('cached_index_ms')}; new index per call {ms('new_index_ms')}; "
            f"full scan {ms('scan_ms')} (scan / cached {sg['scan_over_cached']:.1f}x); "
            f"same top {sg['k']} as the scan: {sg['same_top']}/{sg['calls']}"
        )
    print("machine: " + ", ".join(f"{k}={v}" for k, v in out["machine"].items()))
    st = out["engine"].get("stats", {})
    if st:
        print(
            "engine stats: "
            + ", ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in st.items()
            )
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--slots", type=int, default=2000)
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--cap", type=int, default=3)
    ap.add_argument("--scenario", choices=["uniform", "clustered"], default="uniform")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--multi", type=float, default=0.0, help="share of slots in 2-slot orders")
    ap.add_argument(
        "--hot",
        help=f"clustered: SHARE,SPOTS,SIGMA_KM (default {HOT_SHARE},{HOT_SPOTS},{HOT_SIGMA_KM})",
    )
    ap.add_argument("--exact", choices=["auto", "always", "never"], default="auto")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per method, fastest kept")
    ap.add_argument(
        "--suggest", type=int, default=200, help="slots to time suggestions on (0 = skip)"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    out = run(args)
    if args.json:
        print(json.dumps(out))
    else:
        _print_table(out)


if __name__ == "__main__":
    main()
