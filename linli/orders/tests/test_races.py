"""The services raced by real threads against PostgreSQL, with real commits.

Every thread has its own connection (Django's are per thread) and closes it
when done; a barrier releases them together. SQLite serialises every write
transaction, so these only run on PostgreSQL. (test_api_races.py races the
same paths through the JSON API.)
"""

from __future__ import annotations

import datetime as dt
import threading
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.db.utils import OperationalError
from django.utils import timezone

from linli.core.errors import Conflict
from linli.core.roles import Role
from linli.notify.channels import Outgoing
from linli.notify.models import Notification
from linli.orders import services
from linli.orders.models import Order, OrderEvent, OrderStatus, Slot, SlotStatus
from linli.site.testing import RACE_MARKS, Cast, make_user, race
from linli.teams.models import Member, Skill

pytestmark = RACE_MARKS


def add_member(cast: Cast, username: str, cap: int = 3) -> Member:
    user = make_user(username, Role.VOLUNTEER, cast.a.center)
    assert cast.a.team is not None
    member = Member.objects.create(
        team=cast.a.team, user=user, source=Member.Source.VOLUNTEER, max_concurrent=cap
    )
    member.skills.add(Skill.objects.get(code="home_repair"))
    return member


def place(cast: Cast) -> Order:
    return services.order_place(actor=cast.a.resident, item="home_repair")


def assert_replays(order: Order) -> None:
    order.refresh_from_db()
    status, slots = services.replay(order.events.order_by("pk"))
    assert status == order.status
    actual = dict(order.slots.values_list("pk", "status"))
    assert {pk: slots.get(pk, SlotStatus.OPEN) for pk in actual} == actual


def test_twenty_members_accept_one_offer_at_once_one_wins(cast: Cast) -> None:
    members = [add_member(cast, f"racer-{i}") for i in range(20)]
    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, team_id=cast.a.team.pk)

    results = race(
        [partial(services.order_accept, actor=m.user, order_id=order.pk) for m in members]
    )

    won = [r for r in results if isinstance(r, Slot)]
    lost = [r for r in results if not isinstance(r, Slot)]
    assert len(won) == 1, results
    assert len(lost) == 19 and all(isinstance(r, Conflict) for r in lost), lost
    slot = order.slots.get()
    winner = members[results.index(won[0])]
    assert (slot.status, slot.member_id) == (SlotStatus.ACCEPTED, winner.pk)
    assert order.events.filter(action="accept").count() == 1
    assert services.member_load(m.pk for m in members) == {winner.pk: 1}
    assert_replays(order)


@pytest.mark.parametrize("offered", [False, True], ids=["assigned", "offered"])
def test_cancel_racing_accept_leaves_one_consistent_outcome(cast: Cast, offered: bool) -> None:
    """The resident may cancel an accepted order, so both may succeed (accept first).

    Whatever the interleaving: the order ends cancelled with every slot
    cancelled, no slot stays accepted, the member is free again, the timeline
    replays, and an accept that lost came after the cancel and was refused.
    """
    for _ in range(10):
        order = place(cast)
        if offered:
            services.order_dispatch(
                actor=cast.a.dispatcher, order_id=order.pk, team_id=cast.a.team.pk
            )
        else:
            services.order_dispatch(
                actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk
            )

        accepted, cancelled = race(
            [
                partial(services.order_accept, actor=cast.a.volunteer, order_id=order.pk),
                partial(services.order_cancel, actor=cast.a.resident, order_id=order.pk),
            ]
        )

        assert isinstance(cancelled, Order), cancelled
        order.refresh_from_db()
        slot = order.slots.get()
        assert (order.status, slot.status) == (OrderStatus.CANCELLED, SlotStatus.CANCELLED)
        actions = list(order.events.order_by("pk").values_list("action", flat=True))
        if isinstance(accepted, Slot):
            assert actions == ["place", "dispatch", "accept", "cancel", "cancel"]
        else:
            # Too late: the state no longer allows it (409), and nothing was accepted.
            assert isinstance(accepted, Conflict), accepted
            assert actions == ["place", "dispatch", "cancel", "cancel"]
        assert_replays(order)
        assert services.member_load([cast.a.member.pk]) == {}


def test_same_idempotency_key_twenty_times_at_once_makes_one_order(cast: Cast) -> None:
    results = race(
        [
            lambda: services.order_place(
                actor=cast.a.resident,
                item="home_repair",
                description="漏水",
                idempotency_key="retry-storm",
            )
            for _ in range(20)
        ]
    )

    assert all(isinstance(r, Order) for r in results), results
    order = Order.objects.get()
    assert {r.pk for r in results} == {order.pk}
    assert order.slots.count() == 1
    assert OrderEvent.objects.filter(action="place").count() == 1
    assert Notification.objects.filter(kind="order_placed").count() == 1  # one dispatcher in 百花


def test_ten_orders_dispatched_to_one_member_at_once_respect_the_cap(cast: Cast) -> None:
    member = cast.a.member
    assert member.max_concurrent == 3
    orders = [place(cast) for _ in range(10)]

    results = race(
        [
            partial(
                services.order_dispatch, actor=cast.a.dispatcher, order_id=o.pk, member_id=member.pk
            )
            for o in orders
        ]
    )

    assert sum(isinstance(r, Slot) for r in results) == 3, results
    assert all(isinstance(r, Slot | Conflict) for r in results), results
    assert services.member_load([member.pk]) == {member.pk: 3}
    assert Slot.objects.filter(member=member).count() == 3


def test_offers_of_ten_orders_accepted_by_one_member_at_once_respect_the_cap(
    cast: Cast,
) -> None:
    orders = [place(cast) for _ in range(10)]
    for o in orders:
        services.order_dispatch(actor=cast.a.dispatcher, order_id=o.pk, team_id=cast.a.team.pk)

    results = race(
        [partial(services.order_accept, actor=cast.a.volunteer, order_id=o.pk) for o in orders]
    )

    assert sum(isinstance(r, Slot) for r in results) == 3, results
    assert services.member_load([cast.a.member.pk]) == {cast.a.member.pk: 3}


def test_two_sweeps_at_once_flag_and_return_each_order_once(cast: Cast) -> None:
    orders = [place(cast) for _ in range(6)]
    for o in orders[:3]:
        services.order_dispatch(actor=cast.a.dispatcher, order_id=o.pk, team_id=cast.a.team.pk)
    later = timezone.now() + dt.timedelta(hours=5)

    results = race([lambda: services.orders_sweep(now=later) for _ in range(2)])

    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["overdue"] for r in results) == 6
    assert sum(r["returned"] for r in results) == 3
    assert OrderEvent.objects.filter(action="overdue").count() == 6
    assert OrderEvent.objects.filter(action="expire").count() == 3
    assert Notification.objects.filter(kind="order_overdue").count() == 6
    for o in orders:
        assert_replays(o)


class Stall:
    """A notification channel that holds its transaction open until released.

    Services notify inside their transaction, after taking the order's row
    lock: while a thread stalls here, its transition is in flight.
    """

    name = "stall"
    immediate = True  # delivers inside notify's transaction
    entered = threading.Event()
    release = threading.Event()

    def deliver(self, message: Outgoing) -> None:
        if threading.current_thread().name == "stalled":
            type(self).entered.set()
            type(self).release.wait(timeout=30)


def test_a_transition_in_flight_blocks_only_its_own_order(cast: Cast, settings: Any) -> None:
    """Locking an order must not lock its catalog item or its community.

    Every transition locks the order row with select_for_update(); with
    select_related("item", "community") PostgreSQL locks those rows as well,
    so one transition in flight would hold up every transition on any order
    of the same item (in every community) and every order placed in the same
    community (the insert's foreign-key check waits for the community row).
    """
    a_order, other_a_order = place(cast), place(cast)
    b_order = services.order_place(actor=cast.b.resident, item="home_repair")
    settings.LINLI_NOTIFY_CHANNELS = [
        "linli.notify.channels.InboxChannel",
        f"{__name__}.Stall",
    ]
    Stall.entered.clear()
    Stall.release.clear()
    errors: list[Exception] = []

    def dispatch_and_stall() -> None:
        try:
            services.order_dispatch(
                actor=cast.a.dispatcher, order_id=a_order.pk, member_id=cast.a.member.pk
            )
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    stalled = threading.Thread(target=dispatch_and_stall, name="stalled")
    stalled.start()
    try:
        assert Stall.entered.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        try:
            # Another community's order of the same item.
            services.order_dispatch(
                actor=cast.b.dispatcher, order_id=b_order.pk, member_id=cast.b.member.pk
            )
            # Another order of the same community.
            services.order_dispatch(
                actor=cast.a.dispatcher, order_id=other_a_order.pk, team_id=cast.a.team.pk
            )
            # A new order in the same community.
            services.order_place(actor=cast.a.resident, item="health_clinic")
        except OperationalError as exc:
            pytest.fail(f"waited for the other order's transition: {exc}")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        Stall.release.set()
        stalled.join()
    assert not errors


def test_crossing_dispatches_between_two_communities_do_not_deadlock(
    cast: Cast, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With dispatch across community lines allowed, 百花's order goes to 兴业's member
    while 兴业's order goes to 百花's member, both at once.

    Each transition locks its order, then the member. Today the order lock
    also takes the community row (select_related), and the member lock takes
    the member's team and community rows (Member's default ordering joins
    them): each transaction then waits for the community the other holds.
    """
    settings.LINLI_DISPATCH_CROSS_COMMUNITY = 5.0
    cast.a.member.skills.add(Skill.objects.get(code="health_clinic"))
    cast.b.member.skills.add(Skill.objects.get(code="home_repair"))
    a_order = place(cast)
    b_order = services.order_place(actor=cast.b.resident, item="health_clinic")
    # Make the interleaving certain: both have locked their order before either
    # goes on to lock its member.
    both_locked = threading.Barrier(2, timeout=10)
    member_for = services._member_for

    def after_both_locked(order: Order, member_id: int) -> Member:
        both_locked.wait()
        return member_for(order, member_id)

    monkeypatch.setattr(services, "_member_for", after_both_locked)

    results = race(
        [
            lambda: services.order_dispatch(
                actor=cast.city, order_id=a_order.pk, member_id=cast.b.member.pk
            ),
            lambda: services.order_dispatch(
                actor=cast.city, order_id=b_order.pk, member_id=cast.a.member.pk
            ),
        ]
    )

    assert all(isinstance(r, Slot) for r in results), results
