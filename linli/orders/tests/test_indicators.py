"""The indicators over a small history whose every figure is known."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from linli.core.roles import Role
from linli.orders import services
from linli.orders.indicators import order_indicators
from linli.orders.models import FollowUp, Order, Rating
from linli.site.testing import Cast, make_user
from linli.teams.models import Member, Skill

LOCAL = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 2)
T = TypeVar("T")


class Clock:
    """Stands in for ``timezone.now``: the services take their times from it."""

    def __init__(self) -> None:
        self.at = dt.datetime.combine(DAY, dt.time(9, 0), tzinfo=LOCAL)

    def __call__(self) -> dt.datetime:
        return self.at

    def set(self, hhmm: str) -> None:
        hour, minute = map(int, hhmm.split(":"))
        self.at = dt.datetime.combine(DAY, dt.time(hour, minute), tzinfo=LOCAL)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(timezone, "now", c)
    # Fields whose default is timezone.now hold the function itself.
    for model, name in ((Rating, "created_at"), (FollowUp, "opened_at")):
        monkeypatch.setattr(model._meta.get_field(name), "_get_default", c)
    return c


def second_member(cast: Cast) -> Member:
    user = make_user("baihua-v2", Role.VOLUNTEER, cast.a.center)
    assert cast.a.team is not None
    member = Member.objects.create(team=cast.a.team, user=user, source=Member.Source.VOLUNTEER)
    member.skills.add(Skill.objects.get(code="home_repair"))
    return member


def run(clock: Clock, at: str, service: Callable[..., T], **kw: Any) -> T:
    clock.set(at)
    return service(**kw)


@pytest.fixture
def history(cast: Cast, clock: Clock) -> dict[str, Order]:
    """Three orders in 百花 and one in 兴业, all on 2 March 2026 (accept within 240 min).

    o1: dispatched 09:10, accepted 09:20 (10 min, in time), completed 10:00, rated 5, resolved.
    o2: dispatched 09:05 and declined; offered to the team 09:30, accepted 09:50 (20 min,
        in time), completed 11:00, rated 4, not resolved (a follow-up, left open).
    o3: dispatched 09:40; swept at 14:00 (overdue, slot taken back); dispatched again 14:10,
        accepted 19:00 (290 min, late: due 18:10), completed 20:00, rated 2, resolved
        (a follow-up, closed).
    b1: dispatched 09:00, accepted 09:30, completed 10:00, rated 1, not resolved.
    """
    a, b = cast.a, cast.b
    v2 = second_member(cast)
    s = services
    o1 = s.order_place(actor=a.resident, item="home_repair")
    o2 = s.order_place(actor=a.resident, item="home_repair")
    o3 = s.order_place(actor=a.dispatcher, item="home_repair", resident_id=a.person.pk)
    b1 = s.order_place(actor=b.resident, item="home_repair")

    run(clock, "09:00", s.order_dispatch, actor=b.dispatcher, order_id=b1.pk, member_id=b.member.pk)
    run(clock, "09:05", s.order_dispatch, actor=a.dispatcher, order_id=o2.pk, member_id=a.member.pk)
    run(clock, "09:10", s.order_dispatch, actor=a.dispatcher, order_id=o1.pk, member_id=a.member.pk)
    run(clock, "09:15", s.order_decline, actor=a.volunteer, order_id=o2.pk, reason="在外地")
    run(clock, "09:20", s.order_accept, actor=a.volunteer, order_id=o1.pk)
    run(clock, "09:30", s.order_dispatch, actor=a.dispatcher, order_id=o2.pk, team_id=a.team.pk)
    run(clock, "09:30", s.order_accept, actor=b.volunteer, order_id=b1.pk)
    run(clock, "09:35", s.order_start, actor=a.volunteer, order_id=o1.pk)
    run(clock, "09:40", s.order_dispatch, actor=a.dispatcher, order_id=o3.pk, member_id=v2.pk)
    run(clock, "09:45", s.order_start, actor=b.volunteer, order_id=b1.pk)
    run(clock, "09:50", s.order_accept, actor=a.volunteer, order_id=o2.pk)
    run(clock, "10:00", s.order_complete, actor=a.volunteer, order_id=o1.pk)
    run(clock, "10:00", s.order_complete, actor=b.volunteer, order_id=b1.pk)
    run(
        clock,
        "10:10",
        s.order_rate,
        actor=a.resident,
        order_id=o1.pk,
        resolved=True,
        satisfaction=5,
    )
    run(
        clock,
        "10:10",
        s.order_rate,
        actor=b.resident,
        order_id=b1.pk,
        resolved=False,
        satisfaction=1,
    )
    run(clock, "10:30", s.order_start, actor=a.volunteer, order_id=o2.pk)
    run(clock, "11:00", s.order_complete, actor=a.volunteer, order_id=o2.pk)
    run(
        clock,
        "11:10",
        s.order_rate,
        actor=a.resident,
        order_id=o2.pk,
        resolved=False,
        satisfaction=4,
    )
    clock.set("14:00")
    assert s.orders_sweep() == {"overdue": 1, "returned": 1}
    run(clock, "14:10", s.order_dispatch, actor=a.dispatcher, order_id=o3.pk, member_id=v2.pk)
    run(clock, "19:00", s.order_accept, actor=v2.user, order_id=o3.pk)
    run(clock, "19:10", s.order_start, actor=v2.user, order_id=o3.pk)
    run(clock, "20:00", s.order_complete, actor=v2.user, order_id=o3.pk)
    run(
        clock,
        "20:10",
        s.order_rate,
        actor=a.resident,
        order_id=o3.pk,
        resolved=True,
        satisfaction=2,
    )
    run(clock, "20:30", s.follow_up_close, actor=a.dispatcher, order_id=o3.pk, note="已回访")
    return {"o1": o1, "o2": o2, "o3": o3, "b1": b1}


def test_community_figures_over_a_day(cast: Cast, history: dict[str, Order]) -> None:
    got = order_indicators(cast.a.center.pk, DAY, DAY + dt.timedelta(days=1))

    # As a dict, so that the means may be compared approximately.
    assert asdict(got) == {
        "community_id": cast.a.center.pk,
        "start": dt.datetime(2026, 3, 2, tzinfo=LOCAL),
        "end": dt.datetime(2026, 3, 3, tzinfo=LOCAL),
        # Five dispatches: o1 once, o2 twice (declined, then offered), o3 twice (expired,
        # then late). In time: o1 and o2's second.
        "dispatched": 5,
        "responded": 2,
        "response_rate": 2 / 5,
        "rated": 3,
        "resolved": 2,
        "resolution_rate": 2 / 3,
        "satisfied": 2,
        "satisfaction_rate": 2 / 3,
        "mean_minutes_to_accept": pytest.approx((10 + 20 + 290) / 3),
        "mean_minutes_to_complete": pytest.approx((60 + 120 + 660) / 3),
        "overdue": 1,
        "follow_ups_opened": 2,
        "open_follow_ups": 1,
    }


def test_city_adds_up_every_community(cast: Cast, history: dict[str, Order]) -> None:
    city = order_indicators(None, DAY, DAY + dt.timedelta(days=1))
    other = order_indicators(cast.b.center.pk, DAY, DAY + dt.timedelta(days=1))

    assert (other.dispatched, other.responded, other.rated, other.resolved) == (1, 1, 1, 0)
    assert other.satisfaction_rate == 0.0 and other.overdue == 0
    assert other.mean_minutes_to_accept == pytest.approx(30)
    assert (city.dispatched, city.responded, city.response_rate) == (6, 3, 0.5)
    assert (city.rated, city.resolution_rate, city.satisfaction_rate) == (4, 0.5, 0.5)
    assert city.mean_minutes_to_accept == pytest.approx((10 + 20 + 290 + 30) / 4)
    assert city.mean_minutes_to_complete == pytest.approx((60 + 120 + 660 + 60) / 4)
    assert (city.overdue, city.follow_ups_opened, city.open_follow_ups) == (1, 3, 2)


def test_a_range_counts_what_happened_inside_it(cast: Cast, history: dict[str, Order]) -> None:
    morning = order_indicators(
        cast.a.center.pk, dt.datetime(2026, 3, 2, 9, 0), dt.datetime(2026, 3, 2, 9, 35)
    )
    # Dispatches at 09:05 (declined), 09:10 and 09:30 (both accepted in time).
    assert (morning.dispatched, morning.responded) == (3, 2)
    assert morning.response_rate == pytest.approx(2 / 3)
    assert morning.mean_minutes_to_accept == pytest.approx((10 + 20) / 2)
    # Nothing was completed or rated yet: no rate is made up.
    assert morning.rated == 0 and morning.resolution_rate is None
    assert morning.satisfaction_rate is None and morning.mean_minutes_to_complete is None


def test_empty_range_gives_none_not_zero(cast: Cast, history: dict[str, Order]) -> None:
    got = order_indicators(cast.a.center.pk, dt.date(2026, 3, 3), dt.date(2026, 3, 4))

    assert got.dispatched == got.rated == got.overdue == got.open_follow_ups == 0
    assert got.response_rate is None
    assert got.resolution_rate is None
    assert got.satisfaction_rate is None
    assert got.mean_minutes_to_accept is None and got.mean_minutes_to_complete is None


def test_no_orders_at_all(cast: Cast) -> None:
    got = order_indicators(None, DAY, DAY + dt.timedelta(days=1))
    assert got.response_rate is None and got.dispatched == 0


def test_query_count_does_not_grow_with_history(
    cast: Cast, history: dict[str, Order], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # Whole days come from the rollup: a probe for stale cells and one sum, once the
    # cells the history marked are recomputed (the first read of their days does it).
    order_indicators(None, dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    with django_assert_num_queries(2):
        order_indicators(cast.a.center.pk, DAY, DAY + dt.timedelta(days=1))
    with django_assert_num_queries(2):
        order_indicators(None, dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    # Other ranges are aggregated from the raw tables, in three queries.
    with django_assert_num_queries(3):
        order_indicators(cast.a.center.pk, DAY, timezone.now())
