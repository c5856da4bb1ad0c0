"""Every legal transition of the point-order cycle, through the services."""

from __future__ import annotations

import pytest

from linli.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from linli.notify.models import Notification
from linli.orders import services
from linli.orders.models import FollowUp, Order, OrderStatus, SlotStatus
from linli.people.models import Contact
from linli.teams.models import Skill


def place(cast, **kw) -> Order:
    return services.order_place(actor=cast.a.resident, item=kw.pop("item", "home_repair"), **kw)


def test_full_cycle_by_member(cast):
    order = place(cast, description="厨房水龙头漏水")
    assert order.status == OrderStatus.SUBMITTED
    assert order.address == cast.a.person.address and order.placed_as == "self"
    assert Notification.objects.filter(recipient=cast.a.dispatcher, kind="order_placed").exists()

    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    services.order_start(actor=cast.a.volunteer, order_id=order.pk)
    services.order_complete(actor=cast.a.volunteer, order_id=order.pk, note="已更换阀芯")
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    # the member met the resident at home: the one contact function recorded it
    contact = Contact.objects.get(resident=cast.a.person)
    assert (contact.kind, contact.by, contact.at) == (
        Contact.Kind.ORDER,
        cast.a.volunteer,
        order.slots.get().completed_at,
    )
    services.order_rate(
        actor=cast.a.resident, order_id=order.pk, resolved=True, satisfaction=5, comment="很好"
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.RATED
    assert not FollowUp.objects.exists()

    status, slots = services.replay(order.events.order_by("pk"))
    assert status == order.status
    assert slots == {s.pk: s.status for s in order.slots.all()}
    assert [e.action for e in order.events.order_by("pk")] == [
        "place",
        "dispatch",
        "accept",
        "start",
        "complete",
        "rate",
    ]


def test_team_offer_first_member_wins(cast):
    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, team_id=cast.a.team.pk)
    assert order.slots.get().status == SlotStatus.OFFERED
    slot = services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    assert slot.member == cast.a.member
    with pytest.raises(Conflict):
        services.order_accept(actor=cast.a.volunteer, order_id=order.pk)


def test_decline_returns_slot_to_queue(cast):
    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    with pytest.raises(InvalidInput):
        services.order_decline(actor=cast.a.volunteer, order_id=order.pk, reason=" ")
    services.order_decline(actor=cast.a.volunteer, order_id=order.pk, reason="今天不在岑溪")
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    assert order.slots.get().status == SlotStatus.OPEN
    assert Notification.objects.filter(recipient=cast.a.dispatcher, kind="slot_declined").exists()


def test_low_rating_opens_follow_up_that_must_be_closed_with_note(cast):
    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    services.order_start(actor=cast.a.volunteer, order_id=order.pk)
    services.order_complete(actor=cast.a.volunteer, order_id=order.pk)
    services.order_rate(actor=cast.a.resident, order_id=order.pk, resolved=False, satisfaction=2)
    follow_up = FollowUp.objects.get(order=order)
    assert follow_up.closed_at is None
    with pytest.raises(InvalidInput):
        services.follow_up_close(actor=cast.a.dispatcher, order_id=order.pk, note="")
    with pytest.raises(NotFound):
        services.follow_up_close(actor=cast.b.dispatcher, order_id=order.pk, note="x")
    services.follow_up_close(
        actor=cast.a.dispatcher, order_id=order.pk, note="已电话回访，重新安排维修"
    )
    follow_up.refresh_from_db()
    assert follow_up.closed_by == cast.a.dispatcher
    with pytest.raises(Conflict):
        services.order_rate(actor=cast.a.resident, order_id=order.pk, resolved=True, satisfaction=5)


def test_cancel_rules(cast):
    order = place(cast)
    with pytest.raises(NotFound):  # a volunteer with no slot does not see the order
        services.order_cancel(actor=cast.a.volunteer, order_id=order.pk)
    with pytest.raises(Forbidden):  # the leader sees the community's orders, may not cancel
        services.order_cancel(actor=cast.a.leader, order_id=order.pk)
    with pytest.raises(NotFound):
        services.order_cancel(actor=cast.b.dispatcher, order_id=order.pk, reason="x")
    with pytest.raises(InvalidInput):
        services.order_cancel(actor=cast.a.dispatcher, order_id=order.pk)
    services.order_cancel(actor=cast.a.resident, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert all(s.status == SlotStatus.CANCELLED for s in order.slots.all())
    status, _ = services.replay(order.events.order_by("pk"))
    assert status == OrderStatus.CANCELLED


def test_dispatcher_places_for_resident_by_phone(cast):
    order = services.order_place(
        actor=cast.a.dispatcher, item="health_clinic", resident_id=cast.a.person.pk, channel="phone"
    )
    assert order.placed_as == "dispatcher" and order.channel == "phone"
    with pytest.raises(InvalidInput):
        services.order_place(
            actor=cast.a.dispatcher, item="health_clinic", resident_id=cast.b.person.pk
        )


def test_traffic_needs_three_slots(cast):
    order = place(cast, item="traffic")
    assert order.slots.count() == 3
    with pytest.raises(InvalidInput):  # 交通劝导 needs the traffic skill
        services.order_dispatch(
            actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk
        )
    cast.a.member.skills.add(Skill.objects.get(code="traffic"))
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED  # two slots still open


def test_member_sees_contact_only_after_accepting_and_it_is_audited(cast):
    from linli.core.models import AuditLog

    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    with pytest.raises(Conflict):
        services.order_contact(actor=cast.a.volunteer, order_id=order.pk)
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    contact = services.order_contact(actor=cast.a.volunteer, order_id=order.pk)
    assert contact == {"address": cast.a.person.address, "phone": cast.a.person.phone}
    entry = AuditLog.objects.get()
    assert (entry.actor, entry.field, entry.target_id) == (
        cast.a.volunteer,
        "contact",
        cast.a.person.pk,
    )
    with pytest.raises(NotFound):
        services.order_contact(actor=cast.b.volunteer, order_id=order.pk)


def test_dispatch_event_records_its_target(cast):
    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    event = order.events.get(action="dispatch")
    assert (event.member, event.team) == (cast.a.member, None)


def test_contact_page_fragment(cast):
    from django.urls import reverse

    from linli.site.testing import client_for

    order = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    client = client_for(cast.a.volunteer)
    assert client.post(reverse("orders:contact", args=[order.pk])).status_code == 409
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    tasks = client.get(reverse("orders:tasks")).content.decode()
    assert "查看地址和电话" in tasks and cast.a.person.phone not in tasks
    html = client.post(reverse("orders:contact", args=[order.pk])).content.decode()
    assert cast.a.person.phone in html and cast.a.person.address in html
    assert client.get(reverse("orders:contact", args=[order.pk])).status_code == 405


def test_idempotency_key_reused_for_another_order_is_a_conflict(cast):
    first = services.order_place(actor=cast.a.resident, item="home_repair", idempotency_key="k1")
    again = services.order_place(actor=cast.a.resident, item="home_repair", idempotency_key="k1")
    assert again.pk == first.pk
    with pytest.raises(Conflict):
        services.order_place(actor=cast.a.resident, item="daily_care", idempotency_key="k1")
    assert Order.objects.count() == 1
