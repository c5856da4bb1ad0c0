"""Turn rows into the engine's inputs. Reads only; a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import Avg, Count, QuerySet
from django.utils import timezone

from linli.dispatch import engine
from linli.orders.load import member_load
from linli.orders.models import Order, OrderStatus, Rating, Slot, SlotAction, SlotStatus
from linli.teams.models import Member

RATING_DAYS = 30


def weights() -> engine.Weights:
    w = dict(getattr(settings, "LINLI_DISPATCH_WEIGHTS", {}))
    cross = getattr(settings, "LINLI_DISPATCH_CROSS_COMMUNITY", None)
    return engine.Weights(cross_community=cross, **w)


@dataclass
class Inputs:
    slots: engine.SlotArrays
    members: engine.MemberArrays
    excluded: set[tuple[int, int]]
    slot_rows: dict[int, Slot]  # by slot id
    skill_bits: dict[int, int]  # skill id → engine skill code

    def member_rows(self, ids: Iterable[int]) -> dict[int, Member]:
        """The members ``ids`` (those a plan or a ranking names), by id:
        the engine's inputs are read as plain rows, and only these few
        become model instances."""
        return Member.objects.select_related("team__community", "resident", "user").in_bulk(
            list(ids)
        )


def _window(order: Order, now: dt.datetime) -> np.ndarray:
    """The hours a member must be free in: the wanted window, or now until the completion deadline."""
    if order.window_start and order.window_end:
        return engine.window_mask(
            timezone.localtime(order.window_start), timezone.localtime(order.window_end)
        )
    end = max(order.complete_deadline, now + dt.timedelta(hours=1))
    return engine.window_mask(timezone.localtime(now), timezone.localtime(end))


def order_place(order: Order) -> tuple[float, float]:
    """Where an order is served: its own place, else the resident's home
    (a missing coordinate as 0)."""
    home = order.resident
    lat = order.lat if order.lat is not None or home is None else home.lat
    lon = order.lon if order.lon is not None or home is None else home.lon
    return (lat if lat is not None else 0.0), (lon if lon is not None else 0.0)


def _availability(availability: list[list] | None) -> np.ndarray | None:
    """None (always) when the member has stated no weekly hours."""
    if not availability:
        return None
    intervals = []
    for weekday, start, end in availability:
        h1, m1 = (int(x) for x in start.split(":"))
        h2, m2 = (int(x) for x in end.split(":"))
        intervals.append((weekday, h1 * 60 + m1, h2 * 60 + m2))
    return engine.weekly_mask(intervals)


def open_slots(community_ids: Iterable[int] | None) -> list[Slot]:
    qs = Slot.objects.filter(
        status=SlotStatus.OPEN,
        order__status__in=(OrderStatus.SUBMITTED, OrderStatus.DISPATCHED),
        # An order whose caller is to be confirmed waits for the dispatcher.
        order__resident__isnull=False,
    ).select_related("order__item", "order__resident")
    if community_ids is not None:
        qs = qs.filter(order__community_id__in=list(community_ids))
    return list(qs.order_by("order__created_at", "order_id", "index"))


def _members(
    community_ids: Iterable[int] | None, team_ids: Iterable[int] | None
) -> QuerySet[Member]:
    """Active members of the communities (of every community when the city
    allows dispatch across community lines), narrowed to ``team_ids``."""
    cross = getattr(settings, "LINLI_DISPATCH_CROSS_COMMUNITY", None) is not None
    qs = Member.objects.filter(active=True)
    if community_ids is not None and not cross:
        qs = qs.filter(team__community_id__in=list(community_ids))
    if team_ids is not None:
        qs = qs.filter(team_id__in=list(team_ids))
    return qs


# where a member is: their own place, else their home, else their center
_PLACE = (
    "lat",
    "lon",
    "resident__lat",
    "resident__lon",
    "team__community__lat",
    "team__community__lon",
)


def _places(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) of members from the ``_PLACE`` columns (NULL as NaN): the
    first pair known in full, else the center's, a missing one as 0."""
    m_lat, m_lon = rows[:, 0], rows[:, 1]
    unknown = np.isnan(m_lat) | np.isnan(m_lon)
    m_lat = np.where(unknown, rows[:, 2], m_lat)
    m_lon = np.where(unknown, rows[:, 3], m_lon)
    unknown = np.isnan(m_lat) | np.isnan(m_lon)
    m_lat = np.where(unknown, np.nan_to_num(rows[:, 4]), m_lat)
    m_lon = np.where(unknown, np.nan_to_num(rows[:, 5]), m_lon)
    return m_lat, m_lon


def nearest_members(
    skill_id: int,
    lat: float,
    lon: float,
    community_ids: Iterable[int] | None,
    team_ids: Iterable[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(member ids, km) of the members with ``skill_id`` who could serve a
    place, nearest first: one light query (no model instances), so that the
    costlier inputs need only be gathered for the nearest few."""
    rows = np.array(
        list(
            _members(community_ids, team_ids)
            .filter(skills=skill_id)
            .order_by()
            .values_list("pk", *_PLACE)
        ),
        dtype=float,
    ).reshape(-1, 1 + len(_PLACE))
    m_lat, m_lon = _places(rows[:, 1:])
    km = engine.haversine_km(lat, lon, m_lat, m_lon)
    order = np.lexsort((rows[:, 0], km))
    return rows[order, 0].astype(np.int64), km[order]


def gather(
    slots: list[Slot],
    community_ids: Iterable[int] | None,
    now: dt.datetime | None = None,
    team_ids: Iterable[int] | None = None,
    member_ids: Iterable[int] | None = None,
) -> Inputs:
    """Engine inputs for ``slots`` and the members who could serve them.

    Members come from the slots' communities, or from every community when
    the city allows dispatch across community lines; ``team_ids`` narrows
    them to those teams (a team leader dispatches to their own teams only),
    ``member_ids`` to those members.
    """
    now = now or timezone.now()
    members_qs = _members(community_ids, team_ids).order_by("pk")  # the same plan each time
    if member_ids is not None:
        members_qs = members_qs.filter(pk__in=list(member_ids))
    # plain rows: 5,000 members as model instances (with their skills)
    # took 0.75 s, as rows 0.08 s (bench/suggestions.py, "everyone")
    rows = list(
        members_qs.values_list(
            "pk", "team__community_id", "max_concurrent", "availability", *_PLACE
        )
    )
    # (the member ids as a subquery: far faster than thousands of ids)
    ids = members_qs.values("pk")
    m_lat, m_lon = _places(np.array([r[4:] for r in rows], dtype=float).reshape(-1, len(_PLACE)))

    # The engine keeps skills as bits of one word; only the skills the slots
    # ask for matter, and a catalog has far fewer than 64 of them.
    wanted = sorted({s.order.item.skill_id for s in slots})
    if len(wanted) > 64:
        raise ValueError("a batch may ask for at most 64 different skills")
    skill_bits = {sid: i for i, sid in enumerate(wanted)}
    skills: dict[int, list[int]] = {}
    for member_id, skill_id in Member.skills.through.objects.filter(
        member_id__in=ids, skill_id__in=wanted
    ).values_list("member_id", "skill_id"):
        skills.setdefault(member_id, []).append(skill_bits[skill_id])

    load = member_load(ids)
    week_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    week_start -= dt.timedelta(days=week_start.weekday())
    week = dict(
        Slot.objects.filter(member_id__in=ids, accepted_at__gte=week_start)
        .values_list("member_id")
        .annotate(n=Count("pk"))
        .values_list("member_id", "n")
    )
    since = now - dt.timedelta(days=RATING_DAYS)
    rating = dict(
        Rating.objects.filter(
            created_at__gte=since,
            order__slots__member_id__in=ids,
            order__slots__status=SlotStatus.COMPLETED,
        )
        .values_list("order__slots__member_id")
        .annotate(avg=Avg("satisfaction"))
        .values_list("order__slots__member_id", "avg")
    )

    member_specs = [
        engine.MemberSpec(
            id=pk,
            lat=float(lat),
            lon=float(lon),
            skills=skills.get(pk, []),
            availability=_availability(availability),
            load=load.get(pk, 0),
            cap=cap,
            week_load=week.get(pk, 0),
            rating=float(rating[pk]) if pk in rating else None,
            community=community_id,
        )
        for (pk, community_id, cap, availability, *_), lat, lon in zip(
            rows, m_lat, m_lon, strict=True
        )
    ]
    slot_specs = []
    for s in slots:
        o = s.order
        lat, lon = order_place(o)
        slot_specs.append(
            engine.SlotSpec(
                id=s.pk,
                order_id=o.pk,
                lat=lat,
                lon=lon,
                skill=skill_bits[o.item.skill_id],
                window=_window(o, now),
                community=o.community_id,
            )
        )
    order_ids = {s.order_id for s in slots}
    taken = (
        Slot.objects.filter(order_id__in=order_ids, member__isnull=False)
        .exclude(status=SlotStatus.CANCELLED)
        .values_list("order_id", "member_id")
    )
    # Who declined an order is not offered it again (a decline is the member's
    # user's, on the order's timeline; the slot itself forgets who held it).
    declined = Member.objects.filter(
        user__order_events__order_id__in=order_ids,
        user__order_events__action=SlotAction.DECLINE,
    ).values_list("user__order_events__order_id", "pk")
    return Inputs(
        slots=engine.slot_arrays(slot_specs),
        members=engine.member_arrays(member_specs),
        excluded={*taken, *declined},
        slot_rows={s.pk: s for s in slots},
        skill_bits=skill_bits,
    )
