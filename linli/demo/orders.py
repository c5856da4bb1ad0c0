"""A few weeks' worth of point-order activity in the demo community.

So that the dispatcher's console, its indicators and the timelines have
something to show. Every order goes through the ordinary services, so the
timelines, loads and notifications are what real use would leave.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.test.utils import override_settings

from linli.core.models import User
from linli.network.models import Center
from linli.orders import services
from linli.orders.models import Channel, ServiceItem
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
        "血糖仪不会用,请帮忙看看",
        "最近睡不好,想咨询一下",
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
COMMENTS = {5: "师傅很细心,谢谢社区", 4: "挺好的", 3: "还可以", 2: "来得太晚了", 1: "问题没解决"}


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
    # The console backend would print every message of the seed; the outbox keeps them.
    with override_settings(LINLI_NOTIFY_BACKENDS=["linli.notify.backends.OutboxBackend"]):
        for i in range(n):
            code = rng.choice(ITEMS)
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
            stats.placed += 1
            stage = rng.choices(stages, weights)[0]
            if stage == "submitted":
                continue
            if stage == "cancelled":
                services.order_cancel(
                    actor=dispatcher, order_id=order.pk, reason="居民家属已自行处理"
                )
                continue
            member = _free_member(members, items[code].skill_id, rng)
            if member is None:
                continue
            services.order_dispatch(actor=dispatcher, order_id=order.pk, member_id=member.pk)
            if stage == "dispatched":
                continue
            services.order_accept(actor=member.user, order_id=order.pk)
            if stage == "accepted":
                continue
            services.order_start(actor=member.user, order_id=order.pk)
            if stage == "in_service":
                continue
            services.order_complete(actor=member.user, order_id=order.pk, note="已处理完毕")
            if stage == "completed":
                continue
            satisfaction = rng.choices([5, 4, 3, 2, 1], [55, 25, 10, 6, 4])[0]
            services.order_rate(
                actor=order.placed_by if order.placed_by_id != dispatcher.pk else dispatcher,
                order_id=order.pk,
                resolved=satisfaction >= 3,
                satisfaction=satisfaction,
                comment=COMMENTS[satisfaction],
            )
            stats.rated += 1
    return stats


def _free_member(members: list[Member], skill_id: int, rng: random.Random) -> Member | None:
    loads = services.member_load(m.pk for m in members)
    able = [
        m
        for m in members
        if any(s.pk == skill_id for s in m.skills.all()) and loads.get(m.pk, 0) < m.max_concurrent
    ]
    return rng.choice(able) if able else None


__all__ = ["OrderStats", "demo_orders_build"]
