"""The deadline sweep: overdue orders are flagged and told, unaccepted slots come back."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from linli.core.roles import Role
from linli.notify.models import Notification
from linli.orders import services
from linli.orders.models import Order, OrderStatus, SlotStatus
from linli.site.testing import Cast, make_user
from linli.teams.models import Member, Skill

LATE = dt.timedelta(hours=5)  # past the normal accept deadline of 240 minutes


def place(cast: Cast, item: str = "home_repair") -> Order:
    return services.order_place(actor=cast.a.resident, item=item)


def timeline(order: Order) -> list[str]:
    return list(order.events.order_by("pk").values_list("action", flat=True))


def assert_replays(order: Order) -> None:
    order.refresh_from_db()
    status, slots = services.replay(order.events.order_by("pk"))
    assert status == order.status
    assert {
        pk: slots.get(pk, SlotStatus.OPEN) for pk in order.slots.values_list("pk", flat=True)
    } == dict(order.slots.values_list("pk", "status"))


def test_unaccepted_order_becomes_overdue_and_dispatcher_is_told(cast: Cast) -> None:
    order = place(cast)

    assert services.orders_sweep() == {"overdue": 0, "returned": 0}  # not yet due
    counts = services.orders_sweep(now=order.accept_deadline + dt.timedelta(seconds=1))

    assert counts == {"overdue": 1, "returned": 0}
    order.refresh_from_db()
    assert order.overdue and order.status == OrderStatus.SUBMITTED
    assert timeline(order) == ["place", "overdue"]
    told = Notification.objects.filter(recipient=cast.a.dispatcher, kind="order_overdue")
    assert told.count() == 1 and f"#{order.pk}" in told.get().text
    # Only this order's own dispatchers.
    assert not Notification.objects.filter(recipient=cast.b.dispatcher, kind="order_overdue")
    assert_replays(order)


def test_deadline_itself_is_not_yet_overdue(cast: Cast) -> None:
    order = place(cast)
    assert services.orders_sweep(now=order.accept_deadline) == {"overdue": 0, "returned": 0}


def test_assigned_slot_past_its_deadline_returns_to_the_queue(cast: Cast) -> None:
    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)

    counts = services.orders_sweep(now=timezone.now() + LATE)

    assert counts == {"overdue": 1, "returned": 1}
    order.refresh_from_db()
    slot = order.slots.get()
    assert (order.status, slot.status, slot.member, slot.dispatched_at) == (
        OrderStatus.SUBMITTED,
        SlotStatus.OPEN,
        None,
        None,
    )
    expire = order.events.get(action="expire")
    assert (expire.slot, expire.slot_from, expire.slot_to, expire.actor) == (
        slot,
        SlotStatus.ASSIGNED,
        SlotStatus.OPEN,
        None,
    )
    assert timeline(order) == ["place", "dispatch", "expire", "overdue"]
    assert services.member_load([cast.a.member.pk]) == {}
    assert_replays(order)
    # The member can no longer accept what was taken back; the dispatcher can send it again.
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, team_id=cast.a.team.pk)
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    assert_replays(order)


def test_offered_slot_past_its_deadline_returns_to_the_queue(cast: Cast) -> None:
    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, team_id=cast.a.team.pk)

    assert services.orders_sweep(now=timezone.now() + LATE) == {"overdue": 1, "returned": 1}

    slot = order.slots.get()
    assert (slot.status, slot.offered_team) == (SlotStatus.OPEN, None)
    assert_replays(order)


def test_redispatched_slot_gets_a_fresh_deadline_and_only_the_late_slot_returns(
    cast: Cast,
) -> None:
    # A 3-slot order: one slot accepted, one assigned, one offered.
    traffic = Skill.objects.get(code="traffic")
    cast.a.member.skills.add(traffic)
    order = place(cast, item="traffic")
    others = []
    assert cast.a.team is not None
    for n in (2, 3):
        user = make_user(f"baihua-v{n}", Role.VOLUNTEER, cast.a.center)
        member = Member.objects.create(team=cast.a.team, user=user, source="volunteer")
        member.skills.add(traffic)
        others.append(member)
    d = cast.a.dispatcher
    services.order_dispatch(actor=d, order_id=order.pk, member_id=cast.a.member.pk)
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    services.order_dispatch(actor=d, order_id=order.pk, member_id=others[0].pk)
    services.order_dispatch(actor=d, order_id=order.pk, team_id=cast.a.team.pk)

    later = order.accept_deadline + dt.timedelta(minutes=1)
    assert services.orders_sweep(now=later) == {"overdue": 1, "returned": 2}

    order.refresh_from_db()
    assert [s.status for s in order.slots.order_by("index")] == [
        SlotStatus.ACCEPTED,
        SlotStatus.OPEN,
        SlotStatus.OPEN,
    ]
    assert order.status == OrderStatus.SUBMITTED and order.overdue
    assert_replays(order)


def test_sweeping_twice_changes_nothing_more(cast: Cast) -> None:
    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    later = timezone.now() + LATE
    services.orders_sweep(now=later)
    events, notes = order.events.count(), Notification.objects.count()

    assert services.orders_sweep(now=later) == {"overdue": 0, "returned": 0}
    assert services.orders_sweep(now=later + LATE) == {"overdue": 0, "returned": 0}

    assert order.events.count() == events and Notification.objects.count() == notes


def test_accepted_and_finished_orders_are_untouched(cast: Cast) -> None:
    d, v = cast.a.dispatcher, cast.a.volunteer
    accepted = place(cast)
    services.order_dispatch(actor=d, order_id=accepted.pk, member_id=cast.a.member.pk)
    services.order_accept(actor=v, order_id=accepted.pk)
    cancelled = place(cast)
    services.order_cancel(actor=cast.a.resident, order_id=cancelled.pk)
    rejected = place(cast)
    services.order_reject(actor=d, order_id=rejected.pk, reason="不在服务范围")
    before = {
        o.pk: (o.status, o.overdue, o.events.count())
        for o in Order.objects.filter(pk__in=[accepted.pk, cancelled.pk, rejected.pk])
    }

    assert services.orders_sweep(now=timezone.now() + LATE) == {"overdue": 0, "returned": 0}

    after = {
        o.pk: (o.status, o.overdue, o.events.count())
        for o in Order.objects.filter(pk__in=[accepted.pk, cancelled.pk, rejected.pk])
    }
    assert after == before
    assert not Notification.objects.filter(kind="order_overdue").exists()


def test_overdue_order_may_still_be_dispatched_and_accepted(cast: Cast) -> None:
    order = place(cast)
    Order.objects.filter(pk=order.pk).update(
        accept_deadline=timezone.now() - dt.timedelta(minutes=1)
    )
    assert services.orders_sweep() == {"overdue": 1, "returned": 0}
    slot = services.order_dispatch(
        actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk
    )
    # A slot dispatched after the order's deadline gets a fresh accept window.
    assert slot.accept_deadline is not None and slot.accept_deadline > timezone.now()
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED and order.overdue
    assert_replays(order)
