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
   tree per skill (per skill and community when crossing is forbidden).

2. Warm start.  A forward auction (members are capacity classes, all
   bidding slots bid at once, numpy) yields member prices ``P_m`` close to the
   optimal capacity duals.  Candidate lists grow during the auction when an
   unseen member could beat a slot's second best; past the first growth they
   are fetched cheapest-first at current prices (lifted tree, see 5).  The
   auction is cut short once only a handful of slots still bid.

3. Exact solve with shifted costs.  The graph keeps each slot's ``k_graph``
   candidates cheapest at ``c + b`` with ``b = max(P - margin, 0)``, and is
   solved exactly with LAPJVsp
   (``scipy.sparse.csgraph.min_weight_full_bipartite_matching``) on the
   capacity-expanded bipartite graph (``cap - load`` columns per member, an
   (exit row, entry column) pair per gadget, a private ``BIG`` column per
   slot, dropped when every slot can be assigned).  LAPJVsp starts from zero
   column duals, so solving ``c + b`` instead of ``c`` is a warm start: the
   hot spots it would otherwise untangle one long augmenting path at a time
   are already priced.  It is exact for ``c`` because: if ``x`` is optimal
   for ``c + b`` with duals ``(u, w)`` and every member with ``b_m > 0`` is
   full in ``x``, then ``(u, w + b)`` is dual feasible for ``c`` and
   complementary slack with ``x``, so ``x`` is optimal for ``c``.  The engine
   checks that condition and, where it fails, drops those prices and repairs
   the region around those members (see 6) or solves again
   (``stats["price_resets"]`` counts the dropped prices).

4. Potentials.  Shortest-path distances ``pi`` in the residual network of the
   optimal flow (vectorised Bellman-Ford / SPFA from a virtual root; the
   optimal residual network has no negative cycle), converted back from the
   shifted costs, give every residual arc a reduced cost
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
   When it does not, ``R_s`` grows (k-d tree query), up to ``watch_max``
   members; beyond that a lifted 4-D k-d tree over
   ``(per_km * R_earth * xyz_m, h_m - min h)`` is queried, whose 4-D distance
   never exceeds ``per_km * km + h_m - min h``, so its k nearest points either
   contain violating pairs or prove that nothing further away can violate.

6. Widening.  Violating pairs (per slot the ``k_add`` lowest reduced costs,
   nearly violating pairs of the same slots included) join the graph and
   steps 3-5 repeat, warm-started from the exact duals of the previous
   round.  When only a few slots got new edges, step 3 first re-optimises
   just the region around them (slots reachable over cheap edges, others
   keep their members) and accepts the result only if potentials of the
   *true* costs settle on the whole graph (a bounded SPFA; settling proves
   optimality, since valid potentials exclude negative cycles); otherwise it
   solves the whole graph.  The graph only grows and is finite, so this
   terminates (a slot that keeps failing gets all its feasible members at
   once, which bounds the rounds).  ``Plan.stats`` reports the counters.

Numerics: costs are float64; reduced costs are accepted down to about
``-1e-11 * BIG`` (micrometres for city-sized instances).

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

import datetime as dt
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_array
from scipy.sparse.csgraph import min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

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

    # -- pair level -------------------------------------------------------
    def is_excluded(self, s: np.ndarray, m: np.ndarray) -> np.ndarray:
        if not len(self.excluded_keys):
            return np.zeros(len(s), dtype=bool)
        keys = self.slot_order[s] * self.M + m
        pos = np.minimum(np.searchsorted(self.excluded_keys, keys), len(self.excluded_keys) - 1)
        return self.excluded_keys[pos] == keys

    def feasible(self, s: np.ndarray, m: np.ndarray) -> np.ndarray:
        """All hard constraints except the within-batch ones."""
        mem, sl = self.members, self.slots
        bit = np.left_shift(np.uint64(1), sl.skill[s].astype(np.uint64))
        ok = (mem.skills[m] & bit) != 0
        ok &= self.index.remaining[m] > 0
        ok &= masks_overlap(sl.window[s], mem.availability[m])
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
        for t, d, c, mi, ru, rr in zip(
            total.tolist(),
            km.tolist(),
            cross.tolist(),
            m.tolist(),
            rating_used.tolist(),
            raw.tolist(),
            strict=True,
        ):
            load = int(mem.load[mi])
            week = int(mem.week_load[mi])
            out.append(
                {
                    "distance_km": d,
                    "load": load,
                    "cap": int(mem.cap[mi]),
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
        """Slot indices grouped by tree key."""
        out: dict[tuple[int, int], list[int]] = {}
        for i, key in enumerate(self.slot_key):
            out.setdefault(key, []).append(i)
        return {key: np.asarray(v, dtype=np.int64) for key, v in out.items()}


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
# assign: candidates, price warm start, exact solve, certificate / widening
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


def _segments(start: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the storage segments [start, start+size), and where
    each segment begins in that flat array."""
    seg_start = np.cumsum(size) - size
    idx = np.repeat(start - seg_start, size) + np.arange(int(size.sum()))
    return idx, seg_start


class _Cands:
    """Per-slot candidate lists, grown lazily.

    Slot ``s`` owns ``mem/cost/chord[start[s] : start[s] + size[s]]``: every
    feasible member of its tree among the ``kq[s]`` nearest, i.e. every
    feasible member within chord ``radius[s]`` (inf = the whole tree), nearest
    first.  Storage is an append-only buffer so growing one list never
    touches the others.  ``lb[s]`` bounds from below the cost of any member
    outside the list.
    """

    def __init__(self, prob: _Problem, workers: int) -> None:
        self.prob = prob
        self.workers = workers
        S = prob.S
        self.start = np.zeros(S, dtype=np.int64)
        self.size = np.zeros(S, dtype=np.int64)
        self.kq = np.zeros(S, dtype=np.int64)
        self.radius = np.zeros(S)
        self.lb = np.zeros(S)
        self.exhausted = np.zeros(S, dtype=bool)
        self.used = 0
        self._lifted: dict[tuple[int, int], tuple[cKDTree, float, int]] = {}
        self.mem = np.empty(1024, dtype=np.int64)
        self.cost = np.empty(1024)
        self.chord = np.empty(1024)

    def fill(self, slots_idx: np.ndarray, kq: np.ndarray | int) -> None:
        """(Re)build the lists of ``slots_idx`` from their kq nearest."""
        prob = self.prob
        want = np.broadcast_to(np.asarray(kq, dtype=np.int64), slots_idx.shape)
        by_key: dict[tuple[int, int], list[int]] = {}
        for i, s in enumerate(slots_idx.tolist()):
            by_key.setdefault(prob.slot_key[s], []).append(i)
        for key, rows in by_key.items():
            sel = slots_idx[rows]
            tree, pool, tmin = prob.index.tree(key)
            if tree is None:
                self.size[sel] = 0
                self.radius[sel] = np.inf
                self.lb[sel] = np.inf
                self.exhausted[sel] = True
                continue
            n = len(pool)
            k = int(min(n, max(1, want[rows].max())))
            d, j = _query(tree, prob.slot_xyz[sel], k, self.workers)
            ss = np.repeat(sel, k)
            mm = pool[j.ravel()]
            ok = prob.feasible(ss, mm)
            counts = ok.reshape(len(sel), k).sum(axis=1)
            mm, ss, dd = mm[ok], ss[ok], d.ravel()[ok]
            self._append(sel, counts, mm, prob.cost(ss, mm)[0], dd)
            self.kq[sel] = k
            if k >= n:
                self.radius[sel] = np.inf
                self.lb[sel] = np.inf
                self.exhausted[sel] = True
            else:
                self.radius[sel] = d[:, -1]
                self.lb[sel] = prob.w.per_km * _chord_km(d[:, -1]) + tmin

    def fill_priced(
        self, slots_idx: np.ndarray, kq: np.ndarray, price: np.ndarray, now: int
    ) -> None:
        """(Re)build lists from the kq members cheapest at current prices.

        Queries a lifted 4-D tree over ``(per_km * R * xyz, term + price -
        base)``: the 4-D distance never exceeds ``cost + price - base``, so
        the k-th distance (+ base) bounds every member left out.  Prices only
        rise during an auction, so a tree built a few rounds ago still gives
        valid bounds; it is rebuilt every ``_LIFT_REFRESH`` rounds.
        """
        prob = self.prob
        alpha = prob.w.per_km * EARTH_RADIUS_KM
        by_key: dict[tuple[int, int], list[int]] = {}
        for i, s in enumerate(slots_idx.tolist()):
            by_key.setdefault(prob.slot_key[s], []).append(i)
        for key, rows in by_key.items():
            sel = slots_idx[rows]
            tree, pool, _ = prob.index.tree(key)
            if tree is None:
                continue
            got = self._lifted.get(key)
            if got is None or now - got[2] >= _LIFT_REFRESH:
                h = prob.index.term[pool] + price[pool]
                base = float(h.min())
                got = (
                    cKDTree(np.column_stack([alpha * prob.index.xyz[pool], h - base])),
                    base,
                    now,
                )
                self._lifted[key] = got
            lifted, base, _ = got
            n = len(pool)
            k = int(min(n, max(1, kq[rows].max())))
            q = np.column_stack([alpha * prob.slot_xyz[sel], np.zeros(len(sel))])
            d4, j = _query(lifted, q, k, self.workers)
            ss = np.repeat(sel, k)
            mm = pool[j.ravel()]
            ok = prob.feasible(ss, mm)
            counts = ok.reshape(len(sel), k).sum(axis=1)
            mm, ss = mm[ok], ss[ok]
            chord = np.sqrt(((prob.slot_xyz[ss] - prob.index.xyz[mm]) ** 2).sum(axis=1))
            self._append(sel, counts, mm, prob.cost(ss, mm)[0], chord)
            self.kq[sel] = k
            # No "everything within a radius" claim for a price-ordered list.
            self.radius[sel] = np.inf if k >= n else 0.0
            self.exhausted[sel] = k >= n
            self.lb[sel] = np.inf if k >= n else d4[:, -1] + base

    def _append(
        self, sel: np.ndarray, counts: np.ndarray, mm: np.ndarray, cc: np.ndarray, dd: np.ndarray
    ) -> None:
        need = self.used + len(mm)
        if need > len(self.mem):
            size = max(need, 2 * len(self.mem))
            for name in ("mem", "cost", "chord"):
                old = getattr(self, name)
                grown = np.empty(size, dtype=old.dtype)
                grown[: self.used] = old[: self.used]
                setattr(self, name, grown)
        self.start[sel] = self.used + np.cumsum(counts) - counts
        self.size[sel] = counts
        self.mem[self.used : need] = mm
        self.cost[self.used : need] = cc
        self.chord[self.used : need] = dd
        self.used = need

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """All lists as (slot, member, cost, chord) arrays, slot-major."""
        idx, _ = _segments(self.start, self.size)
        slot = np.repeat(np.arange(self.prob.S), self.size)
        return slot, self.mem[idx], self.cost[idx], self.chord[idx]


_LIFT_REFRESH = 25  # auction rounds before a price-aware tree is rebuilt
_BIDDING = -2  # auction state of a slot still looking for a member
_DUMMY = -1  # settled on "unassigned"


def _auction(
    prob: _Problem,
    cands: _Cands,
    eps_schedule: Sequence[float],
    dummy: float,
    max_rounds: int,
    stop_free: int = 0,
    max_list: int = 64,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Forward auction with members as capacity classes (Jacobi bidding).

    Only a *warm start*: it yields member prices close to the optimal
    capacity duals; exactness comes from the solve that follows, so the
    budget ``max_rounds`` may cut it short.  Each bidding slot bids for its
    best member (cost + price), offering the price plus (second best - best
    + eps); a member keeps its ``remaining`` best offers and its price is the
    lowest offer it holds when full, else 0.  A candidate list grows when an
    unseen member could beat the second best.  ``eps_schedule`` runs
    decreasing eps; between phases holders that are no longer eps-optimal
    bid again.  Returns (member index per slot or -1, prices, counters).
    """
    S, M = prob.S, prob.M
    cap = prob.index.remaining
    slot_m = np.full(S, _BIDDING, dtype=np.int64)
    paid = np.zeros(S)
    price = np.zeros(M)
    free = np.arange(S)
    # mark[m] flags members touched this round; mark[-1], mark[-2] stand for
    # the "dummy" / "bidding" states so slot_m can index it directly.
    mark = np.zeros(M + 2, dtype=bool)
    rounds = expansions = 0
    for phase, eps in enumerate(eps_schedule):
        if phase:
            held = np.flatnonzero(slot_m >= 0)
            if not len(held):
                break
            idx, seg = _segments(cands.start[held], cands.size[held])
            best = np.minimum.reduceat(cands.cost[idx] + price[cands.mem[idx]], seg)
            own = prob.cost(held, slot_m[held])[0] + price[slot_m[held]]
            free = held[own > best + eps]
            _release(free, slot_m, paid)
        # The last few bidders of an auction chase each other for many rounds;
        # the exact solve finishes them far cheaper, so stop early.
        while len(free) > stop_free and rounds < max_rounds:
            rounds += 1
            size = cands.size[free]
            idx, seg = _segments(cands.start[free], size)
            n = len(free)
            a1 = np.full(n, np.inf)
            a2 = np.full(n, np.inf)
            m1 = np.full(n, -1, dtype=np.int64)
            has = size > 0
            if len(idx):
                val = cands.cost[idx] + price[cands.mem[idx]]
                segs = seg[has]
                a1[has] = np.minimum.reduceat(val, segs)
                hit = np.flatnonzero(val == np.repeat(a1, size))
                first = hit[np.searchsorted(hit, segs)]
                m1[has] = cands.mem[idx[first]]
                val[first] = np.inf
                a2[has] = np.minimum.reduceat(val, segs)
            second = np.minimum(a2, dummy)
            grow = ~cands.exhausted[free] & (cands.lb[free] < second) & (cands.kq[free] < max_list)
            # Grow lists in batches: every call has a fixed overhead.
            if grow.sum() >= 32 or (grow.any() and rounds % 8 == 0) or grow.all():
                expansions += 1
                g = free[grow]
                cands.fill_priced(g, np.full(len(g), max_list), price, rounds)
            else:
                grow[:] = False
            take_dummy = ~grow & (a1 >= dummy)
            slot_m[free[take_dummy]] = _DUMMY
            bid = ~grow & ~take_dummy
            bs, bm = free[bid], m1[bid]
            offer = price[bm] + (second[bid] - a1[bid]) + eps
            # Each member keeps its `cap` highest offers among holders + bids.
            touched = _unique_sorted(bm)
            mark[touched] = True
            holders = np.flatnonzero(mark[slot_m])
            mark[touched] = False
            all_s = np.concatenate([holders, bs])
            all_m = np.concatenate([slot_m[holders], bm])
            all_p = np.concatenate([paid[holders], offer])
            order = np.lexsort((-all_p, all_m))
            all_s, sm, all_p = all_s[order], all_m[order], all_p[order]
            new_grp = np.empty(len(sm), dtype=bool)
            new_grp[:1] = True
            np.not_equal(sm[1:], sm[:-1], out=new_grp[1:])
            grp_start = np.flatnonzero(new_grp)
            rank = np.arange(len(sm)) - np.repeat(grp_start, np.diff(np.append(grp_start, len(sm))))
            keep = rank < cap[sm]
            won, lost = all_s[keep], all_s[~keep]
            slot_m[lost] = _BIDDING
            slot_m[won] = sm[keep]
            paid[won] = all_p[keep]
            held_n = np.bincount(sm[keep], minlength=M)[touched]
            low = np.full(M, np.inf)
            np.minimum.at(low, sm[keep], all_p[keep])
            # full: the lowest offer held; otherwise keep the reserve price
            price[touched] = np.where(held_n >= cap[touched], low[touched], price[touched])
            free = np.concatenate([lost, free[grow]])
    slot_m[slot_m == _BIDDING] = _DUMMY
    held = slot_m >= 0
    full = np.bincount(slot_m[held], minlength=M) >= cap
    price[~full] = 0.0
    return slot_m, price, {"auction_rounds": rounds, "auction_expansions": expansions}


def _release(slots_idx: np.ndarray, slot_m: np.ndarray, paid: np.ndarray) -> None:
    """Put slots back to bidding.  Their members keep their current price as
    a reserve: dropping it to 0 would throw away what earlier phases learnt."""
    slot_m[slots_idx] = _BIDDING
    paid[slots_idx] = 0.0


class _Graph:
    """Edge set handed to the exact solver (sorted unique keys s * M + m).

    ``radius[s]``: every feasible member of the slot's tree within this chord
    distance has an edge (used by the certificate's cheap bound).
    """

    def __init__(self, prob: _Problem, s: np.ndarray, m: np.ndarray, radius: np.ndarray) -> None:
        self.prob = prob
        self.keys = _unique_sorted(s * prob.M + m)
        self.radius = radius
        self._split()

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
        keys = _unique_sorted(s * self.prob.M + m)
        keys = keys[~self.contains(keys // self.prob.M, keys % self.prob.M)]
        if len(keys):
            self.keys = np.sort(np.concatenate([self.keys, keys]))
            self._split()
        return len(keys)


def _select_graph(
    prob: _Problem, cands: _Cands, b: np.ndarray, k_graph: int, slot_m: np.ndarray
) -> _Graph:
    """The graph for the first exact solve: per slot the ``k_graph``
    candidates cheapest at warm-start prices (cost + b), the ``k_graph``
    members of its whole tree that look cheapest at those prices (lifted
    tree, so hot-spot slots see the far members they will need), and the
    auction's own choice."""
    slot, mem, cost, chord = cands.flat()
    value = cost + b[mem]
    order = np.lexsort((value, slot))
    first = np.cumsum(cands.size) - cands.size
    rank = np.arange(len(order)) - first[slot[order]]
    keep = np.zeros(len(order), dtype=bool)
    keep[order[rank < k_graph]] = True
    # Radius that is still fully covered: below the nearest dropped candidate.
    radius = cands.radius.copy()
    dropped = ~keep
    if dropped.any():
        near = np.full(prob.S, np.inf)
        np.minimum.at(near, slot[dropped], chord[dropped])
        radius = np.minimum(radius, near)
    chosen = slot_m >= 0
    parts_s = [slot[keep], np.flatnonzero(chosen)]
    parts_m = [mem[keep], slot_m[chosen]]
    alpha = prob.w.per_km * EARTH_RADIUS_KM
    priced = b > 0
    # Only slots whose list is price-ordered (it grew in the auction) or whose
    # candidates carry prices can gain from the whole-tree look.
    touched = np.zeros(prob.S, dtype=bool)
    touched[slot[priced[mem]]] = True
    touched |= (cands.radius == 0) & (cands.size > 0)
    if priced.any():
        for key, group in prob.groups().items():
            tree, pool, _ = prob.index.tree(key)
            group = group[touched[group]]
            if tree is None or not len(group) or not priced[pool].any():
                continue
            h = prob.index.term[pool] + b[pool]
            lifted = cKDTree(np.column_stack([alpha * prob.index.xyz[pool], h - h.min()]))
            k = min(len(pool), 2 * k_graph)
            q = np.column_stack([alpha * prob.slot_xyz[group], np.zeros(len(group))])
            _, j = _query(lifted, q, k, cands.workers)
            ss = np.repeat(group, k)
            mm = pool[j.ravel()]
            ok = prob.feasible(ss, mm)
            ss, mm = ss[ok], mm[ok]
            top_s, top_m = _take_most_negative(ss, mm, prob.cost(ss, mm)[0] + b[mm], k_graph)
            parts_s.append(top_s)
            parts_m.append(top_m)
    return _Graph(prob, np.concatenate(parts_s), np.concatenate(parts_m), radius)


@dataclass
class _Solution:
    slot_member: np.ndarray  # member idx or -1
    edge_used: np.ndarray  # bool per graph edge
    edge_gadget: np.ndarray  # gadget number per graph edge or -1
    gadget_member: np.ndarray
    gadget_used: np.ndarray
    flow: np.ndarray  # slots given to each member
    n_matrix_edges: int


def _expand_copies(
    rows: np.ndarray, mem: np.ndarray, w: np.ndarray, copies: np.ndarray, col_base: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat each (row, member, weight) once per copy column of the member."""
    n = copies[mem]
    r = np.repeat(rows, n)
    starts = np.repeat(col_base[mem], n)
    offs = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    return r, starts + offs, np.repeat(w, n)


def _lap(
    prob: _Problem,
    rows: np.ndarray,
    es: np.ndarray,
    em: np.ndarray,
    ec: np.ndarray,
    cap: np.ndarray,
    big: float,
    dummies: bool,
) -> tuple[np.ndarray, int]:
    """Exact min-cost assignment of the slots ``rows`` over edges (es, em)
    with costs ``ec`` and member capacities ``cap`` (LAPJVsp on the
    capacity-expanded bipartite graph).  Returns (member per row or -1,
    number of matrix entries).

    ``dummies=False`` leaves out the "unassigned" columns; valid only when
    every row can be assigned at once (LAPJVsp then raises ValueError if
    not).  It makes the matrix much narrower, and LAPJVsp's cost per row
    grows with the number of columns.
    """
    M = prob.M
    n = len(rows)
    local = np.full(prob.S, -1, dtype=np.int64)
    local[rows] = np.arange(n)
    er = local[es]
    # Gadgets: (order, member) pairs reachable from >= 2 slots of the order.
    uniq, inv, counts = _group(prob.slot_order[es] * M + em)
    is_g = counts >= 2
    edge_gadget = np.where(is_g, np.cumsum(is_g) - 1, -1)[inv]
    gadget_member = uniq[is_g] % M
    G = len(gadget_member)

    # Member copy columns: min(capacity, number of things that can use it).
    direct = edge_gadget < 0
    deg = np.bincount(em[direct], minlength=M) + np.bincount(gadget_member, minlength=M)
    copies = np.minimum(cap, deg)
    col_base = np.concatenate([[0], np.cumsum(copies)])
    C = int(col_base[-1])

    parts_r, parts_c, parts_w = [], [], []
    r, c, w = _expand_copies(er[direct], em[direct], ec[direct], copies, col_base)
    parts_r += [r]
    parts_c += [c]
    parts_w += [w]  # noqa: E702
    # slot -> gadget entry column
    parts_r.append(er[~direct])
    parts_c.append(C + edge_gadget[~direct])
    parts_w.append(ec[~direct])
    # gadget exit row -> its own entry (gadget unused) or a member copy (used)
    g_rows = n + np.arange(G)
    parts_r.append(g_rows)
    parts_c.append(C + np.arange(G))
    parts_w.append(np.zeros(G))
    r, c, w = _expand_copies(g_rows, gadget_member, np.zeros(G), copies, col_base)
    parts_r += [r]
    parts_c += [c]
    parts_w += [w]  # noqa: E702
    # private "unassigned" column per slot
    if dummies:
        parts_r.append(np.arange(n))
        parts_c.append(C + G + np.arange(n))
        parts_w.append(np.full(n, big))
    # +1: LAPJVsp needs non-zero weights; every row is matched once, so a
    # constant shift does not change the optimum.
    wts = np.concatenate(parts_w) + 1.0
    n_cols = C + G + (n if dummies else 0)
    if n_cols < n + G:
        # fewer columns than rows: scipy would match the columns, not the rows
        raise ValueError("not enough columns for a full assignment")
    mat = coo_array(
        (wts, (np.concatenate(parts_r), np.concatenate(parts_c))), shape=(n + G, n_cols)
    ).tocsr()
    _, match = min_weight_full_bipartite_matching(mat)

    col_member = np.repeat(np.arange(M), copies)
    row_col = match[:n]
    member = np.full(n, -1, dtype=np.int64)
    to_copy = row_col < C
    member[to_copy] = col_member[row_col[to_copy]]
    to_gadget = (row_col >= C) & (row_col < C + G)
    member[to_gadget] = gadget_member[row_col[to_gadget] - C]
    return member, int(mat.nnz)


def _solve(
    prob: _Problem, graph: _Graph, big: float, b: np.ndarray, dummies: bool = True
) -> _Solution:
    """Exact min-cost flow on the whole graph for costs ``c + b[member]``."""
    ec = prob.cost(graph.s, graph.m)[0] + b[graph.m]
    rows = np.arange(prob.S)
    member, nnz = _lap(prob, rows, graph.s, graph.m, ec, prob.index.remaining, big, dummies)
    return _solution_for(prob, graph, member, None, nnz)


def _solve_local(
    prob: _Problem,
    graph: _Graph,
    sol: _Solution,
    seeds: np.ndarray,
    reduced: np.ndarray | None,
    slack: float,
    big: float,
    b: np.ndarray,
    hops: int,
    max_rows: int,
) -> _Solution | None:
    """Re-optimise only the slots near ``seeds`` (those that just got new
    edges), the others keeping their members.  "Near" follows graph edges
    whose reduced cost (``reduced``, per graph edge, from the previous
    round's potentials; None = all edges) is below ``slack`` -- improving
    cycles run along such edges -- and then the slots holding the members
    reached.  The
    result is optimal for the region only; the caller verifies it globally.
    The region stops growing at ``max_rows`` slots; None when even the seeds
    are more than that."""
    S, M = prob.S, prob.M
    slot_member = sol.slot_member
    in_r = np.zeros(S, dtype=bool)
    in_r[seeds] = True
    holders = np.argsort(slot_member, kind="stable")  # slots grouped by member
    hold_start = np.searchsorted(slot_member[holders], np.arange(M))
    hold_end = np.searchsorted(slot_member[holders], np.arange(M), side="right")
    frontier = seeds
    for _ in range(hops):
        # slot -> its cheap graph members -> the slots those members hold
        lo = np.searchsorted(graph.s, frontier)
        hi = np.searchsorted(graph.s, frontier, side="right")
        idx, _ = _segments(lo, hi - lo)
        if reduced is not None:
            idx = idx[reduced[idx] < slack]
        mem = _unique_sorted(graph.m[idx])
        idx, _ = _segments(hold_start[mem], hold_end[mem] - hold_start[mem])
        nxt = _unique_sorted(holders[idx])
        nxt = nxt[~in_r[nxt]]
        if in_r.sum() + len(nxt) > max_rows:
            break
        in_r[nxt] = True
        frontier = nxt
    rows = np.flatnonzero(in_r)
    if len(rows) > max_rows:
        return None
    fixed = ~in_r & (slot_member >= 0)
    cap = prob.index.remaining - np.bincount(slot_member[fixed], minlength=M)
    # a fixed slot's member is taken for the other slots of its order
    taken = _unique_sorted(prob.slot_order[fixed] * M + slot_member[fixed])
    keys = prob.slot_order[graph.s] * M + graph.m
    pos = np.minimum(np.searchsorted(taken, keys), max(len(taken) - 1, 0))
    clash = taken[pos] == keys if len(taken) else np.zeros(len(keys), dtype=bool)
    use = in_r[graph.s] & (cap[graph.m] > 0) & ~clash
    es, em = graph.s[use], graph.m[use]
    member, nnz = _lap(prob, rows, es, em, prob.cost(es, em)[0] + b[em], cap, big, True)
    combined = slot_member.copy()
    combined[rows] = member
    return _solution_for(prob, graph, combined, None, nnz)


def _gadgets(prob: _Problem, graph: _Graph) -> tuple[np.ndarray, np.ndarray]:
    """(gadget number per graph edge or -1, member of each gadget): one
    gadget per (order, member) pair reachable from >= 2 slots of the order."""
    M = prob.M
    uniq, inv, counts = _group(prob.slot_order[graph.s] * M + graph.m)
    is_g = counts >= 2
    g_of_uniq = np.where(is_g, np.cumsum(is_g) - 1, -1)
    return g_of_uniq[inv], uniq[is_g] % M


def _solution_for(
    prob: _Problem,
    graph: _Graph,
    slot_member: np.ndarray,
    gadgets: tuple[np.ndarray, np.ndarray] | None = None,
    n_matrix_edges: int = 0,
) -> _Solution:
    """The flow of an assignment on ``graph`` (its edges must be in it)."""
    M = prob.M
    edge_gadget, gadget_member = gadgets if gadgets is not None else _gadgets(prob, graph)
    assigned = slot_member >= 0
    edge_used = np.zeros(len(graph.keys), dtype=bool)
    if assigned.any():
        keys = np.flatnonzero(assigned) * M + slot_member[assigned]
        edge_used[np.searchsorted(graph.keys, keys)] = True
    gadget_used = np.zeros(len(gadget_member), dtype=bool)
    gadget_used[edge_gadget[edge_used & (edge_gadget >= 0)]] = True
    flow = np.bincount(slot_member[assigned], minlength=M)
    return _Solution(
        slot_member, edge_used, edge_gadget, gadget_member, gadget_used, flow, n_matrix_edges
    )


def _spfa(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    cost: np.ndarray,
    eps: float,
    max_rounds: int | None = None,
) -> tuple[np.ndarray | None, int]:
    """Shortest distances from a virtual root joined to every node by a 0-cost
    arc (so all distances start at 0).  Vectorised Bellman-Ford that only
    relaxes arcs leaving nodes improved in the previous round.

    Without ``max_rounds`` a negative cycle is an error (the caller hands in
    an optimal flow).  With it, None means "not settled within max_rounds":
    maybe a negative cycle, i.e. the flow may not be optimal.  Returns
    (distances or None, rounds used)."""
    order = np.argsort(tail, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    dist = np.zeros(n)
    frontier = np.flatnonzero(np.bincount(tail, minlength=n))
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


def _potentials(
    prob: _Problem,
    graph: _Graph,
    sol: _Solution,
    big: float,
    eps: float,
    b: np.ndarray,
    max_rounds: int | None = None,
) -> tuple[np.ndarray, np.ndarray, float, int] | None:
    """Potentials of the residual network of the *true* costs.

    The solve used costs ``c + b``; potentials ``pi'`` of that network give
    valid potentials for ``c`` as ``pi_m = pi'_m - b_m`` (members and their
    gadgets), ``pi_s = pi'_s``: every arc's reduced cost is unchanged, and
    the member -> sink arcs stay valid because ``b`` is 0 on members with
    spare capacity (checked by the caller) and >= 0 elsewhere.
    Returns (pi for slots, pi for members, pi of the sink, SPFA rounds), or
    None if ``max_rounds`` ran out (see :func:`_spfa`).
    """
    S, M = prob.S, prob.M
    G = len(sol.gadget_member)
    T = S + M + G
    es, em = graph.s, graph.m
    ec = prob.cost(es, em)[0] + b[em]
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
    pi, rounds = _spfa(
        T + 1,
        np.concatenate(tails).astype(np.int64),
        np.concatenate(heads).astype(np.int64),
        np.concatenate(costs),
        eps,
        max_rounds,
    )
    if pi is None:
        return None
    pi_s = pi[:S]
    pi_m = pi[S : S + M] - b
    # A member with no slot only has the arc member -> sink, so any potential
    # >= pi(sink) is valid; the lowest one makes the certificate easiest.
    idle = (sol.flow == 0) & (rem > 0)
    pi_m[idle] = np.minimum(pi_m[idle], pi[T])
    return pi_s, pi_m, float(pi[T]), rounds


def _take_most_negative(
    s: np.ndarray, m: np.ndarray, red: np.ndarray, k_add: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per slot, the ``k_add`` pairs with the most negative reduced cost."""
    order = np.lexsort((red, s))
    s, m = s[order], m[order]
    first = np.empty(len(s), dtype=bool)
    first[:1] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    rank = np.arange(len(s)) - np.repeat(starts, np.diff(np.append(starts, len(s))))
    keep = rank < k_add
    return s[keep], m[keep]


class _Checker:
    """The certificate: proves that no feasible pair outside the graph has a
    negative reduced cost, or returns pairs that do.

    Per slot it keeps an *examined radius*: each feasible member of the
    slot's tree within that chord distance is either a graph edge or a
    "watched" pair, re-checked exactly every round (cheap vector math).
    Members beyond the radius cost at least ``per_km * km(radius) + h_min``,
    which settles most slots at once.  When it does not, the radius grows
    (k-d tree query), up to ``watch_max`` members per slot; past that a
    lifted 4-D query over the current member potentials does the job
    (module docstring), so hot spots do not need huge watch lists.
    """

    def __init__(self, prob: _Problem, graph: _Graph, workers: int, watch_max: int = 512) -> None:
        self.prob = prob
        self.workers = workers
        self.watch_max = watch_max
        self.radius = graph.radius.copy()
        self.kq = np.zeros(prob.S, dtype=np.int64)
        self.keys = np.empty(0, dtype=np.int64)  # watched pairs s * M + m, sorted
        self.cost = np.empty(0)
        self._new_keys: list[np.ndarray] = []
        self._new_cost: list[np.ndarray] = []

    def _watch(self, s: np.ndarray, m: np.ndarray, graph: _Graph) -> tuple[np.ndarray, np.ndarray]:
        """Start watching pairs (merged into the sorted store by ``_merge``);
        returns the ones not watched before (keys, costs)."""
        M = self.prob.M
        keys = _unique_sorted(s * M + m)
        keys = keys[~graph.contains(keys // M, keys % M)]
        if len(self.keys):
            pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
            keys = keys[self.keys[pos] != keys]
        cost = self.prob.cost(keys // M, keys % M)[0]
        self._new_keys.append(keys)
        self._new_cost.append(cost)
        return keys, cost

    def _merge(self) -> None:
        if not self._new_keys:
            return
        allk = np.concatenate([self.keys, *self._new_keys])
        allc = np.concatenate([self.cost, *self._new_cost])
        self._new_keys, self._new_cost = [], []
        order = np.argsort(allk, kind="stable")
        allk, allc = allk[order], allc[order]
        first = np.empty(len(allk), dtype=bool)
        first[:1] = True
        np.not_equal(allk[1:], allk[:-1], out=first[1:])
        self.keys, self.cost = allk[first], allc[first]

    def run(
        self,
        graph: _Graph,
        pi_s: np.ndarray,
        pi_m: np.ndarray,
        tol: float,
        k_add: int,
        slack: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pairs to add: slots, members; slots concerned); empty = proven.

        Pairs to add are violating ones and, for the same slots, pairs whose
        reduced cost is below ``slack`` (the ``k_add`` lowest per slot)."""
        prob, w, M = self.prob, self.prob.w, self.prob.M
        theta = -pi_s
        h = prob.index.term - pi_m
        found_s: list[np.ndarray] = []
        found_m: list[np.ndarray] = []
        found_r: list[np.ndarray] = []

        near_s: list[np.ndarray] = []
        near_m: list[np.ndarray] = []
        near_r: list[np.ndarray] = []
        settled = np.zeros(prob.S, dtype=bool)  # has a violation: no proof needed now

        def violations(keys: np.ndarray, cost: np.ndarray) -> None:
            ks, km = keys // M, keys % M
            red = cost + pi_s[ks] - pi_m[km]
            low = red < slack
            ks, km, red = ks[low], km[low], red[low]
            out = ~graph.contains(ks, km)
            bad = out & (red < -tol)
            found_s.append(ks[bad])
            found_m.append(km[bad])
            found_r.append(red[bad])  # noqa: E702
            settled[ks[bad]] = True
            # Nearly violating pairs ride along with real violations: the
            # next solve shifts the duals and would often expose them.
            close = out & ~bad
            near_s.append(ks[close])
            near_m.append(km[close])
            near_r.append(red[close])  # noqa: E702

        # 1. Every watched pair, exactly.
        violations(self.keys, self.cost)
        # 2. Slots the radius bound does not settle.
        for key, group in prob.groups().items():
            tree, pool, _ = prob.index.tree(key)
            if tree is None:
                continue
            hmin = float(h[pool].min())
            n = len(pool)
            pending = group[~settled[group]]
            lifted_todo: list[np.ndarray] = []
            while len(pending):
                rad = self.radius[pending]
                with np.errstate(invalid="ignore"):
                    bound = np.where(np.isinf(rad), np.inf, w.per_km * _chord_km(rad) + hmin)
                pending = pending[theta[pending] - bound > tol]
                capped = self.kq[pending] >= min(n, self.watch_max)
                lifted_todo.append(pending[capped])
                pending = pending[~capped]
                if not len(pending):
                    break
                # Chord radius the bound needs (everything, if per_km == 0);
                # size each query from a count of the members inside it.
                if w.per_km > 0:
                    need_km = (theta[pending] - hmin) / w.per_km
                else:
                    need_km = np.full(len(pending), np.inf)
                need = 2.0 * np.sin(np.minimum(need_km / (2.0 * EARTH_RADIUS_KM), np.pi / 2))
                finite = np.isfinite(need_km)
                counts = np.full(len(pending), n)
                if finite.any():
                    counts[finite] = tree.query_ball_point(
                        prob.slot_xyz[pending[finite]],
                        need[finite] * (1 + 1e-9),
                        return_length=True,
                    )
                want = np.maximum(np.maximum(2 * self.kq[pending], counts + 1), 32)
                want = np.minimum(want, min(n, self.watch_max))
                # one query per power-of-two size class: a few slots needing
                # a wide radius must not widen everybody
                size_class = np.ceil(np.log2(want)).astype(np.int64)
                again = []
                for c in np.unique(size_class).tolist():
                    sel = pending[size_class == c]
                    k = int(min(n, 1 << c))
                    d, j = _query(tree, prob.slot_xyz[sel], k, self.workers)
                    ss = np.repeat(sel, k)
                    mm = pool[j.ravel()]
                    ok = prob.feasible(ss, mm)
                    violations(*self._watch(ss[ok], mm[ok], graph))
                    self.kq[sel] = k
                    self.radius[sel] = np.inf if k >= n else d[:, -1]
                    again.append(sel)
                pending = np.concatenate(again)
                pending = pending[~settled[pending]]
            todo = np.concatenate(lifted_todo) if lifted_todo else np.empty(0, dtype=np.int64)
            if len(todo):
                ls, lm, lr = self._lifted(key, todo, graph, pi_s, pi_m, h, hmin, tol)
                found_s.append(ls)
                found_m.append(lm)
                found_r.append(lr)  # noqa: E702
        self._merge()
        fs = np.concatenate(found_s)
        if not len(fs):
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        ns = np.concatenate(near_s)
        with_violation = np.zeros(prob.S, dtype=bool)
        with_violation[fs] = True
        ride = with_violation[ns]
        new_s, new_m = _take_most_negative(
            np.concatenate([fs, ns[ride]]),
            np.concatenate([*found_m, np.concatenate(near_m)[ride]]),
            np.concatenate([*found_r, np.concatenate(near_r)[ride]]),
            k_add,
        )
        # pairs that join the graph are no longer watched
        gone = np.isin(self.keys, new_s * M + new_m)
        self.keys, self.cost = self.keys[~gone], self.cost[~gone]
        return new_s, new_m, _unique_sorted(new_s)

    def _lifted(
        self,
        key: tuple[int, int],
        slots_idx: np.ndarray,
        graph: _Graph,
        pi_s: np.ndarray,
        pi_m: np.ndarray,
        h: np.ndarray,
        hmin: float,
        tol: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Violating pairs of ``slots_idx`` (or none: proven) via the lifted
        tree ``(per_km * R * xyz_m, h_m - h_min)``, whose 4-D distances never
        exceed ``per_km * km + h_m - h_min``."""
        prob = self.prob
        _, pool, _ = prob.index.tree(key)
        alpha = prob.w.per_km * EARTH_RADIUS_KM
        lifted = cKDTree(np.column_stack([alpha * prob.index.xyz[pool], h[pool] - hmin]))
        q = np.column_stack([alpha * prob.slot_xyz[slots_idx], np.zeros(len(slots_idx))])
        thr = -pi_s[slots_idx] - hmin
        n = len(pool)
        kq = min(n, 32)
        out_s, out_m, out_r = [], [], []
        pending = np.arange(len(slots_idx))
        while len(pending):
            d4, j = _query(lifted, q[pending], kq, self.workers)
            ss = np.repeat(slots_idx[pending], kq)
            mm = pool[j.ravel()]
            red = prob.cost(ss, mm)[0] + pi_s[ss] - pi_m[mm]
            bad = (red < -tol) & prob.feasible(ss, mm) & ~graph.contains(ss, mm)
            out_s.append(ss[bad])
            out_m.append(mm[bad])
            out_r.append(red[bad])  # noqa: E702
            has = bad.reshape(len(pending), kq).any(axis=1)
            proven = ~has & ((kq >= n) | (d4[:, -1] - thr[pending] >= -tol))
            pending = pending[~has & ~proven]
            kq = min(n, kq * 4)
        return np.concatenate(out_s), np.concatenate(out_m), np.concatenate(out_r)


def _exhaust(prob: _Problem, graph: _Graph, slots_idx: np.ndarray) -> None:
    """Give slots every feasible member of their tree."""
    for s in slots_idx.tolist():
        _, pool, _ = prob.index.tree(prob.slot_key[s])
        ss = np.full(len(pool), s, dtype=np.int64)
        ok = prob.feasible(ss, pool)
        graph.add(ss[ok], pool[ok])
        graph.radius[s] = np.inf


def assign(
    slots: SlotArrays,
    members: MemberArrays,
    weights: Weights | None = None,
    *,
    excluded: Iterable[tuple[int, int]] = (),
    k: int = 8,
    index: MemberIndex | None = None,
    k_graph: int = 8,
    k_add: int = 4,
    exhaust_after: int = 6,
    watch_max: int = 512,
    auction_rounds: int = 3000,
    auction_eps: Sequence[float] = (0.03,),
    auction_stop: float = 0.003,
    auction_list: int = 64,
    local_hops: int = 6,
    workers: int = -1,
) -> Plan:
    """Exact batch assignment: maximum number of assigned slots, then minimum
    total cost (see the module docstring for the model and the proof).

    ``excluded`` holds (order_id, member_id) pairs already on orders (never
    proposed again).  Pass a cached :class:`MemberIndex` to reuse its trees.

    The tuning knobs only affect speed, never the result: ``k`` initial
    nearest candidates per slot, ``k_graph`` edges per slot handed to the
    exact solver, ``k_add`` violating pairs added per slot and round,
    ``exhaust_after`` rounds before a slot gets all its feasible members,
    ``watch_max`` members per slot checked by radius before the lifted query
    takes over, ``auction_rounds`` / ``auction_eps`` (fractions of the median
    nearest-candidate cost) / ``auction_stop`` (share of slots left bidding
    when it stops) / ``auction_list`` (longest candidate list it grows) for
    the warm start, ``local_hops`` for the regional re-solve (0 = off),
    ``workers`` for bulk k-d tree queries (-1 = all cores).

    ``Plan.stats`` holds ``rounds`` (whole-graph solves), ``local_rounds``
    (accepted regional re-solves), ``price_resets``, ``widened_slots``,
    ``exhausted_slots``, ``initial_edges``, ``edges``, ``matrix_edges``,
    ``gadgets``, ``auction_rounds``, ``auction_expansions``, ``solve_s``,
    ``wall_s`` and ``certified`` (always True on return).
    """
    t0 = time.perf_counter()
    prob = _Problem(slots, members, weights, excluded, index)
    stats: dict[str, Any] = {
        "rounds": 0,
        "local_rounds": 0,
        "widened_slots": 0,
        "exhausted_slots": 0,
        "price_resets": 0,
    }
    if prob.S == 0:
        return _build_plan(prob, np.empty(0, dtype=np.int64), "engine", stats)
    big = prob.big()
    cands = _Cands(prob, workers)
    cands.fill(np.arange(prob.S), max(1, k))

    # 1. Warm start: auction prices ~ optimal capacity duals.
    nearest = cands.cost[cands.start[cands.size > 0]]
    unit = float(np.median(nearest)) if len(nearest) else 1.0
    unit = unit if unit > 0 else 1.0
    schedule = [unit * f for f in auction_eps]
    slot_m, price, astats = _auction(
        prob,
        cands,
        schedule,
        4.0 * prob.cmax + 1.0,
        auction_rounds,
        stop_free=int(auction_stop * prob.S),
        max_list=auction_list,
    )
    stats.update(astats)
    # Lower the prices by a margin so that members priced > 0 stay full at the
    # optimum (see _solve / _potentials: that is what keeps the warm start exact).
    margin = 10.0 * schedule[-1]
    b = np.maximum(price - margin, 0.0)
    graph = _select_graph(prob, cands, b, k_graph, slot_m)
    stats["initial_edges"] = len(graph.keys)
    checker = _Checker(prob, graph, workers, watch_max)

    fails = np.zeros(prob.S, dtype=np.int64)
    # Try without the "unassigned" columns while every slot may be assignable
    # (LAPJVsp checks that first and raises ValueError if not).
    full_possible = True
    t_solve = 0.0
    resets = 0  # consecutive solves rejected by the warm-start check
    sol: _Solution | None = None
    seeds = np.empty(0, dtype=np.int64)  # slots that just got new edges
    reduced: np.ndarray | None = None  # reduced costs of graph edges, last round
    spfa_rounds = 100
    zero = np.zeros(prob.M)
    few = max(20, prob.S // 200)

    def local(seed_slots: np.ndarray, flow: _Solution) -> tuple[_Solution, Any] | None:
        """Re-optimise around ``seed_slots`` and prove the result optimal for
        the true costs with potentials that settle within a few times the
        usual number of rounds (else None: a full solve is needed)."""
        trial = _solve_local(
            prob,
            graph,
            flow,
            seed_slots,
            reduced,
            margin,
            big + (prob.S + 1) * float(b.max(initial=0.0)),
            b,
            local_hops,
            max(100, prob.S // 4),
        )
        if trial is None:
            return None
        proof = _potentials(
            prob, graph, trial, big, 1e-12 * big, zero, max_rounds=max(100, 2 * spfa_rounds)
        )
        return None if proof is None else (trial, proof)

    while True:
        pot = None
        big_b = big
        if sol is not None and local_hops and len(seeds) <= few:
            # Few new edges: re-optimise around them only.
            t1 = time.perf_counter()
            got = local(seeds, sol)
            t_solve += time.perf_counter() - t1
            if got is not None:
                sol, pot = got
                stats["local_rounds"] += 1
        if pot is None:
            stats["rounds"] += 1
            t1 = time.perf_counter()
            # The "unassigned" cost must dominate the shifted costs c + b too
            # (any value above n_slots x the largest pair cost keeps the
            # lexicographic objective, for c and for c + b alike).
            big_b = big + (prob.S + 1) * float(b.max(initial=0.0))
            sol = None
            if full_possible:
                try:
                    sol = _solve(prob, graph, big_b, b, dummies=False)
                except ValueError:  # e.g. the auction ignored the same-order rule
                    full_possible = False
            if sol is None:
                sol = _solve(prob, graph, big_b, b)
            full_possible = bool((sol.slot_member >= 0).all())
            # Exactness of the warm start: every member priced > 0 must be full.
            over = (b > 0) & (sol.flow < prob.index.remaining)
            if not over.any():
                resets = 0
                pot = _potentials(prob, graph, sol, big_b, 1e-12 * big_b, b)
            else:
                stats["price_resets"] += int(over.sum())
                b = np.where(over, 0.0, b)
                if local_hops and over.sum() <= few:
                    # Drop those prices and repair around the members only.
                    near = _unique_sorted(graph.s[over[graph.m]])
                    got = local(near, sol)
                    if got is not None:
                        sol, pot = got
                        big_b = big
                        stats["local_rounds"] += 1
            t_solve += time.perf_counter() - t1
            if pot is None:
                # Solve again without the offending prices; if that keeps
                # failing, without any (b = 0 is the plain problem).
                resets += 1
                if resets >= 3:
                    b = zero.copy()
                sol = None
                continue
        assert pot is not None and sol is not None
        pi_s, pi_m, pi_t, spfa_rounds = pot
        new_s, new_m, touched = checker.run(graph, pi_s, pi_m, 8e-12 * big_b, k_add, margin)
        if not len(new_s):
            break
        graph.add(new_s, new_m)
        seeds = touched
        fails[touched] += 1
        stats["widened_slots"] += len(touched)
        stuck = touched[fails[touched] >= exhaust_after]
        if len(stuck):
            _exhaust(prob, graph, stuck)
            checker.radius[stuck] = np.inf
            stats["exhausted_slots"] += len(stuck)
            fails[stuck] = -(10**9)  # never again: radius is now infinite
        # Re-solve warm from the exact duals of this round.
        b = np.maximum(pi_t - pi_m - margin, 0.0)
        b[sol.flow < prob.index.remaining] = 0.0
        reduced = prob.cost(graph.s, graph.m)[0] + pi_s[graph.s] - pi_m[graph.m]
        # the flow must be re-expressed on the grown graph
        sol = _solution_for(prob, graph, sol.slot_member)
    assert sol is not None
    stats.update(
        edges=len(graph.keys),
        matrix_edges=sol.n_matrix_edges,
        gadgets=len(sol.gadget_member),
        certified=True,
        solve_s=t_solve,
        wall_s=time.perf_counter() - t0,
    )
    return _build_plan(prob, sol.slot_member, "engine", stats)


# ---------------------------------------------------------------------------
# Baseline and dense reference
# ---------------------------------------------------------------------------


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
