"""The indicators' rollup equals the raw tables' figures, for random histories."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import asdict
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from linli.core.errors import AppError
from linli.orders import rollups, services
from linli.orders.indicators import order_indicators, raw_indicators
from linli.orders.models import DayFigures, FollowUp, Order, Rating, StaleDay
from linli.site.testing import Cast

LOCAL = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=LOCAL)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(timezone, "now", c)
    for model, name in ((Rating, "created_at"), (FollowUp, "opened_at")):
        monkeypatch.setattr(model._meta.get_field(name), "_get_default", c)
    return c


def history(cast: Cast, clock: Clock, seed: int) -> list[Order]:
    """Orders in both communities over about five weeks: dispatches, declines, late
    accepts, cancellations, the sweep, ratings weeks after the service, follow-ups."""
    rnd = random.Random(seed)
    orders: list[Order] = []
    sides = [cast.a, cast.b]
    for _step in range(160):
        clock.at += dt.timedelta(minutes=rnd.choice([0, 5, 30, 90, 300, 900, 2880]))
        side = rnd.choice(sides)
        if not orders or rnd.random() < 0.2:
            orders.append(services.order_place(actor=side.resident, item="home_repair"))
            continue
        order = rnd.choice(orders)
        c = cast.a if order.community_id == cast.a.center.pk else cast.b
        action = rnd.choice(
            ["dispatch", "dispatch", "offer", "accept", "accept", "decline", "start", "complete",
             "complete", "rate", "cancel", "sweep", "close"]
        )  # fmt: skip
        try:
            if action == "dispatch":
                services.order_dispatch(
                    actor=c.dispatcher, order_id=order.pk, member_id=c.member.pk
                )
            elif action == "offer":
                services.order_dispatch(actor=c.dispatcher, order_id=order.pk, team_id=c.team.pk)
            elif action == "accept":
                services.order_accept(actor=c.volunteer, order_id=order.pk)
            elif action == "decline":
                services.order_decline(actor=c.volunteer, order_id=order.pk, reason="没空")
            elif action == "start":
                services.order_start(actor=c.volunteer, order_id=order.pk)
            elif action == "complete":
                services.order_complete(actor=c.volunteer, order_id=order.pk)
            elif action == "rate":
                services.order_rate(
                    actor=c.resident,
                    order_id=order.pk,
                    resolved=rnd.random() < 0.7,
                    satisfaction=rnd.randint(1, 5),
                )
            elif action == "cancel":
                services.order_cancel(actor=c.dispatcher, order_id=order.pk, reason="重复")
            elif action == "sweep":
                services.orders_sweep()
            elif action == "close":
                services.follow_up_close(actor=c.dispatcher, order_id=order.pk, note="已回访")
        except AppError:
            pass  # not allowed in the order's state: the history goes on
    return orders


def ranges() -> list[tuple[dt.date, dt.date]]:
    first = START.date()
    return [
        (first, first + dt.timedelta(days=1)),
        (first + dt.timedelta(days=3), first + dt.timedelta(days=10)),
        (first + dt.timedelta(days=10), first + dt.timedelta(days=40)),
        (first - dt.timedelta(days=5), first + dt.timedelta(days=400)),
    ]


def same(a: object, b: object) -> bool:
    da, db = asdict(a), asdict(b)  # type: ignore[call-overload]
    for key in ("mean_minutes_to_accept", "mean_minutes_to_complete"):
        x, y = da.pop(key), db.pop(key)
        if (x is None) != (y is None) or (x is not None and abs(x - y) > 1e-6):
            return False
    return bool(da == db)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_rollup_equals_the_raw_figures_for_random_histories(
    cast: Cast, clock: Clock, seed: int
) -> None:
    history(cast, clock, seed)
    assert StaleDay.objects.exists()  # the writes marked their days
    for community in (cast.a.center.pk, cast.b.center.pk, None):
        for first, end in ranges():
            rolled = order_indicators(community, first, end)
            raw = raw_indicators(community, first, end)
            assert same(rolled, raw), (community, first, end, rolled, raw)
    assert not StaleDay.objects.exists()
    cells = sorted(
        DayFigures.objects.values_list("day", "community_id", "item_id", *rollups.FIGURES)
    )

    call_command("rollups", "rebuild", verbosity=0)
    assert (
        sorted(DayFigures.objects.values_list("day", "community_id", "item_id", *rollups.FIGURES))
        == cells
    )
    first, end = ranges()[-1]
    assert same(order_indicators(None, first, end), raw_indicators(None, first, end))


def test_a_late_rating_lands_on_the_day_it_is_given(cast: Cast, clock: Clock) -> None:
    order = services.order_place(actor=cast.a.resident, item="home_repair")
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    services.order_start(actor=cast.a.volunteer, order_id=order.pk)
    services.order_complete(actor=cast.a.volunteer, order_id=order.pk)
    day = START.date()
    before = order_indicators(cast.a.center.pk, day, day + dt.timedelta(days=1))
    assert (before.dispatched, before.responded, before.rated) == (1, 1, 0)

    clock.at += dt.timedelta(days=21)
    services.order_rate(actor=cast.a.resident, order_id=order.pk, resolved=True, satisfaction=5)
    late = clock.at.date()
    assert order_indicators(cast.a.center.pk, day, day + dt.timedelta(days=1)).rated == 0
    assert order_indicators(cast.a.center.pk, late, late + dt.timedelta(days=1)).rated == 1
    assert DayFigures.objects.get(day=late).satisfied == 1
