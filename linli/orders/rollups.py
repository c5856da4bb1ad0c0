"""The indicators' rollup: the point-order figures per local day, community and item.

The indicators of a range of whole days are sums over :class:`DayFigures`
instead of aggregates over every order. A cell is never incremented: it is
recomputed from the raw tables with exactly the definitions of
``orders.indicators`` (grouped by day), so the rollup cannot drift from them.

How cells stay current: every write to an order (``services.locked`` and
placing) marks, in its own transaction, the cells of every day that order
has figures on (:func:`touch`) -- a rating three weeks on changes the day
it is given, and a late accept the day of the dispatch it answers. The
marks (:class:`StaleDay`) are recomputed by the worker's periodic job, and
by any reader of a range before it sums (:func:`refresh_stale`), so a
figure read is always the raw tables' figure. ``linli rollups rebuild``
recomputes everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from linli.orders.models import (
    DayFigures,
    FollowUp,
    Order,
    OrderEvent,
    OrderStatus,
    Rating,
    StaleDay,
)

# Shared with orders.indicators, whose docstring says what each figure counts.
SATISFIED_FROM = 3


@dataclass(frozen=True)
class Definitions:
    """The timeline's conditions the indicators count by, for raw reads and the rollup alike."""

    dispatched: Q
    led_to_accept: Q  # a dispatch whose slot was accepted, and the slot's last dispatch
    in_time: Q  # ... accepted at or before its accept deadline
    completed: Q  # the complete event that completed the order
    overdue: Q


def definitions() -> Definitions:
    redispatched = OrderEvent.objects.filter(
        slot_id=OuterRef("slot_id"), action="dispatch", pk__gt=OuterRef("pk")
    )
    accepted = Q(action="dispatch", slot__accepted_at__isnull=False)
    # Q & a conditional expression is a Q at run time; the stubs' Q.__and__ takes only a Q.
    led_to_accept: Q = accepted & ~Exists(redispatched)  # type: ignore[assignment]
    return Definitions(
        dispatched=Q(action="dispatch"),
        led_to_accept=led_to_accept,
        in_time=Q(slot__accepted_at__lte=F("slot__accept_deadline")),
        completed=Q(action="complete", to_status=OrderStatus.COMPLETED),
        overdue=Q(action="overdue"),
    )


TO_ACCEPT = ExpressionWrapper(F("slot__accepted_at") - F("at"), output_field=DurationField())
TO_COMPLETE = ExpressionWrapper(F("at") - F("order__created_at"), output_field=DurationField())

FIGURES = (
    "placed",
    "dispatched",
    "responded",
    "accepted",
    "accept_minutes",
    "completed",
    "complete_minutes",
    "overdue",
    "rated",
    "resolved",
    "satisfied",
    "follow_ups_opened",
    "follow_ups_open",
)
Cell = tuple[dt.date, int, int]  # day, community id, item id


def midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _minutes(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 60
    return float(value) / 60_000_000  # SQLite sums durations as microseconds


def compute(
    first: dt.date | None,
    last: dt.date | None,
    communities: Iterable[int] | None = None,
    items: Iterable[int] | None = None,
) -> dict[Cell, dict[str, float]]:
    """Every non-empty cell of the days [first, last] (None: unbounded), from the raw tables."""
    tz = timezone.get_current_timezone()
    scope = Q()
    if communities is not None:
        scope &= Q(order__community_id__in=sorted(set(communities)))
    if items is not None:
        scope &= Q(order__item_id__in=sorted(set(items)))

    def within(name: str) -> Q:
        q = Q()
        if first is not None:
            q &= Q(**{f"{name}__gte": midnight(first)})
        if last is not None:
            q &= Q(**{f"{name}__lt": midnight(last + dt.timedelta(days=1))})
        return q

    cells: dict[Cell, dict[str, float]] = {}

    def put(rows: Iterable[Any]) -> None:
        for r in rows:
            key = (r.pop("day"), r.pop("order__community_id"), r.pop("order__item_id"))
            cell = cells.setdefault(key, dict.fromkeys(FIGURES, 0))
            for name, value in r.items():
                cell[name] = _minutes(value) if name.endswith("_minutes") else value or 0

    d = definitions()
    put(
        OrderEvent.objects.filter(
            scope, within("at"), action__in=("place", "dispatch", "complete", "overdue")
        )
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("day", "order__community_id", "order__item_id")
        .annotate(
            placed=Count("pk", filter=Q(action="place")),
            dispatched=Count("pk", filter=d.dispatched),
            responded=Count("pk", filter=d.led_to_accept & d.in_time),
            accepted=Count("pk", filter=d.led_to_accept),
            accept_minutes=Sum(TO_ACCEPT, filter=d.led_to_accept),
            completed=Count("pk", filter=d.completed),
            complete_minutes=Sum(TO_COMPLETE, filter=d.completed),
            overdue=Count("order", filter=d.overdue, distinct=True),
        )
        .order_by()
    )
    put(
        Rating.objects.filter(scope, within("created_at"))
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day", "order__community_id", "order__item_id")
        .annotate(
            rated=Count("pk"),
            resolved=Count("pk", filter=Q(resolved=True)),
            satisfied=Count("pk", filter=Q(satisfaction__gte=SATISFIED_FROM)),
        )
        .order_by()
    )
    put(
        FollowUp.objects.filter(scope, within("opened_at"))
        .annotate(day=TruncDate("opened_at", tzinfo=tz))
        .values("day", "order__community_id", "order__item_id")
        .annotate(
            follow_ups_opened=Count("pk"),
            follow_ups_open=Count("pk", filter=Q(closed_at__isnull=True)),
        )
        .order_by()
    )
    return {k: v for k, v in cells.items() if any(v.values())}


def _write(
    day_from: dt.date | None,
    day_to: dt.date | None,
    communities: set[int] | None,
    items: set[int] | None,
) -> None:
    """Replace the rollup's cells of these days, communities and items with fresh ones."""
    fresh = compute(day_from, day_to, communities, items)
    old = DayFigures.objects.all()
    if day_from is not None:
        old = old.filter(day__gte=day_from)
    if day_to is not None:
        old = old.filter(day__lte=day_to)
    if communities is not None:
        old = old.filter(community_id__in=sorted(communities))
    if items is not None:
        old = old.filter(item_id__in=sorted(items))
    old.delete()
    DayFigures.objects.bulk_create(
        (
            DayFigures(day=day, community_id=c, item_id=i, **figures)
            for (day, c, i), figures in fresh.items()
        ),
        batch_size=2000,
    )


def touch(order: Order) -> None:
    """Mark the cells of every day ``order`` has figures on (call inside its write's transaction)."""
    moments = (
        OrderEvent.objects.filter(order=order)
        .values_list("at", flat=True)
        .order_by()
        .union(
            Rating.objects.filter(order=order).values_list("created_at", flat=True).order_by(),
            FollowUp.objects.filter(order=order).values_list("opened_at", flat=True).order_by(),
        )
    )
    days = {timezone.localdate(m) for m in moments} or {timezone.localdate()}
    StaleDay.objects.bulk_create(
        [StaleDay(day=d, community_id=order.community_id, item_id=order.item_id) for d in days],
        ignore_conflicts=True,
    )


def touch_placed(order: Order) -> None:
    """A new order has figures on one day, today's: no need to look for others."""
    StaleDay.objects.bulk_create(
        [
            StaleDay(
                day=timezone.localdate(order.created_at),
                community_id=order.community_id,
                item_id=order.item_id,
            )
        ],
        ignore_conflicts=True,
    )


def refresh_stale(first: dt.date | None = None, last: dt.date | None = None) -> int:
    """Recompute the marked cells (of [first, last], or all); how many were marked.

    Marks another refresher holds are skipped (PostgreSQL), so readers never
    queue behind each other; on SQLite every writer runs alone anyway."""
    q = StaleDay.objects.all()
    if first is not None:
        q = q.filter(day__gte=first)
    if last is not None:
        q = q.filter(day__lte=last)
    if not q.exists():  # what a reader usually finds: one indexed probe, no transaction
        return 0
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            q = q.select_for_update(skip_locked=True)
        marks = list(q.order_by("day", "community_id", "item_id")[:5000])
        by_day: dict[dt.date, tuple[set[int], set[int]]] = {}
        for m in marks:
            cs, its = by_day.setdefault(m.day, (set(), set()))
            cs.add(m.community_id)
            its.add(m.item_id)
        for day, (cs, its) in sorted(by_day.items()):
            _write(day, day, cs, its)
        StaleDay.objects.filter(pk__in=[m.pk for m in marks]).delete()
    return len(marks)


def rebuild() -> int:
    """Recompute the whole rollup from the raw tables; the number of cells."""
    with transaction.atomic():
        StaleDay.objects.all().delete()
        _write(None, None, None, None)
        return DayFigures.objects.count()


@dataclass(frozen=True)
class Sums:
    placed: int
    dispatched: int
    responded: int
    accepted: int
    accept_minutes: float
    completed: int
    complete_minutes: float
    overdue: int
    rated: int
    resolved: int
    satisfied: int
    follow_ups_opened: int
    follow_ups_open: int


def sums(
    community_id: int | None,
    first: dt.date,
    end: dt.date,
    item_id: int | None = None,
) -> Sums:
    """The figures of the days [first, end) for a community (None: the city), current."""
    refresh_stale(first, end - dt.timedelta(days=1))
    q = DayFigures.objects.filter(day__gte=first, day__lt=end)
    if community_id is not None:
        q = q.filter(community_id=community_id)
    if item_id is not None:
        q = q.filter(item_id=item_id)
    row = q.aggregate(**{name: Sum(name) for name in FIGURES})
    return Sums(**{name: row[name] or 0 for name in FIGURES})
