"""A few weeks' worth of point-order activity in the demo community.

So that the dispatcher's console, its indicators and the timelines have
something to show. Every order goes through the ordinary services, so the
timelines, loads and notifications are what real use would leave.

The services read the time from ``timezone.now``; the seed runs each order's
steps on a clock of its own (:func:`_clock`), so finished orders are spread
over the last four weeks with realistic minutes between dispatch, acceptance,
service and rating, while the orders still open were placed within the last
few hours and are not overdue.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from unittest import mock

from django.test.utils import override_settings
from django.utils import timezone

from linli.core.models import User
from linli.network.models import Center
from linli.notify.models import Notification
from linli.orders import services
from linli.orders.models import Channel, FollowUp, Order, OrderEvent, Rating, ServiceItem
from linli.people import ages
from linli.people.models import Resident
from linli.teams.models import Member

ITEMS = ("home_repair", "health_clinic", "daily_care")
DESCRIPTIONS = {
    "home_repair": [
        "厨房水龙头漏水",
        "卫生间灯不亮了",
        "门锁不好开",
        "热水器打不着火",
        "下水道堵了",
    ],
    "health_clinic": [
        "想量一量血压",
        "血糖仪不会用，请帮忙看看",
        "最近睡不好，想咨询一下",
        "帮忙看看药怎么吃",
    ],
    "daily_care": ["帮忙买点米和油", "打扫一下房间", "陪我去趟银行", "帮忙晒被子"],
}
# How far each demo order gets: (stage, weight).
STAGES = [
    ("submitted", 5),
    ("dispatched", 4),
    ("accepted", 3),
    ("in_service", 2),
    ("completed", 4),
    ("rated", 12),
    ("cancelled", 1),
]
COMMENTS = {5: "师傅很细心，谢谢社区", 4: "挺好的", 3: "还可以", 2: "来得太晚了", 1: "问题没解决"}


_WALL_CLOCK = timezone.now
OPEN_STAGES = ("submitted", "dispatched", "accepted", "in_service")


class _Clock:
    """A settable "now" for the services and the models' time defaults."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, minutes: float) -> None:
        # never past the real now: the seed must not write the future
        self.at = min(self.at + dt.timedelta(minutes=minutes), _WALL_CLOCK())


@contextmanager
def _clock(at: dt.datetime) -> Iterator[_Clock]:
    clock = _Clock(at)
    with ExitStack() as stack:
        stack.enter_context(mock.patch("django.utils.timezone.now", clock))
        # Fields declared with default=timezone.now kept the function itself.
        for model in (Order, OrderEvent, Rating, FollowUp, Notification):
            for field in model._meta.concrete_fields:
                if field.default is _WALL_CLOCK:
                    stack.enter_context(mock.patch.object(field, "_get_default", clock))
        yield clock


def _placed_at(rng: random.Random, stage: str) -> dt.datetime:
    """Open orders came in within the last three hours; finished ones on a
    daytime hour of the last four weeks."""
    now = _WALL_CLOCK()
    if stage in OPEN_STAGES:
        return now - dt.timedelta(minutes=rng.uniform(40, 180))
    day = timezone.localtime(now) - dt.timedelta(days=rng.randint(2, 27))
    return day.replace(hour=rng.randint(8, 18), minute=rng.randrange(60), second=0, microsecond=0)


@dataclass
class OrderStats:
    placed: int = 0
    rated: int = 0


def demo_orders_build(rng: random.Random, community_code: str, n: int = 30) -> OrderStats:
    """Place ``n`` orders for elderly residents of one community and move them along."""
    community = Center.objects.get(code=community_code)
    dispatcher = User.objects.get(username="demo-dispatcher")
    resident_account = User.objects.get(username="demo-resident")
    elders = list(
        Resident.objects.filter(ages.birth_date_q(ages.ELDERLY), community=community)
        .exclude(account__isnull=False)
        .order_by("birth_date", "name", "id_number")[:200]
    )
    items = {i.code: i for i in ServiceItem.objects.filter(code__in=ITEMS)}
    members = list(
        Member.objects.filter(team__community=community, active=True)
        .select_related("user")
        .prefetch_related("skills")
        .order_by("user__username")
    )
    stats = OrderStats()
    stages, weights = zip(*STAGES, strict=True)
    # The seed's notifications are history: into the inbox, sent nowhere.
    with override_settings(LINLI_NOTIFY_CHANNELS=["linli.notify.channels.InboxChannel"]):
        for i in range(n):
            code = rng.choice(ITEMS)
            stage = rng.choices(stages, weights)[0]
            with _clock(_placed_at(rng, stage)) as clock:
                if _one_order(
                    rng, i, code, stage, clock, dispatcher, resident_account, elders, items, members
                ):
                    stats.rated += 1
            stats.placed += 1
    return stats


def _one_order(
    rng: random.Random,
    i: int,
    code: str,
    stage: str,
    clock: _Clock,
    dispatcher: User,
    resident_account: User,
    elders: list[Resident],
    items: dict[str, ServiceItem],
    members: list[Member],
) -> bool:
    """Place one order and take it to ``stage``; True if it was rated."""
    quick = stage in OPEN_STAGES  # still open: its steps came minutes apart
    if i % 6 == 0:  # the demo resident orders for himself now and then
        order = services.order_place(
            actor=resident_account, item=code, description=rng.choice(DESCRIPTIONS[code])
        )
    else:
        order = services.order_place(
            actor=dispatcher,
            item=code,
            resident_id=rng.choice(elders).pk,
            description=rng.choice(DESCRIPTIONS[code]),
            channel=rng.choice([Channel.PHONE, Channel.PHONE, Channel.DESK]),
        )
    if stage == "submitted":
        return False
    if stage == "cancelled":
        clock.advance(rng.uniform(10, 120))
        services.order_cancel(actor=dispatcher, order_id=order.pk, reason="居民家属已自行处理")
        return False
    member = _free_member(members, items[code].skill_id, rng)
    if member is None:
        return False
    clock.advance(rng.uniform(3, 10) if quick else rng.uniform(5, 40))
    services.order_dispatch(actor=dispatcher, order_id=order.pk, member_id=member.pk)
    if stage == "dispatched":
        return False
    clock.advance(rng.uniform(3, 10) if quick else rng.uniform(5, 90))
    services.order_accept(actor=member.user, order_id=order.pk)
    if stage == "accepted":
        return False
    clock.advance(rng.uniform(5, 15) if quick else rng.uniform(20, 120))
    services.order_start(actor=member.user, order_id=order.pk)
    if stage == "in_service":
        return False
    clock.advance(rng.uniform(30, 150))
    services.order_complete(actor=member.user, order_id=order.pk, note="已处理完毕")
    if stage == "completed":
        return False
    clock.advance(rng.uniform(60, 30 * 60))
    satisfaction = rng.choices([5, 4, 3, 2, 1], [55, 25, 10, 6, 4])[0]
    # Residents rate in the app; one without an account answers the dispatcher's
    # phone callback (回访), which the dispatcher records as such.
    account = order.resident.account if order.resident is not None else None
    services.order_rate(
        actor=account if account is not None else dispatcher,
        order_id=order.pk,
        resolved=satisfaction >= 3,
        satisfaction=satisfaction,
        comment=COMMENTS[satisfaction],
        callback=account is None,
    )
    return True


def _free_member(members: list[Member], skill_id: int, rng: random.Random) -> Member | None:
    loads = services.member_load(m.pk for m in members)
    able = [
        m
        for m in members
        if any(s.pk == skill_id for s in m.skills.all()) and loads.get(m.pk, 0) < m.max_concurrent
    ]
    return rng.choice(able) if able else None


__all__ = ["OrderStats", "demo_orders_build"]
