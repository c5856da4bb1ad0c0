"""What the engine takes and gives: weights, slots and members (as specs or
arrays), reason codes, suggestions and plans.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linli.dispatch.engine.masks import MASK_WORDS, MAX_SKILLS, _as_mask, skills_mask


class Reason:
    """Reason codes for a slot nobody can take (see the package docstring)."""

    NO_SKILL = "no_skill"
    OTHER_COMMUNITY = "other_community"
    ALL_AT_CAPACITY = "all_at_capacity"
    NONE_AVAILABLE = "none_available"
    EXCLUDED = "excluded"
    BATCH_CAPACITY = "batch_capacity"


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
            id=np.array([s.id for s in specs], dtype=np.int64),
            order_id=np.array([s.order_id for s in specs], dtype=np.int64),
            lat=np.array([s.lat for s in specs], dtype=np.float64),
            lon=np.array([s.lon for s in specs], dtype=np.float64),
            skill=np.array([s.skill for s in specs], dtype=np.int64),
            window=np.array([_as_mask(s.window) for s in specs], dtype=np.uint64).reshape(
                len(specs), MASK_WORDS
            ),
            community=np.array([s.community for s in specs], dtype=np.int64),
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
            id=np.array([m.id for m in specs], dtype=np.int64),
            lat=np.array([m.lat for m in specs], dtype=np.float64),
            lon=np.array([m.lon for m in specs], dtype=np.float64),
            skills=np.array([skills_mask(m.skills) for m in specs], dtype=np.uint64),
            availability=np.array(
                [_as_mask(m.availability) for m in specs], dtype=np.uint64
            ).reshape(len(specs), MASK_WORDS),
            load=np.array([m.load for m in specs], dtype=np.int64),
            cap=np.array([m.cap for m in specs], dtype=np.int64),
            week_load=np.array([m.week_load for m in specs], dtype=np.int64),
            rating=np.array(
                [np.nan if m.rating is None else m.rating for m in specs], dtype=np.float64
            ),
            community=np.array([m.community for m in specs], dtype=np.int64),
        )


def slot_arrays(specs: Sequence[SlotSpec]) -> SlotArrays:
    """Build :class:`SlotArrays` from a list of :class:`SlotSpec`."""
    return SlotArrays.from_specs(specs)


def member_arrays(specs: Sequence[MemberSpec]) -> MemberArrays:
    """Build :class:`MemberArrays` from a list of :class:`MemberSpec`."""
    return MemberArrays.from_specs(specs)


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
