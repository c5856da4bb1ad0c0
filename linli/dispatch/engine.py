"""Pure dispatch engine: rank members for a slot and assign a batch of slots.

No Django here.  The Django side turns model rows into :class:`SlotSpec` /
:class:`MemberSpec` (or builds :class:`SlotArrays` / :class:`MemberArrays`
directly), calls :func:`suggest` / :func:`assign`, and stores the result.

Vocabulary
==========
*slot*    one member position on an order; an order needing 3 members has 3
          slots sharing one ``order_id``.
*member*  a person in a service team, with skills, a location, a weekly
          availability, a current load, a cap on concurrent open slots, the
          number of orders taken this week and a recent mean rating.

Data layout (struct of arrays, numpy)
=====================================
* Skills are small integer codes ``0 <= code < 64``.  A member's skill set is
  stored as one ``uint64`` bitmask (bit ``code``); a slot needs one skill.
  64 distinct skills is far more than a community service catalogue needs.
* Time is an *hour-of-week* bitmask of 168 bits, bit 0 = Monday 00:00-01:00
  local wall-clock time, stored as three ``uint64`` words (shape ``(n, 3)``).
  Slots carry a *window* mask, members an *availability* mask; a pair is
  time-feasible when the masks intersect.  Build masks with
  :func:`window_mask` and :func:`weekly_mask`.  Granularity is one hour and an
  hour counts as soon as any part of it overlaps (documented approximation).
* Distances are great-circle (haversine) kilometres on a sphere of radius
  :data:`EARTH_RADIUS_KM`.  Internally points live on the 3-D unit sphere, where
  the chord length ``c`` gives the haversine distance ``2 R asin(c / 2)``
  exactly; k-d trees (``scipy.spatial.cKDTree``) index those 3-D points, so
  nearest by chord is nearest by great-circle distance.

Hard constraints (a pair violating any of them is never proposed)
==================================================================
1. the member has the slot's skill;
2. availability and window overlap;
3. capacity: the member can take ``cap - load`` more slots in a batch
   (members at or over their cap take none);
4. the same member is never twice on one order: pairs listed in ``excluded``
   (member already on that order) are infeasible, and within a batch two slots
   of one order never go to the same member;
5. community: equal communities unless ``Weights.cross_community`` is a number.

Soft cost of a pair (slot s, member m)
======================================
``per_km * km(s, m) + load * load_m + week_load * week_load_m
+ rating * (5 - rating_m) + cross_community * [community differs]``.

Unrated members (``NaN`` rating) count as ``Weights.unrated_rating`` (4.0 by
default: neither rewarded nor punished much).  Ratings are clipped to [1, 5]
so every term is >= 0.  ``load_m`` is the member's load *at the start of the
batch*: giving one member several slots in one batch does not raise the price
of the later ones.  That keeps the batch a pure min-cost transportation problem
(solvable exactly); the load term still spreads work across batches.

Exact batch assignment (:func:`assign`)
=======================================
Objective, lexicographic and exact: assign the maximum possible number of
slots, and among those assignments minimise the total cost.

Model.  A min-cost flow network: source -> slot (capacity 1) -> member
(capacity 1, cost c_sm) -> sink (capacity ``cap - load``), plus an
"unassigned" arc slot -> sink with cost ``BIG``.  The within-batch rule "two
slots of one order never share a member" adds a gadget node g = (order o,
member m) of capacity 1 between the slots of o and m whenever two or more
slots of o could use m.  A network-flow constraint matrix is totally
unimodular, so the LP relaxation has integral optima and LP duality applies.
``BIG`` exceeds ``n_slots x (largest possible pair cost)``: an augmenting path
adds at most one real arc per slot, so a flow leaving an assignable slot on
its "unassigned" arc can always be improved.  Minimum cost therefore means
maximum cardinality first, then minimum cost.

Pipeline (the steps only change speed; the certificate makes the result
exact):

1. Candidates.  Every slot gets its ``k`` nearest feasible members from a k-d
   tree per skill (per skill and community when crossing is forbidden).  A
   slot in a local *shortage* (more slots of its skill within its k-th
   nearest member than those k members can take: a hot spot) also gets
   members at a few geometrically spaced ranks out to its ``reach`` nearest,
   so that the first solve already lets a hot spot spill outwards.

2. Exact solve on the graph.  A min-cost flow network (slot -> member, or
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

3. Repairs.  When a round adds edges for at most a fifth of the slots, the
   flow at hand is repaired instead of solved again (:func:`_repair`, the C
   extension ``_repair.c``), on the solver's network of classes: each
   class with a new negative arc rises until no arc leaving it is
   negative and takes back the units whose way back that makes negative,
   which leaves every reduced cost >= 0; successive shortest paths
   (Dijkstra on reduced costs, one waiting unit at a time) then send those
   units where they are cheapest and keep the potentials valid, so the
   result is optimal on the grown graph and comes with its own potentials
   (no step 4).  The result is checked (every slot's unit sent,
   capacities, no negative reduced cost, on the class network and again on
   the per-slot one) before it is used; a repair that would take too long
   gives up and the graph is solved as below.  Without the extension (no
   C compiler at install time) the engine solves every round as below.

   Regional re-solves.  When a round adds edges for only a few slots and
   no repair was made, the next solve keeps most slots where they are:
   only the slots an improving cycle through the new edges could visit --
   within the new edges' reduced
   costs of both ends in the residual network, Dijkstra on reduced costs,
   split at the sink because a simple cycle passes it once -- are solved
   again, the others keep their members.  The result is accepted only if
   potentials settle on the whole graph (a bounded SPFA; settling proves
   optimality, since valid potentials exclude negative cycles); otherwise a
   wider region, then the whole graph, is solved.

4. Potentials.  Shortest-path distances ``pi`` in the residual network of the
   optimal flow (with the ``BIG`` arcs of unassigned slots; vectorised
   Bellman-Ford / SPFA from a virtual root; the optimal residual network has
   no negative cycle) give every residual arc a reduced cost
   ``c_ij + pi_i - pi_j >= 0``.

5. Certificate.  An arc missing from the graph keeps ``pi`` valid, and so the
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

6. Widening.  Violating pairs (per slot the ``k_add`` lowest reduced costs,
   nearly violating pairs of the same slots included) join the graph and
   steps 2-5 repeat.  When the first round moved many prices, every slot
   also gets its ``k_priced`` nearly cheapest members at those prices (a
   lifted 4-D k-d tree over ``(per_km * R_earth * xyz_m, h_m)``), so the
   second solve is nearly final.  The graph only grows and
   is finite, so this terminates (a slot that keeps failing gets all its
   feasible members at once, which bounds the rounds).  Before a whole-graph
   solve that follows a certificate pass, edges whose reduced cost at the
   last prices is far above a typical pair cost are *parked*: they leave
   the solver's graph (fewer arcs, a faster solve) and become watched
   pairs, so the certificate still checks them and brings back any that
   the new prices make attractive.  ``Plan.stats`` reports the counters.

Numerics: costs are float64 (the solver sees them rounded as in 2); reduced
costs are accepted down to about ``-1e-11 * BIG`` (micrometres for
city-sized instances).

Reasons when a slot has no feasible member (first failing filter wins)
======================================================================
``no_skill``         nobody has the skill at all;
``other_community``  people with the skill exist only in other communities
                     (and crossing is forbidden);
``all_at_capacity``  people with the skill in reach exist, all at their cap;
``none_available``   some have capacity, but none is free in the window;
``excluded``         the only possible people are already on this order.
:func:`assign` additionally uses ``batch_capacity``: feasible members exist but
their capacity is taken by other slots of the batch in every maximum
assignment.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

try:  # the flow repair in C (optional: without it, whole re-solves instead)
    from linli.dispatch import _repair as _repair_ext
except ImportError:  # pragma: no cover - built without a C compiler
    _repair_ext = None

__all__ = [
    "EARTH_RADIUS_KM",
    "HOURS_PER_WEEK",
    "MAX_SKILLS",
    "Reason",
    "Weights",
    "SlotSpec",
    "MemberSpec",
    "SlotArrays",
    "MemberArrays",
    "MemberIndex",
    "Candidate",
    "Suggestion",
    "Assignment",
    "Unassigned",
    "Plan",
    "window_mask",
    "weekly_mask",
    "full_mask",
    "skills_mask",
    "masks_overlap",
    "haversine_km",
    "slot_arrays",
    "member_arrays",
    "pair_cost",
    "suggest",
    "assign",
    "greedy",
    "dense_exact",
]

EARTH_RADIUS_KM = 6371.0088
HOURS_PER_WEEK = 168
MASK_WORDS = 3
MAX_SKILLS = 64
_WORD = 64
_ALL_WORD = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
# Word 2 only uses bits 128..167 -> 40 bits.
_LAST_WORD = np.uint64((1 << (HOURS_PER_WEEK - 2 * _WORD)) - 1)


class Reason:
    """Reason codes for a slot nobody can take (see module docstring)."""

    NO_SKILL = "no_skill"
    OTHER_COMMUNITY = "other_community"
    ALL_AT_CAPACITY = "all_at_capacity"
    NONE_AVAILABLE = "none_available"
    EXCLUDED = "excluded"
    BATCH_CAPACITY = "batch_capacity"


# ---------------------------------------------------------------------------
# Hour-of-week masks
# ---------------------------------------------------------------------------


def _mask_from_hours(hours: Iterable[int]) -> np.ndarray:
    words = [0, 0, 0]
    for h in hours:
        h %= HOURS_PER_WEEK
        words[h // _WORD] |= 1 << (h % _WORD)
    return np.array(words, dtype=np.uint64)


def full_mask() -> np.ndarray:
    """All 168 hours set: "always available" / "any time"."""
    return np.array([_ALL_WORD, _ALL_WORD, _LAST_WORD], dtype=np.uint64)


def _hours_touched(start_min: int, end_min: int) -> range:
    """Hours (counted from Monday 00:00, may exceed 167) overlapping the
    half-open minute interval [start_min, end_min) with positive length."""
    first = start_min // 60
    last = (end_min - 1) // 60  # an interval ending exactly on the hour stops before it
    return range(first, last + 1)


def weekly_mask(intervals: Iterable[tuple[int, int, int]]) -> np.ndarray:
    """Availability mask from ``[(weekday, start_minute, end_minute), ...]``.

    ``weekday`` 0 = Monday .. 6 = Sunday; minutes are local wall-clock minutes
    since midnight, ``0 <= start_minute < 1440`` and ``0 < end_minute <= 1440``.
    ``end_minute <= start_minute`` means the interval runs past midnight into
    the next day (Sunday wraps to Monday).  An hour is set when any part of it
    is inside an interval.  Returns shape ``(3,)`` uint64.
    """
    hours: list[int] = []
    for weekday, start, end in intervals:
        if not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be 0..6, got {weekday}")
        if not (0 <= start < 1440 and 0 < end <= 1440):
            raise ValueError(f"minutes out of range: {start}-{end}")
        base = weekday * 1440
        stop = end if end > start else end + 1440
        hours.extend(_hours_touched(base + start, base + stop))
    return _mask_from_hours(hours)


def _wall_clock(value: dt.datetime, tz: dt.tzinfo | None) -> dt.datetime:
    if value.tzinfo is not None and tz is not None:
        value = value.astimezone(tz)
    return value.replace(tzinfo=None)


def window_mask(start: dt.datetime, end: dt.datetime) -> np.ndarray:
    """Mask of the hours-of-week touched by the window ``[start, end)``.

    Naive and aware datetimes are both read as local wall-clock time (an aware
    ``end`` is first converted to ``start``'s time zone, so pass local times).
    A window of a week or longer sets every bit; a window crossing Sunday ->
    Monday wraps to bit 0.  ``end == start`` marks the single hour containing
    ``start``; ``end < start`` is an error.  Returns shape ``(3,)`` uint64.
    """
    a = _wall_clock(start, start.tzinfo)
    b = _wall_clock(end, start.tzinfo)
    if b < a:
        raise ValueError("window ends before it starts")
    if b - a >= dt.timedelta(days=7):
        return full_mask()
    start_min = a.weekday() * 1440 + a.hour * 60 + a.minute
    # Seconds inside the last minute still touch that minute.
    span = b - a
    span_min = math.ceil(span.total_seconds() / 60 + (a.second + a.microsecond / 1e6) / 60)
    end_min = start_min + max(span_min, 1)
    return _mask_from_hours(_hours_touched(start_min, end_min))


def masks_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise "do the hour masks intersect" for broadcastable ``(..., 3)``."""
    return np.bitwise_and(a, b).any(axis=-1)


def skills_mask(skills: Iterable[int]) -> np.uint64:
    """uint64 bitmask of skill codes (each ``0 <= code < 64``)."""
    value = 0
    for code in skills:
        code = int(code)
        if not 0 <= code < MAX_SKILLS:
            raise ValueError(f"skill code {code} outside 0..{MAX_SKILLS - 1}")
        value |= 1 << code
    return np.uint64(value)


def _as_mask(value: Any) -> np.ndarray:
    if value is None:
        return full_mask()
    arr = np.asarray(value, dtype=np.uint64).reshape(-1)
    if arr.shape != (MASK_WORDS,):
        raise ValueError("an hour mask is 3 uint64 words")
    return arr


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    cos_la = np.cos(la)
    return np.column_stack([cos_la * np.cos(lo), cos_la * np.sin(lo), np.sin(la)])


def _chord_km(chord: np.ndarray | float) -> np.ndarray:
    """Great-circle km for a unit-sphere chord (identical to haversine)."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(np.asarray(chord) / 2.0, 1.0))


def _km_chord(km: np.ndarray) -> np.ndarray:
    """Unit-sphere chord for great-circle km (the inverse of :func:`_chord_km`;
    negative km give 0, anything past half the globe the diameter 2)."""
    return 2.0 * np.sin(np.clip(km / (2.0 * EARTH_RADIUS_KM), 0.0, np.pi / 2))


def _xyz_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _chord_km(np.sqrt(((a - b) ** 2).sum(axis=-1)))


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km (vectorised haversine formula)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    """Cost weights, in "cost units" (default: 1 unit = 1 km of travel).

    ``cross_community=None`` forbids pairs across community lines; a number
    allows them at that penalty.  All weights must be finite and >= 0 (the
    exactness certificate relies on non-negative member terms).
    """

    per_km: float = 1.0
    load: float = 0.5  # per open slot the member already holds
    week_load: float = 0.2  # per order taken this week
    rating: float = 1.0  # per rating point below 5
    cross_community: float | None = None
    unrated_rating: float = 4.0  # rating used for members without one

    def __post_init__(self) -> None:
        for name in ("per_km", "load", "week_load", "rating"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"Weights.{name} must be finite and >= 0")
        if self.cross_community is not None and not (
            math.isfinite(self.cross_community) and self.cross_community >= 0
        ):
            raise ValueError("Weights.cross_community must be None or >= 0")
        if not 1.0 <= self.unrated_rating <= 5.0:
            raise ValueError("Weights.unrated_rating must be within 1..5")


@dataclass(frozen=True, eq=False)
class SlotSpec:
    """One open member position.  ``window`` is a 3-word hour mask (None =
    any time)."""

    id: int
    order_id: int
    lat: float
    lon: float
    skill: int
    window: Sequence[int] | np.ndarray | None = None
    community: int = 0


@dataclass(frozen=True, eq=False)
class MemberSpec:
    """One team member.  ``availability`` is a 3-word hour mask (None =
    always); ``rating`` None means unrated."""

    id: int
    lat: float
    lon: float
    skills: Iterable[int]
    availability: Sequence[int] | np.ndarray | None = None
    load: int = 0
    cap: int = 1
    week_load: int = 0
    rating: float | None = None
    community: int = 0


@dataclass(eq=False)
class SlotArrays:
    """Slots as parallel arrays (length n).  ``window`` has shape (n, 3)."""

    id: np.ndarray
    order_id: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    skill: np.ndarray
    window: np.ndarray
    community: np.ndarray

    def __post_init__(self) -> None:
        self.id = np.asarray(self.id, dtype=np.int64)
        n = len(self.id)
        self.order_id = np.asarray(self.order_id, dtype=np.int64)
        self.lat = np.asarray(self.lat, dtype=np.float64)
        self.lon = np.asarray(self.lon, dtype=np.float64)
        self.skill = np.asarray(self.skill, dtype=np.int64)
        self.window = np.asarray(self.window, dtype=np.uint64).reshape(n, MASK_WORDS)
        self.community = np.asarray(self.community, dtype=np.int64)
        for name in ("order_id", "lat", "lon", "skill", "community"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"SlotArrays.{name} has the wrong length")
        if n and (self.skill.min() < 0 or self.skill.max() >= MAX_SKILLS):
            raise ValueError(f"slot skill codes must be within 0..{MAX_SKILLS - 1}")
        if len(np.unique(self.id)) != n:
            raise ValueError("slot ids must be unique")

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def from_specs(cls, specs: Sequence[SlotSpec]) -> SlotArrays:
        return cls(
            id=[s.id for s in specs],
            order_id=[s.order_id for s in specs],
            lat=[s.lat for s in specs],
            lon=[s.lon for s in specs],
            skill=[s.skill for s in specs],
            window=np.array([_as_mask(s.window) for s in specs], dtype=np.uint64).reshape(
                len(specs), MASK_WORDS
            ),
            community=[s.community for s in specs],
        )

    def subset(self, idx: np.ndarray) -> SlotArrays:
        return SlotArrays(
            self.id[idx],
            self.order_id[idx],
            self.lat[idx],
            self.lon[idx],
            self.skill[idx],
            self.window[idx],
            self.community[idx],
        )


@dataclass(eq=False)
class MemberArrays:
    """Members as parallel arrays (length n).  ``skills`` is a uint64 bitmask,
    ``availability`` has shape (n, 3), ``rating`` is NaN when unrated."""

    id: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    skills: np.ndarray
    availability: np.ndarray
    load: np.ndarray
    cap: np.ndarray
    week_load: np.ndarray
    rating: np.ndarray
    community: np.ndarray

    def __post_init__(self) -> None:
        self.id = np.asarray(self.id, dtype=np.int64)
        n = len(self.id)
        self.lat = np.asarray(self.lat, dtype=np.float64)
        self.lon = np.asarray(self.lon, dtype=np.float64)
        self.skills = np.asarray(self.skills, dtype=np.uint64)
        self.availability = np.asarray(self.availability, dtype=np.uint64).reshape(n, MASK_WORDS)
        self.load = np.asarray(self.load, dtype=np.int64)
        self.cap = np.asarray(self.cap, dtype=np.int64)
        self.week_load = np.asarray(self.week_load, dtype=np.int64)
        self.rating = np.asarray(self.rating, dtype=np.float64)
        self.community = np.asarray(self.community, dtype=np.int64)
        for name in ("lat", "lon", "skills", "load", "cap", "week_load", "rating", "community"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"MemberArrays.{name} has the wrong length")
        if len(np.unique(self.id)) != n:
            raise ValueError("member ids must be unique")

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def from_specs(cls, specs: Sequence[MemberSpec]) -> MemberArrays:
        return cls(
            id=[m.id for m in specs],
            lat=[m.lat for m in specs],
            lon=[m.lon for m in specs],
            skills=[skills_mask(m.skills) for m in specs],
            availability=np.array(
                [_as_mask(m.availability) for m in specs], dtype=np.uint64
            ).reshape(len(specs), MASK_WORDS),
            load=[m.load for m in specs],
            cap=[m.cap for m in specs],
            week_load=[m.week_load for m in specs],
            rating=[np.nan if m.rating is None else m.rating for m in specs],
            community=[m.community for m in specs],
        )


def slot_arrays(specs: Sequence[SlotSpec]) -> SlotArrays:
    """Build :class:`SlotArrays` from a list of :class:`SlotSpec`."""
    return SlotArrays.from_specs(specs)


def member_arrays(specs: Sequence[MemberSpec]) -> MemberArrays:
    """Build :class:`MemberArrays` from a list of :class:`MemberSpec`."""
    return MemberArrays.from_specs(specs)


# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------


@dataclass
class Candidate:
    """A ranked member for one slot; ``breakdown`` explains ``cost``."""

    member_id: int
    member_index: int
    cost: float
    breakdown: dict[str, Any]


@dataclass
class Suggestion:
    """Top candidates for one slot, cheapest first.  When ``candidates`` is
    empty, ``reason`` is one of the :class:`Reason` codes and ``detail`` holds
    the counts behind it."""

    slot_id: int
    candidates: list[Candidate]
    reason: str | None = None
    detail: dict[str, int] = field(default_factory=dict)


@dataclass
class Assignment:
    slot_id: int
    member_id: int
    cost: float
    breakdown: dict[str, Any]


@dataclass
class Unassigned:
    slot_id: int
    reason: str
    detail: dict[str, int] = field(default_factory=dict)


@dataclass
class Plan:
    """Result of :func:`assign` / :func:`greedy` / :func:`dense_exact`.

    ``slot_member[i]`` is the member *index* given to slot index ``i`` or -1.
    """

    method: str
    assignments: list[Assignment]
    unassigned: list[Unassigned]
    slot_member: np.ndarray
    cost: np.ndarray  # per slot index, NaN when unassigned
    km: np.ndarray  # per slot index, NaN when unassigned
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def n_assigned(self) -> int:
        return int((self.slot_member >= 0).sum())

    @property
    def total_cost(self) -> float:
        return float(np.nansum(self.cost))

    @property
    def total_km(self) -> float:
        return float(np.nansum(self.km))

    @property
    def max_km(self) -> float:
        return float(np.nanmax(self.km)) if self.n_assigned else 0.0


# ---------------------------------------------------------------------------
# Shared problem state
# ---------------------------------------------------------------------------


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
        return self.excluded_keys[pos] == keys

    def feasible(self, s: np.ndarray, m: np.ndarray, in_key: bool = False) -> np.ndarray:
        """All hard constraints except the within-batch ones.  ``in_key``:
        every member comes from its slot's tree, so skill, capacity and
        community hold already."""
        mem, sl = self.members, self.slots
        ok = masks_overlap(sl.window[s], mem.availability[m])
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
        km = _xyz_km(self.slot_xyz[s], self.index.xyz[m])
        cross = self.slots.community[s] != self.members.community[m]
        penalty = self.w.cross_community or 0.0
        total = self.w.per_km * km + self.index.term[m] + penalty * cross
        return total, km, cross

    def breakdowns(self, s: np.ndarray, m: np.ndarray) -> list[dict[str, Any]]:
        """Human-checkable cost breakdowns for pair arrays."""
        w, mem = self.w, self.members
        total, km, cross = self.cost(s, m)
        rating_used = self.index.rating_used[m]
        raw = mem.rating[m]
        penalty = w.cross_community or 0.0
        out = []
        for t, d, c, load, cap, week, ru, rr in zip(
            total.tolist(),
            km.tolist(),
            cross.tolist(),
            mem.load[m].tolist(),
            mem.cap[m].tolist(),
            mem.week_load[m].tolist(),
            rating_used.tolist(),
            raw.tolist(),
            strict=True,
        ):
            out.append(
                {
                    "distance_km": d,
                    "load": load,
                    "cap": cap,
                    "week_load": week,
                    "rating": None if math.isnan(rr) else rr,
                    "rating_used": ru,
                    "cross_community": bool(c),
                    "cost_distance": w.per_km * d,
                    "cost_load": w.load * load,
                    "cost_week_load": w.week_load * week,
                    "cost_rating": w.rating * (5.0 - ru),
                    "cost_cross_community": penalty if c else 0.0,
                    "total": t,
                }
            )
        return out

    def big(self) -> float:
        """Cost of leaving a slot unassigned: exceeds n_slots x (largest
        possible pair cost in the *full* problem), see module docstring."""
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
        total, dist, _ = prob.cost(s_idx, m_idx)
        cost[s_idx] = total
        km[s_idx] = dist
        slot_ids = prob.slots.id[s_idx].tolist()
        member_ids = prob.members.id[m_idx].tolist()
        for sid, mid, c, bd in zip(
            slot_ids, member_ids, total.tolist(), prob.breakdowns(s_idx, m_idx), strict=True
        ):
            assignments.append(Assignment(sid, mid, c, bd))
    unassigned = []
    for s in np.flatnonzero(slot_member < 0).tolist():
        reason, detail = prob.explain(s)
        unassigned.append(Unassigned(int(prob.slots.id[s]), reason, detail))
    return Plan(method, assignments, unassigned, slot_member, cost, km, stats)


# ---------------------------------------------------------------------------
# suggest
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# assign: candidates, exact solve, certificate / widening
# ---------------------------------------------------------------------------


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
        return self.keys[pos] == keys

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


@dataclass
class _Solution:
    slot_member: np.ndarray  # member idx or -1
    edge_used: np.ndarray  # bool per graph edge
    edge_gadget: np.ndarray  # gadget number per graph edge or -1
    gadget_member: np.ndarray
    gadget_used: np.ndarray
    flow: np.ndarray  # slots given to each member
    n_arcs: int


def _expand_copies(
    rows: np.ndarray, mem: np.ndarray, w: np.ndarray, copies: np.ndarray, col_base: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat each (row, member, weight) once per copy column of the member."""
    n = copies[mem]
    r = np.repeat(rows, n)
    starts = np.repeat(col_base[mem], n)
    offs = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    return r, starts + offs, np.repeat(w, n)


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
    ``gadget_keys``: order * M + member of each gadget, sorted, as
    :meth:`_Graph.gadget_keys` numbers the per-slot gadgets.
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
        self.local = np.full(prob.n_classes, -1, dtype=np.int64)
        self.local[self.cls] = np.arange(C)
        self.keys, first = np.unique(self.local[prob.slot_class[es]] * M + em, return_index=True)
        self.ac, self.am, self.acost = self.keys // M, self.keys % M, ec[first]
        self.arc_gadget, self.gadget_member, self.gadget_keys = _gadgets_of(
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


def _min_cost_assignment(
    prob: _Problem,
    rows: np.ndarray,
    es: np.ndarray,
    em: np.ndarray,
    ec: np.ndarray,
    cap: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Exact maximum-cardinality, then minimum-cost assignment of the slots
    ``rows`` over edges (es, em) with costs ``ec`` and member capacities
    ``cap`` (the network of :class:`_ClassNetwork`).  Returns (member per
    row or -1, number of arcs).

    Solved by OR-tools' cost-scaling push-relabel
    (``SolveMaxFlowWithMinCost``).  Costs are rounded to integers with the
    finest resolution that cannot overflow (``_COST_SPAN``).
    """
    net = _ClassNetwork(prob, rows, es, em, ec, cap)
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
    supply[sink] = -len(rows)
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
        prob, rows, graph.s, graph.m, graph.cost, prob.index.remaining
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
        prob, rows, graph.s[use], graph.m[use], graph.cost[use], cap
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
    order = np.argsort(tail, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    if start is None:
        dist = np.zeros(n)
        frontier = np.flatnonzero(np.bincount(tail, minlength=n))
    else:
        dist = start.copy()
        frontier = _unique_sorted(tail[dist[tail] + cost < dist[head] - eps])
    mark = np.zeros(n, dtype=bool)
    for rounds in range(n + 1 if max_rounds is None else min(n + 1, max_rounds)):
        if not len(frontier):
            return dist, rounds
        starts = indptr[frontier]
        lens = indptr[frontier + 1] - starts
        total = int(lens.sum())
        if not total:
            return dist, rounds
        arc = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
        cand = dist[tail[arc]] + cost[arc]
        h = head[arc]
        better = cand < dist[h] - eps
        if not better.any():
            return dist, rounds
        h, cand = h[better], cand[better]
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
        return dijkstra(mat, indices=sources, min_only=True, limit=limit)

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
        self.keys = np.insert(self.keys, pos[fresh], newk[fresh])
        self.cost = np.insert(self.cost, pos[fresh], newc[fresh])

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
            ws, wm = np.divmod(self.keys, M)
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


def _exhaust(prob: _Problem, graph: _Graph, slots_idx: np.ndarray) -> None:
    """Give slots every feasible member of their tree."""
    for s in slots_idx.tolist():
        _, pool, _ = prob.index.tree(prob.slot_key[s])
        ss = np.full(len(pool), s, dtype=np.int64)
        ok = prob.feasible(ss, pool, in_key=True)
        graph.add(ss[ok], pool[ok])
        graph.radius[s] = np.inf


class _FreedMemoryKept:
    """While a batch runs, glibc keeps the memory of freed big arrays for
    the next ones instead of giving it back to the OS at once.

    By default glibc serves allocations over 128 KiB with fresh ``mmap``
    pages and returns them on ``free``, so every temporary array of a few
    MB is faulted in page by page again.  On the VM we run on a page fault
    costs about 2 microseconds; one 10,000-slot batch churns some 35,000
    pages (0.07 s and more, measured with ``ru_minflt``).  Raising the mmap
    and trim thresholds for the duration of the batch keeps those pages in
    the heap.  Afterwards the thresholds go back to glibc's defaults and
    ``malloc_trim`` returns what the batch held.  Nested and concurrent
    batches share one setting (a counter); anything but glibc is left
    alone."""

    M_TRIM_THRESHOLD = -1
    M_MMAP_THRESHOLD = -3
    BATCH_MMAP = 64 << 20
    BATCH_TRIM = 256 << 20
    DEFAULT = 128 << 10  # glibc's default for both

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self.libc: Any = None
        try:
            libc = ctypes.CDLL(None)  # the C library the interpreter runs on
        except (OSError, TypeError):
            libc = None
        if libc is not None and all(
            hasattr(libc, f) for f in ("gnu_get_libc_version", "mallopt", "malloc_trim")
        ):
            self.libc = libc

    def __enter__(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth == 1 and self.libc is not None:
                self.libc.mallopt(self.M_MMAP_THRESHOLD, self.BATCH_MMAP)
                self.libc.mallopt(self.M_TRIM_THRESHOLD, self.BATCH_TRIM)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self.libc is not None:
                self.libc.mallopt(self.M_MMAP_THRESHOLD, self.DEFAULT)
                self.libc.mallopt(self.M_TRIM_THRESHOLD, self.DEFAULT)
                self.libc.malloc_trim(0)


_freed_memory_kept = _FreedMemoryKept()

_F = TypeVar("_F", bound=Callable[..., Any])


def _keeping_freed_memory(fn: _F) -> _F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _freed_memory_kept:
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# A regional re-solve is only tried while it covers at most this share of the
# slots: beyond that a whole-graph solve is about as fast, and a failed
# regional attempt costs a solve and a bounded potentials pass for nothing
# (measured on the clustered benchmark: 0.8 helps single-slot orders by
# about as much as it hurts two-slot ones).
_REGION_CAP = 0.5

# A round whose certificate pass widened at most this share of the slots is
# repaired from the flow at hand (:func:`_repair`) rather than re-solved,
# within this many Dijkstra node visits per arc of the network (about the
# cost of solving it whole, with its potentials and the certificate pass
# that a whole solve adds).  Measured on the 10,000 x 5,000 benchmark:
# widening 15% of the clustered city's slots (hot spots) takes 2.6 visits
# per arc, 0.07 s where the whole solve and its potentials take 0.1 s;
# widening 37% (the first solve's prices) would take 1.4 s, where OR-tools
# takes 0.1-0.2 s.  With 30% two-slot orders, the rounds took 4.7 (clustered)
# and 6.5 (uniform) visits per arc: a budget of 8 rather than 4 made those
# batches 8-20% faster and the others no slower.
_REPAIR_SHARE = 0.2
_REPAIR_WORK = 8.0


@_keeping_freed_memory
def assign(
    slots: SlotArrays,
    members: MemberArrays,
    weights: Weights | None = None,
    *,
    excluded: Iterable[tuple[int, int]] = (),
    k: int = 8,
    index: MemberIndex | None = None,
    reach: int = 128,
    rings: int = 8,
    k_priced: int = 8,
    k_add: int = 64,
    slack: float = 0.1,
    exhaust_after: int = 6,
    watch_max: int = 256,
    bands: int = 16,
    prune: float = 0.5,
    local: bool = True,
    repair: bool = True,
    workers: int = -1,
) -> Plan:
    """Exact batch assignment: maximum number of assigned slots, then minimum
    total cost (see the module docstring for the model and the proof).

    ``excluded`` holds (order_id, member_id) pairs already on orders (never
    proposed again).  Pass a cached :class:`MemberIndex` to reuse its trees.

    The tuning knobs only affect speed, never the result: ``k`` nearest
    candidates per slot; ``rings`` further ones out to the ``reach``
    nearest for slots in a local shortage (0 = none); ``k_priced`` cheapest
    members per slot at the first solve's prices when many slots are short
    (0 = none); ``k_add`` pairs added per slot and round (violating ones
    and, for the same slots, pairs with a reduced cost below ``slack`` times
    the median nearest-candidate cost); ``exhaust_after`` rounds before a
    slot gets all its feasible members; ``watch_max`` members per slot
    watched by radius, past which the certificate checks the slot by
    ``bands`` bands of member prices; ``prune`` (times the median
    nearest-candidate cost) the reduced cost above which edges are parked
    before a whole-graph solve (0 = never); ``local`` for the
    regional re-solves; ``repair`` for repairing the flow after rounds
    that widen few slots (needs the C extension); ``workers`` for bulk k-d
    tree queries (-1 = all cores).

    ``Plan.stats`` holds ``rounds`` (whole-graph solves), ``local_rounds``
    (accepted regional re-solves), ``repairs`` (rounds repaired from the
    flow at hand), ``widened_slots``, ``exhausted_slots``,
    ``short_slots`` (in a local shortage), ``repriced`` (1 when priced
    edges were added after the first solve), ``initial_edges``, ``edges``,
    ``arcs`` (of the last solve), ``gadgets``, ``classes`` (solver nodes
    for the slots: identical slots of one order share one), ``banded_slots`` (slot
    checks by bands, over all rounds), ``incremental_checks`` (certificate
    passes that only re-checked what changed), ``parked`` (edges moved from the
    graph to the certificate), ``solve_s``, ``wall_s`` and
    ``certified`` (always True on return).
    """
    t0 = time.perf_counter()
    prob = _Problem(slots, members, weights, excluded, index)
    stats: dict[str, Any] = {
        "rounds": 0,
        "local_rounds": 0,
        "widened_slots": 0,
        "exhausted_slots": 0,
        "parked": 0,
        "repairs": 0,
    }
    if prob.S == 0:
        return _build_plan(prob, np.empty(0, dtype=np.int64), "engine", stats)
    big = prob.big()
    graph, n_short = _initial_graph(prob, max(1, k), reach if rings else 0, rings, workers)
    stats.update(initial_edges=len(graph.keys), short_slots=n_short, repriced=0)
    # "Nearly violating" is relative to what a typical nearest pair costs.
    nearest = np.full(prob.S, np.inf)
    if len(graph.keys):
        np.minimum.at(nearest, graph.s, graph.cost)
    nearest = nearest[np.isfinite(nearest)]
    typical = float(np.median(nearest)) if len(nearest) else 0.0
    near_slack = slack * typical
    checker = _Checker(prob, graph, workers, watch_max, bands)

    fails = np.zeros(prob.S, dtype=np.int64)
    t_solve = 0.0
    sol: _Solution | None = None
    pot: _Potentials | None = None
    last: _Potentials | None = None
    new_s = new_m = touched = np.empty(0, dtype=np.int64)
    gain = np.empty(0)  # minus the reduced costs of the edges just added
    few = max(20, prob.S // 20)
    repair = repair and _repair_ext is not None
    arcs = 0  # of the last solve (repairs do not solve)
    repair_max = max(20, int(_REPAIR_SHARE * prob.S))
    reprice = bool(k_priced) and n_short > few
    while True:
        t1 = time.perf_counter()
        repaired = None
        if repair and sol is not None and pot is not None and 0 < len(touched) <= repair_max:
            # Few slots gained attractive edges: move just the units those
            # edges affect from the optimal flow we have (successive
            # shortest paths, which also keep the potentials valid).
            repaired = _repair(prob, graph, sol, pot, big, 8e-12 * big, _REPAIR_WORK)
        if repaired is not None:
            sol, pot = repaired
            stats["repairs"] += 1
        elif sol is not None and pot is not None and local and 0 < len(touched) <= few:
            # Few new edges: re-optimise only the region an improving cycle
            # through them could reach, and accept the result if potentials
            # settle on the whole graph within a few times the usual number
            # of rounds (settling proves optimality: valid potentials exclude
            # negative cycles).  Else try a wider region once, then solve all.
            last = pot
            pot = None
            for widen in (1.0, 4.0):
                rows = _region(
                    prob, graph, sol, last, big, new_s, new_m, widen * gain, _REGION_CAP * prob.S
                )
                rows = _unique_sorted(np.concatenate([rows, new_s]))
                if len(rows) > _REGION_CAP * prob.S:
                    break
                trial = _solve_local(prob, graph, sol, rows)
                pot = _potentials(
                    prob, graph, trial, big, 1e-12 * big, max(100, 2 * last.rounds), last
                )
                if pot is not None:
                    sol = trial
                    arcs = sol.n_arcs
                    stats["local_rounds"] += 1
                    break
                if len(rows) * 4 > _REGION_CAP * prob.S:
                    break  # a wider region would be too big anyway
        else:
            last = pot
            pot = None
        if pot is None:
            stats["rounds"] += 1
            if prune > 0 and last is not None and checker.rounds:
                # Edges far above the last prices will not be used: park them
                # with the certificate (smaller, faster solves), which puts
                # back any that the new prices make attractive.
                pi = last.carried(prob, graph)
                red = graph.cost + pi[graph.s] - pi[prob.S + graph.m]
                drop = red > prune * typical
                assert sol is not None
                drop[sol.edge_used] = False
                stats["parked"] += checker.park(graph, drop)
            sol = _solve(prob, graph)
            arcs = sol.n_arcs
            pot = _potentials(prob, graph, sol, big, 1e-12 * big)
        t_solve += time.perf_counter() - t1
        assert pot is not None and sol is not None
        if reprice:
            # Hot spots: the first solve's prices are rough; rather than prove
            # them wrong pair by pair, give every slot its cheapest members at
            # those prices and solve the whole graph again.
            reprice = False
            price = np.maximum(pot.sink - pot.member, 0.0)
            price[sol.flow < prob.index.remaining] = 0.0
            ps, pm = _priced_edges(prob, price, k_priced, workers)
            stats["repriced"] = 1
            if graph.add(ps, pm):
                sol = _solution_for(prob, graph, sol.slot_member)
                pot = None
                continue
        new_s, new_m, new_r, touched = checker.run(
            graph, pot.slot, pot.member, 8e-12 * big, k_add, near_slack
        )
        if not len(new_s):
            break
        gain = -new_r
        graph.add(new_s, new_m)
        fails[touched] += 1
        stats["widened_slots"] += len(touched)
        stuck = touched[fails[touched] >= exhaust_after]
        if len(stuck):
            _exhaust(prob, graph, stuck)
            checker.radius[stuck] = np.inf
            stats["exhausted_slots"] += len(stuck)
            fails[stuck] = -(10**9)  # never again: radius is now infinite
        # identical slots get the same edges (the class network needs it);
        # the flow must be re-expressed on the grown graph
        graph.symmetrize()
        sol = _solution_for(prob, graph, sol.slot_member)
    assert sol is not None
    stats.update(
        edges=len(graph.keys),
        arcs=arcs,
        gadgets=len(sol.gadget_member),
        classes=prob.n_classes,
        banded_slots=checker.banded,
        incremental_checks=checker.incremental,
        certified=True,
        solve_s=t_solve,
        wall_s=time.perf_counter() - t0,
    )
    return _build_plan(prob, sol.slot_member, "engine", stats)


# ---------------------------------------------------------------------------
# Baseline and dense reference
# ---------------------------------------------------------------------------


@_keeping_freed_memory
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
