"""Indicators of the point-order cycle for a community or the whole city.

响应率, 解决率 and 满意率, the mean times to accept and to complete, and the
overdue and follow-up counts, over a range [start, end) of local dates or
datetimes. Pure reads: three aggregate queries whatever the size of the range.
The caller decides who may see which community (``permissions.manages_community``).

What each figure counts, and why:

* 响应率 (``response_rate``) = ``responded / dispatched``. ``dispatched`` counts
  dispatch events in the range, from the timeline: a slot that was declined
  (or expired) and dispatched again counts once per dispatch, because each
  dispatch asked someone to respond. Counting slots by ``Slot.dispatched_at``
  instead would lose the first dispatches (it is overwritten on re-dispatch)
  and turn a decline followed by a quick accept into a perfect score.
  ``responded`` counts the dispatches among those that were accepted at or
  before their accept deadline. Only a slot's last dispatch can have been
  accepted (an accepted slot is never dispatched again), and
  ``Slot.accepted_at`` and ``Slot.accept_deadline`` are that dispatch's.
* ``mean_minutes_to_accept``: from a dispatch (in the range) to the accept it led to.
* ``mean_minutes_to_complete``: from placing to completion, for the orders
  completed in the range (the "complete" event that completed the order).
* 解决率 (``resolution_rate``) = resolved / rated and 满意率 (``satisfaction_rate``)
  = satisfaction of 3 or more / rated, for the ratings given in the range.
* ``overdue``: orders that went past their accept deadline in the range (the
  sweep's "overdue" events; the flag itself stays on the order).
* ``follow_ups_opened``: follow-ups opened in the range; ``open_follow_ups``:
  those of them not closed yet.

A rate is ``None``, not 0, when nothing was there to measure.

A range of whole local days is summed from the rollup (``orders.rollups``,
kept current as events happen: a constant number of queries on a small table
whatever the number of orders); any other range is aggregated from the raw
tables by :func:`raw_indicators`, with the same definitions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, Q
from django.utils import timezone

from linli.orders import rollups
from linli.orders.models import FollowUp, OrderEvent, Rating

SATISFIED_FROM = rollups.SATISFIED_FROM


@dataclass(frozen=True)
class Indicators:
    community_id: int | None  # None: the whole city
    start: dt.datetime
    end: dt.datetime
    dispatched: int
    responded: int
    response_rate: float | None  # 响应率
    rated: int
    resolved: int
    resolution_rate: float | None  # 解决率
    satisfied: int
    satisfaction_rate: float | None  # 满意率
    mean_minutes_to_accept: float | None
    mean_minutes_to_complete: float | None
    overdue: int
    follow_ups_opened: int
    open_follow_ups: int


def _moment(value: dt.date | dt.datetime) -> dt.datetime:
    """A date is its local midnight; a naive datetime is local time."""
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return timezone.make_aware(dt.datetime.combine(value, dt.time.min))


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _minutes(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 60


def _day(value: dt.date | dt.datetime) -> dt.date | None:
    """The local date ``value`` is the midnight of (a date is its own), else None."""
    if not isinstance(value, dt.datetime):
        return value
    local = timezone.localtime(_moment(value))
    return local.date() if local.time() == dt.time.min else None


def order_indicators(
    community_id: int | None, start: dt.date | dt.datetime, end: dt.date | dt.datetime
) -> Indicators:
    """The indicators of one community (a center id), or of the city (``None``), over [start, end)."""
    first, last = _day(start), _day(end)
    if first is None or last is None:
        return raw_indicators(community_id, start, end)
    s = rollups.sums(community_id, first, last)
    return Indicators(
        community_id=community_id,
        start=_moment(start),
        end=_moment(end),
        dispatched=s.dispatched,
        responded=s.responded,
        response_rate=_rate(s.responded, s.dispatched),
        rated=s.rated,
        resolved=s.resolved,
        resolution_rate=_rate(s.resolved, s.rated),
        satisfied=s.satisfied,
        satisfaction_rate=_rate(s.satisfied, s.rated),
        mean_minutes_to_accept=s.accept_minutes / s.accepted if s.accepted else None,
        mean_minutes_to_complete=s.complete_minutes / s.completed if s.completed else None,
        overdue=s.overdue,
        follow_ups_opened=s.follow_ups_opened,
        open_follow_ups=s.follow_ups_open,
    )


def raw_indicators(
    community_id: int | None, start: dt.date | dt.datetime, end: dt.date | dt.datetime
) -> Indicators:
    """:func:`order_indicators` aggregated from the raw tables, for any range."""
    start_at, end_at = _moment(start), _moment(end)
    scope = Q() if community_id is None else Q(order__community_id=community_id)

    d = rollups.definitions()
    timeline = OrderEvent.objects.filter(
        scope,
        at__gte=start_at,
        at__lt=end_at,
        action__in=("dispatch", "complete", "overdue"),
    ).aggregate(
        dispatched=Count("pk", filter=d.dispatched),
        responded=Count("pk", filter=d.led_to_accept & d.in_time),
        to_accept=Avg(rollups.TO_ACCEPT, filter=d.led_to_accept),
        to_complete=Avg(rollups.TO_COMPLETE, filter=d.completed),
        overdue=Count("order", filter=d.overdue, distinct=True),
    )
    ratings = Rating.objects.filter(
        scope, created_at__gte=start_at, created_at__lt=end_at
    ).aggregate(
        rated=Count("pk"),
        resolved=Count("pk", filter=Q(resolved=True)),
        satisfied=Count("pk", filter=Q(satisfaction__gte=SATISFIED_FROM)),
    )
    follow_ups = FollowUp.objects.filter(
        scope, opened_at__gte=start_at, opened_at__lt=end_at
    ).aggregate(opened=Count("pk"), open=Count("pk", filter=Q(closed_at__isnull=True)))

    return Indicators(
        community_id=community_id,
        start=start_at,
        end=end_at,
        dispatched=timeline["dispatched"],
        responded=timeline["responded"],
        response_rate=_rate(timeline["responded"], timeline["dispatched"]),
        rated=ratings["rated"],
        resolved=ratings["resolved"],
        resolution_rate=_rate(ratings["resolved"], ratings["rated"]),
        satisfied=ratings["satisfied"],
        satisfaction_rate=_rate(ratings["satisfied"], ratings["rated"]),
        mean_minutes_to_accept=_minutes(timeline["to_accept"]),
        mean_minutes_to_complete=_minutes(timeline["to_complete"]),
        overdue=timeline["overdue"],
        follow_ups_opened=follow_ups["opened"],
        open_follow_ups=follow_ups["open"],
    )
