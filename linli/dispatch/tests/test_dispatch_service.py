"""Suggestions and batch assignment, through the Django glue."""

from __future__ import annotations

import pytest

from linli.core.errors import Forbidden, NotFound
from linli.core.services import token_issue
from linli.dispatch.models import DispatchPolicy
from linli.dispatch.services import auto_dispatch, batch_dispatch, suggestions_for_order
from linli.orders import services as orders
from linli.orders.models import OrderEvent, OrderStatus, SlotStatus
from linli.site.testing import client_for, make_user
from linli.teams.models import Member, Skill


def add_member(
    cast,
    name: str,
    lat: float | None,
    lon: float | None,
    cap: int = 3,
    skills=("home_repair",),
    availability=None,
):
    user = make_user(name, "volunteer", cast.a.center, name)
    m = Member.objects.create(
        team=cast.a.team,
        user=user,
        source="volunteer",
        lat=lat,
        lon=lon,
        max_concurrent=cap,
        availability=availability
        if availability is not None
        else [[d, "00:00", "24:00"] for d in range(7)],
    )
    m.skills.set(Skill.objects.filter(code__in=skills))
    return m


def place(cast, item="home_repair"):
    return orders.order_place(actor=cast.a.resident, item=item)


def test_suggestions_rank_and_explain(cast):
    near = add_member(cast, "near", 22.9205, 110.9905)
    far = add_member(cast, "far", 22.99, 111.05)
    order = place(cast)
    [slot] = suggestions_for_order(cast.a.dispatcher, order.pk)
    ids = [c.member.pk for c in slot.candidates]
    assert ids.index(near.pk) < ids.index(far.pk)
    top = slot.candidates[0]
    assert top.reasons[0].endswith("公里")
    assert "有家政维修技能" in top.reasons
    assert any(r.startswith("当前 0/3 单") for r in top.reasons)
    assert "近30天暂无评分" in top.reasons
    costs = [c.cost for c in slot.candidates]
    assert costs == sorted(costs)


@pytest.mark.parametrize(("per_km", "cross"), [(None, None), (0.0, None), (None, 0.5)])
def test_suggestions_read_the_nearest_members_and_rank_as_if_all_were_read(
    cast, monkeypatch, settings, per_km, cross
):
    """Suggestions gather the nearest members with the skill first and only
    read further out until nobody left out could rank higher: the same top
    five, in the same order and at the same costs, as from every member."""
    import random

    from linli.dispatch import engine, gather, services

    if per_km is not None:  # distance costs nothing: everyone must be read
        settings.LINLI_DISPATCH_WEIGHTS = {**settings.LINLI_DISPATCH_WEIGHTS, "per_km": per_km}
    # members of other communities may serve, at a penalty
    settings.LINLI_DISPATCH_CROSS_COMMUNITY = cross
    rnd = random.Random(5)
    for i in range(40):
        add_member(
            cast,
            f"m{i}",
            22.92 + rnd.uniform(-0.05, 0.05),
            110.99 + rnd.uniform(-0.05, 0.05),
            cap=rnd.choice([1, 2, 3]),
            skills=("home_repair",) if i % 5 else ("health_clinic",),
            availability=[[d, "00:00", "24:00"] for d in range(7)] if i % 7 else [],
        )
    # members of the next community, close by
    for i in range(3):
        m = add_member(cast, f"b{i}", 22.9202 + i * 1e-3, 110.9902, cap=3)
        m.team = cast.b.team
        m.save()
    # the nearest members are busy: one order each fills them up
    for i in range(3):
        near = add_member(cast, f"near{i}", 22.9201, 110.9901 + i * 1e-4, cap=1)
        taken = place(cast)
        orders.order_dispatch(actor=cast.a.dispatcher, order_id=taken.pk, member_id=near.pk)
    order = place(cast)
    slots = [s for s in gather.open_slots([order.community_id]) if s.order_id == order.pk]
    everyone = gather.gather(slots, [order.community_id])
    expected = engine.suggest(
        0, everyone.slots, everyone.members, gather.weights(), excluded=everyone.excluded
    )
    read: list[int | None] = []
    real = services.gather

    def spy(*args, **kw):
        read.append(len(kw["member_ids"]) if kw.get("member_ids") is not None else None)
        return real(*args, **kw)

    monkeypatch.setattr(services, "SUGGEST_FIRST", 2)
    monkeypatch.setattr(services, "gather", spy)
    [slot] = suggestions_for_order(cast.a.dispatcher, order.pk)
    assert [c.member.pk for c in slot.candidates] == [c.member_id for c in expected.candidates]
    assert [c.cost for c in slot.candidates] == [c.cost for c in expected.candidates]
    assert len(slot.candidates) == 5
    others = [c for c in slot.candidates if c.member.team.community_id != order.community_id]
    assert bool(others) == (cross is not None)
    assert read[0] == 2 and None not in read  # it widened, and never read everyone
    widest = read[-1]
    assert widest is not None
    qualified = Member.objects.filter(active=True, skills__code="home_repair")
    if cross is None:
        qualified = qualified.filter(team__community=order.community)
    skilled = qualified.count()
    if per_km is None:
        assert widest < skilled
    else:
        assert widest == skilled


def test_a_member_without_a_place_is_where_they_live_else_at_their_center(cast):
    from linli.dispatch import engine, gather

    home = add_member(cast, "home", None, None)
    home.resident = cast.a.person
    home.save()
    cast.a.person.lat, cast.a.person.lon = 22.95, 111.02
    cast.a.person.save()
    nowhere = add_member(cast, "nowhere", None, None)
    order = place(cast)
    order.lat, order.lon = 22.93, 110.98
    order.save()
    center = cast.a.center
    want = {
        home.pk: engine.haversine_km(22.93, 110.98, 22.95, 111.02),
        nowhere.pk: engine.haversine_km(22.93, 110.98, center.lat, center.lon),
    }
    [slot] = suggestions_for_order(cast.a.dispatcher, order.pk)
    got = {c.member.pk: c.breakdown["distance_km"] for c in slot.candidates}
    ids, km = gather.nearest_members(order.item.skill_id, 22.93, 110.98, [center.pk])
    for pk, d in want.items():
        assert got[pk] == pytest.approx(float(d), abs=1e-9)
        assert km[list(ids).index(pk)] == pytest.approx(float(d), abs=1e-9)


def test_a_member_removed_while_a_plan_is_made_is_left_out(cast, monkeypatch):
    from linli.dispatch import gather

    order = place(cast)
    real = gather.Inputs.member_rows

    def gone(self, ids):  # the member row was deleted after the inputs were read
        rows = real(self, ids)
        rows.pop(cast.a.member.pk, None)
        return rows

    monkeypatch.setattr(gather.Inputs, "member_rows", gone)
    [slot] = suggestions_for_order(cast.a.dispatcher, order.pk)
    assert cast.a.member.pk not in [c.member.pk for c in slot.candidates]
    plan = batch_dispatch(actor=cast.a.dispatcher, community=cast.a.center, dry_run=False)
    assert plan.applied == 0 and plan.assignments == []
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_no_feasible_member_says_why(cast):
    # nobody with the skill
    order = place(cast, item="health_clinic")
    [slot] = suggestions_for_order(cast.a.dispatcher, order.pk)
    assert slot.candidates == [] and slot.reason == "no_skill"
    assert "技能" in slot.reason_text
    # everyone with the skill at capacity
    cast.a.member.max_concurrent = 1
    cast.a.member.save()
    first = place(cast)
    orders.order_dispatch(actor=cast.a.dispatcher, order_id=first.pk, member_id=cast.a.member.pk)
    second = place(cast)
    [slot] = suggestions_for_order(cast.a.dispatcher, second.pk)
    assert slot.reason == "all_at_capacity"
    # someone with capacity, but not free in the window
    add_member(cast, "busy", 22.92, 110.99, availability=[])
    Member.objects.filter(user__username="busy").update(availability=[[0, "03:00", "04:00"]])
    import datetime as dt

    from django.utils import timezone

    start = timezone.localtime() + dt.timedelta(days=2)
    start = start.replace(hour=10 if start.weekday() else 12, minute=0)
    third = orders.order_place(
        actor=cast.a.resident,
        item="home_repair",
        urgency="scheduled",
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
    )
    [slot] = suggestions_for_order(cast.a.dispatcher, third.pk)
    assert slot.reason == "none_available"


def test_suggestions_permissions(cast):
    order = place(cast)
    with pytest.raises(NotFound):
        suggestions_for_order(cast.b.dispatcher, order.pk)
    with pytest.raises((Forbidden, NotFound)):
        suggestions_for_order(cast.a.volunteer, order.pk)
    r = client_for(cast.a.dispatcher).get(
        f"/api/v1/orders/{order.pk}/suggestions",
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.dispatcher)}",
    )
    assert r.status_code == 200
    assert r.json()[0]["candidates"][0]["reasons"]


@pytest.mark.parametrize(
    ("query", "reason"),
    [("k=0", "请填 1 到 20 之间的整数。"), ("k=21", "请填 1 到 20 之间的整数。"), ("k=many", None)],
)
def test_suggestions_api_refuses_a_bad_k_by_field(cast, query, reason):
    order = place(cast)
    r = client_for(cast.a.dispatcher).get(
        f"/api/v1/orders/{order.pk}/suggestions?{query}",
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.dispatcher)}",
    )
    assert r.status_code == 400
    assert r.json()["fields"]["k"]
    if reason:
        assert r.json()["fields"]["k"] == [reason]


def test_batch_dry_run_changes_nothing_then_apply_dispatches(cast):
    for i in range(3):
        add_member(cast, f"m{i}", 22.92 + i * 0.01, 110.99, cap=1)
    placed = [place(cast) for _ in range(4)]
    events = OrderEvent.objects.count()
    plan = batch_dispatch(actor=cast.a.dispatcher, community=cast.a.center, dry_run=True)
    assert len(plan.assignments) == 4  # 3 new members with cap 1 + the cast's member with cap 3
    assert OrderEvent.objects.count() == events
    plan = batch_dispatch(actor=cast.a.dispatcher, community=cast.a.center, dry_run=False)
    assert plan.applied == 4
    for o in placed:
        o.refresh_from_db()
        assert o.status == OrderStatus.DISPATCHED
        e = o.events.get(action="dispatch")
        assert e.actor == cast.a.dispatcher and e.note == "批量派单"
    # every member's load stays within the cap
    for m in Member.objects.all():
        assert (
            m.slots.filter(status__in=("assigned", "accepted", "in_service")).count()
            <= m.max_concurrent
        )


def test_batch_skips_a_slot_dispatched_by_hand_meanwhile(cast, monkeypatch):
    order = place(cast)
    from linli.dispatch import services as dispatch_services

    real = dispatch_services.order_services.order_dispatch

    def manual_first(**kw):
        # A dispatcher clicks "dispatch" between the plan and its application.
        if not order.slots.filter(status=SlotStatus.ASSIGNED).exists():
            real(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
        return real(**kw)

    monkeypatch.setattr(dispatch_services.order_services, "order_dispatch", manual_first)
    plan = batch_dispatch(actor=cast.a.dispatcher, community=cast.a.center, dry_run=False)
    assert plan.applied == 0 and plan.assignments[0].error
    assert order.events.filter(action="dispatch").count() == 1


def test_batch_scope_and_permissions(cast):
    with pytest.raises(NotFound):
        batch_dispatch(actor=cast.b.dispatcher, community=cast.a.center)
    with pytest.raises(Forbidden):
        batch_dispatch(actor=cast.a.volunteer, community=cast.a.center)
    place(cast)
    plan = batch_dispatch(actor=cast.city, community=None)
    assert len(plan.assignments) == 1
    api = client_for(cast.a.dispatcher)
    r = api.post(
        "/api/v1/dispatch/batch",
        {"community": "baihua"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.dispatcher)}",
    )
    assert r.status_code == 200 and r.json()["dry_run"] is True and r.json()["assigned"] == 1
    r = api.post(
        "/api/v1/dispatch/batch",
        {},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.dispatcher)}",
    )
    assert r.status_code == 400 and "community" in r.json()["fields"]
    r = api.post(
        "/api/v1/dispatch/batch",
        {"community": "nowhere", "dry_run": False},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.dispatcher)}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400 and r.json()["fields"] == {
        "community": ["There is no such community."]
    }


def test_automatic_mode_is_applied_by_the_worker_job(cast):
    order = place(cast)
    assert auto_dispatch() == {"applied": 0, "skipped": 0}  # default mode is "suggest"
    DispatchPolicy.objects.create(community=cast.a.center, mode="automatic")
    assert auto_dispatch()["applied"] == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED
    assert order.events.get(action="dispatch").actor is None


@pytest.mark.django_db(transaction=True)
def test_worker_applies_automatic_dispatch(cast):
    from django.core.management import call_command

    order = place(cast)
    DispatchPolicy.objects.create(community=cast.a.center, mode="automatic")
    call_command("worker", "--once")
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED


def test_a_leader_is_only_suggested_the_members_of_the_teams_they_lead(cast, client):
    from linli.teams.models import Team

    own = add_member(cast, "own", 22.95, 111.0)
    other_team = Team.objects.create(
        name="另一队", kind="convenience", community=cast.a.center, leader=None
    )
    stranger = add_member(cast, "stranger", 22.9205, 110.9905)  # nearer
    stranger.team = other_team
    stranger.save()
    order = place(cast)
    [by_dispatcher] = suggestions_for_order(cast.a.dispatcher, order.pk)
    assert stranger.pk in [c.member.pk for c in by_dispatcher.candidates]
    [by_leader] = suggestions_for_order(cast.a.leader, order.pk)
    ids = [c.member.pk for c in by_leader.candidates]
    assert own.pk in ids and stranger.pk not in ids
    client.force_login(cast.a.leader)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "只列出您带领的服务队的队员。" in page


def test_a_leader_whose_teams_lack_the_skill_is_told_so(cast, client):
    order = place(cast, item="health_clinic")  # nobody in a.team has it
    [by_leader] = suggestions_for_order(cast.a.leader, order.pk)
    assert by_leader.candidates == [] and by_leader.reason == "no_skill"
    client.force_login(cast.a.leader)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "您带领的服务队中没有具备“健康义诊”技能的在岗队员" in page
    assert 'id="id_target"' not in page  # no empty choice and button to press


def test_a_member_who_declined_is_not_suggested_or_planned_again(cast):
    near = add_member(cast, "near", 22.9205, 110.9905)
    far = add_member(cast, "far", 22.99, 111.05)
    order = place(cast)
    [slot] = suggestions_for_order(cast.a.dispatcher, order.pk)
    assert near.pk in [c.member.pk for c in slot.candidates]
    orders.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=near.pk)
    orders.order_decline(actor=near.user, order_id=order.pk, reason="今天腰疼，去不了")

    [slot] = suggestions_for_order(cast.a.dispatcher, order.pk)
    ids = [c.member.pk for c in slot.candidates]
    assert near.pk not in ids and far.pk in ids
    plan = batch_dispatch(actor=cast.a.dispatcher, community=cast.a.center, dry_run=True)
    planned = {a.member.pk for a in plan.assignments if a.slot.order_id == order.pk}
    assert planned and near.pk not in planned
    # Another order is still theirs to be offered.
    other = place(cast)
    [slot] = suggestions_for_order(cast.a.dispatcher, other.pk)
    assert near.pk in [c.member.pk for c in slot.candidates]


def test_batch_note_reads_in_the_readers_language(cast):
    from linli.site.testing import client_for

    order = place(cast)
    batch_dispatch(actor=cast.a.dispatcher, community=cast.a.center, dry_run=False)
    client = client_for(cast.a.dispatcher)
    en = client.get(f"/orders/{order.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Batch dispatch" in en and "批量派单" not in en
    api = client.get(f"/api/v1/orders/{order.pk}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert "批量派单" not in str(api)
