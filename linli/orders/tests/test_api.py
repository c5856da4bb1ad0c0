"""The orders API: catalog, placing, reading, every transition, validation, idempotency.

The permission matrix is in test_api_matrix.py, the PostgreSQL races in
test_api_races.py; both use the helpers here.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.core.models import User
from linli.core.services import token_issue
from linli.orders import services
from linli.orders.models import FollowUp, Order, OrderStatus, ServiceItem, SlotStatus
from linli.people.models import Guardianship, Resident
from linli.site.testing import Cast, make_user
from linli.teams.models import Member, Skill, Team

# --- helpers -------------------------------------------------------------------


def api(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")


def post(user: User, url: str, body: Any = None, **headers: str) -> Any:
    data = body if isinstance(body, str) else json.dumps(body or {})
    return api(user).post(url, data, content_type="application/json", headers=headers)


def get(user: User, url: str, **params: Any) -> Any:
    return api(user).get(url, params)


def act(user: User, order: Order | int, action: str, body: Any = None) -> Any:
    pk = order if isinstance(order, int) else order.pk
    return post(user, f"/api/v1/orders/{pk}/{action}", body)


def place(cast: Cast, **kw: Any) -> Order:
    """An order of a.person placed by themself, through the service (test setup)."""
    return services.order_place(
        actor=kw.pop("actor", cast.a.resident), item=kw.pop("item", "home_repair"), **kw
    )


STATES = [
    "submitted",
    "assigned",
    "offered",
    "accepted",
    "in_service",
    "completed",
    "rated",
    "follow_up",
    "cancelled",
]


def order_at(cast: Cast, state: str) -> Order:
    """A home-repair order of a.person, brought to ``state`` through the services.

    The slot is dispatched to a.member (``offered``: to a.team).
    """
    order = place(cast, description="厨房水龙头漏水")
    pk, volunteer = order.pk, cast.a.volunteer
    if state == "cancelled":
        services.order_cancel(actor=cast.a.resident, order_id=pk)
    if state == "offered":
        services.order_dispatch(actor=cast.a.dispatcher, order_id=pk, team_id=cast.a.team.pk)
    steps = ["assigned", "accepted", "in_service", "completed", "rated"]
    reached = "rated" if state == "follow_up" else state
    if reached in steps:
        services.order_dispatch(actor=cast.a.dispatcher, order_id=pk, member_id=cast.a.member.pk)
        upto = steps[: steps.index(reached) + 1]
        if "accepted" in upto:
            services.order_accept(actor=volunteer, order_id=pk)
        if "in_service" in upto:
            services.order_start(actor=volunteer, order_id=pk)
        if "completed" in upto:
            services.order_complete(actor=volunteer, order_id=pk, note="已修好")
        if "rated" in upto:
            satisfaction = 2 if state == "follow_up" else 5
            services.order_rate(
                actor=cast.a.resident, order_id=pk, resolved=True, satisfaction=satisfaction
            )
    order.refresh_from_db()
    return order


def snapshot(pk: int) -> tuple[Any, ...]:
    """Everything a refused request must leave as it was."""
    order = Order.objects.get(pk=pk)
    follow_up = FollowUp.objects.filter(order_id=pk).values_list("closed_at", "note").first()
    return (
        order.status,
        order.overdue,
        [
            (s.index, s.status, s.member_id, s.offered_team_id, s.accepted_at, s.note)
            for s in order.slots.order_by("index")
        ],
        order.events.count(),
        getattr(getattr(order, "rating", None), "satisfaction", None),
        follow_up,
    )


def actions(response: Any) -> list[str]:
    return [e["action"] for e in response.json()["timeline"]]


def later(hours: float) -> str:
    return (timezone.now() + dt.timedelta(hours=hours)).astimezone(dt.UTC).isoformat()


def add_member(cast: Cast, username: str, skill: str = "home_repair", team: Team | None = None):
    user = make_user(username, "volunteer", cast.a.center)
    team = team or cast.a.team
    assert team is not None
    member = Member.objects.create(team=team, user=user, source="volunteer")
    member.skills.add(Skill.objects.get(code=skill))
    return member


# --- catalog -------------------------------------------------------------------


def test_catalog_lists_fixed_items_and_the_communitys_optional_ones(cast):
    skill = Skill.objects.get(code="companionship")
    ServiceItem.objects.create(
        code="birthday_a", name="长者生日会", team_kind="neighbourly", skill=skill,
        community=cast.a.center, members_needed=2,
    )  # fmt: skip
    ServiceItem.objects.create(
        code="retired", name="停用", team_kind="neighbourly", skill=skill, active=False
    )
    r = get(cast.a.resident, "/api/v1/catalog")
    assert r.status_code == 200
    items = {i["code"]: i for i in r.json()}
    assert {"home_repair", "health_clinic", "daily_care", "traffic", "birthday_a"} <= set(items)
    assert "retired" not in items
    repair = items["home_repair"]
    assert repair == {
        "code": "home_repair",
        "name": "家政维修",
        "name_en": "Home repairs",
        "icon": "🔧",
        "description": repair["description"],
        "description_en": repair["description_en"],
        "fixed": True,
        "community": None,
        "team_kind": "convenience",
        "skill": "home_repair",
        "members_needed": 1,
        "form": {"when": "urgency", "address": True, "fields": []},
        "deadlines": {
            "urgent": {"accept_minutes": 30, "complete_minutes": 240},
            "normal": {"accept_minutes": 240, "complete_minutes": 2880},
            "scheduled": {"accept_lead_minutes": 120, "complete_grace_minutes": 60},
        },
    }
    assert items["traffic"]["members_needed"] == 3
    assert items["birthday_a"]["community"] == "baihua" and not items["birthday_a"]["fixed"]
    # 兴业 does not offer 百花's optional item; the city sees every item.
    assert "birthday_a" not in {i["code"] for i in get(cast.b.resident, "/api/v1/catalog").json()}
    assert "birthday_a" in {i["code"] for i in get(cast.city, "/api/v1/catalog").json()}


# --- placing an order ----------------------------------------------------------


def test_resident_places_an_order_through_the_api(cast):
    r = post(cast.a.resident, "/api/v1/orders", {"item": "home_repair", "description": "漏水"})
    assert r.status_code == 201, r.content
    body = r.json()
    order = Order.objects.get(pk=body["id"])
    assert order.channel == "api" and order.placed_as == "self"
    assert body["status"] == "submitted" and body["channel"] == "api"
    assert body["resident"] == {"id": cast.a.person.pk, "name": cast.a.person.name}
    assert body["community"]["code"] == "baihua"
    assert body["address"] == cast.a.person.address  # their own: in full
    assert [s["status"] for s in body["slots"]] == ["open"]
    [event] = body["timeline"]
    assert event["action"] == "place" and event["to_status"] == "submitted"
    assert event["actor"]["username"] == cast.a.resident.username


def test_dispatcher_places_for_a_resident_with_a_scheduled_window(cast):
    start, end = (
        timezone.now() + dt.timedelta(days=2),
        timezone.now() + dt.timedelta(days=2, hours=2),
    )
    r = post(
        cast.a.dispatcher,
        "/api/v1/orders",
        {
            "item": "health_clinic",
            "resident": cast.a.person.pk,
            "urgency": "scheduled",
            "window_start": start.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(),
            "window_end": end.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(),
            "address": "百花社区卫生站",
            "lat": 22.9,
            "lon": 110.9,
        },
    )
    assert r.status_code == 201, r.content
    order = Order.objects.get(pk=r.json()["id"])
    assert (order.placed_as, order.placed_by, order.urgency) == (
        "dispatcher",
        cast.a.dispatcher,
        "scheduled",
    )
    assert order.window_start == start
    assert order.accept_deadline == start - dt.timedelta(minutes=120)
    assert (order.address, order.lat, order.lon) == ("百花社区卫生站", 22.9, 110.9)


def test_guardian_orders_for_a_ward(cast):
    ward = Resident.objects.create(
        name="曾小宝",
        gender=Resident.Gender.MALE,
        birth_date=dt.date(2016, 5, 1),
        id_number="450481201605010011",
        phone="13807719999",
        community=cast.a.center,
        address="岑溪市岑城镇百花路12号3栋201",
    )
    Guardianship.objects.create(ward=ward, guardian=cast.a.person, relation="grandparent")
    r = post(cast.a.resident, "/api/v1/orders", {"item": "daily_care", "resident": ward.pk})
    assert r.status_code == 201, r.content
    assert Order.objects.get(pk=r.json()["id"]).placed_as == "guardian"
    assert r.json()["resident"]["id"] == ward.pk
    # Not their ward: the other community's resident.
    r = post(
        cast.a.resident, "/api/v1/orders", {"item": "daily_care", "resident": cast.b.person.pk}
    )
    assert r.status_code == 400 and "resident" in r.json()["fields"]


def test_dispatcher_cannot_order_for_another_communitys_resident(cast):
    r = post(
        cast.b.dispatcher, "/api/v1/orders", {"item": "home_repair", "resident": cast.a.person.pk}
    )
    assert r.status_code == 400
    assert set(r.json()["fields"]) == {"resident"}
    assert not Order.objects.exists()


BAD_ORDERS = [
    ({"item": "teleport"}, "item"),
    ({"item": "home_repair", "description": "修" * 2001}, "description"),
    ({"item": "home_repair", "urgency": "soon"}, "urgency"),
    ({"item": "home_repair", "window_start": later(3), "window_end": later(2)}, "window_end"),
    ({"item": "home_repair", "window_start": "2030-01-01T09:00:00", "window_end": later(2)},
     "window_start"),
    ({"item": "home_repair", "window_start": later(2), "window_end": "2030-01-01T11:00:00"},
     "window_end"),
    ({"item": "home_repair", "window_start": "tomorrow", "window_end": later(2)}, "window_start"),
    ({"item": "home_repair", "urgency": "scheduled"}, "window_start"),
    ({"item": "home_repair", "window_start": later(2)}, "window_end"),
    ({"item": "home_repair", "lat": 91}, "lat"),
    ({"item": "home_repair", "address": "路" * 201}, "address"),
    ({"item": "home_repair", "resident": "abc"}, "resident"),
    ({"description": "no item"}, "item"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field"), BAD_ORDERS)
def test_invalid_order_is_400_with_the_field(cast, body, field):
    r = post(cast.a.resident, "/api/v1/orders", body)
    assert r.status_code == 400, r.content
    err = r.json()
    assert err["code"] == "invalid" and err["message"]
    assert field in err["fields"], err
    assert all(isinstance(m, str) and m for m in err["fields"][field])
    assert not Order.objects.exists()


def test_dispatcher_must_name_the_resident(cast):
    r = post(cast.a.dispatcher, "/api/v1/orders", {"item": "home_repair"})
    assert r.status_code == 400
    assert list(r.json()["fields"]) == ["resident"]


@pytest.mark.parametrize("body", ["{bad", "", "[1, 2]", '"item"'])
def test_unparsable_or_non_object_body_is_400(cast, body):
    r = post(cast.a.resident, "/api/v1/orders", body)
    assert r.status_code == 400
    assert r.json()["code"] == "invalid" and "fields" in r.json()
    assert not Order.objects.exists()


def test_same_idempotency_key_twice_gives_one_order(cast):
    body = {"item": "home_repair", "description": "漏水"}
    first = post(cast.a.resident, "/api/v1/orders", body, **{"Idempotency-Key": "k-123"})
    again = post(cast.a.resident, "/api/v1/orders", body, **{"Idempotency-Key": "k-123"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert Order.objects.count() == 1
    assert Order.objects.get().events.count() == 1  # placed once, not twice
    other = post(cast.a.resident, "/api/v1/orders", body, **{"Idempotency-Key": "k-124"})
    assert other.json()["id"] != first.json()["id"]
    assert post(cast.a.resident, "/api/v1/orders", body).json()["id"] not in (
        first.json()["id"],
        other.json()["id"],
    )


def test_same_idempotency_key_from_two_users_gives_two_orders(cast):
    key = {"Idempotency-Key": "shared"}
    mine = post(cast.a.resident, "/api/v1/orders", {"item": "home_repair"}, **key)
    theirs = post(
        cast.a.dispatcher,
        "/api/v1/orders",
        {"item": "home_repair", "resident": cast.a.person.pk},
        **key,
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert Order.objects.count() == 2


def test_overlong_idempotency_key_is_400(cast):
    r = post(
        cast.a.resident, "/api/v1/orders", {"item": "home_repair"}, **{"Idempotency-Key": "k" * 101}
    )
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["fields"]


# --- reading orders ------------------------------------------------------------


def test_order_list_filters(cast):
    repair = order_at(cast, "assigned")
    clinic = place(cast, item="health_clinic", urgency="urgent")
    low = order_at(cast, "follow_up")
    cancelled = order_at(cast, "cancelled")

    def ids(**params: Any) -> list[int]:
        r = get(cast.a.dispatcher, "/api/v1/orders", **params)
        assert r.status_code == 200, r.content
        return [o["id"] for o in r.json()["items"]]

    assert ids() == [cancelled.pk, low.pk, clinic.pk, repair.pk]  # newest first
    assert ids(status="submitted,dispatched") == [clinic.pk, repair.pk]
    assert ids(status="rated") == [low.pk]
    assert ids(item="health_clinic") == [clinic.pk]
    assert ids(urgency="urgent") == [clinic.pk]
    assert ids(follow_up="true") == [low.pk]
    assert low.pk not in ids(follow_up="false")
    # A member's "mine": what they hold or are offered.
    r = get(cast.a.volunteer, "/api/v1/orders", mine="true")
    assert [o["id"] for o in r.json()["items"]] == [low.pk, repair.pk]
    assert ids(overdue="true") == []
    services.orders_sweep(now=timezone.now() + dt.timedelta(days=1))
    assert ids(overdue="true") == [clinic.pk, repair.pk]
    assert ids(overdue="false", status="submitted,dispatched") == []

    summary = next(
        o for o in get(cast.a.dispatcher, "/api/v1/orders").json()["items"] if o["id"] == low.pk
    )
    assert summary["item"] == {
        "code": "home_repair",
        "name": "家政维修",
        "name_en": "Home repairs",
        "icon": "🔧",
    }
    assert summary["resident"] == {"id": cast.a.person.pk, "name": cast.a.person.name}
    assert summary["community"] == "baihua" and summary["status"] == "rated"
    assert summary["slots"]["total"] == 1 and summary["slots"]["completed"] == 1
    assert {"urgency", "overdue", "created_at", "accept_deadline"} <= set(summary)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "submitted,lost"}, "status"), ({"urgency": "soon"}, "urgency"),
     ({"overdue": "maybe"}, "overdue"), ({"limit": "x"}, "limit")],
)  # fmt: skip
def test_bad_list_filter_is_400(cast, params, field):
    r = get(cast.a.dispatcher, "/api/v1/orders", **params)
    assert r.status_code == 400 and field in r.json()["fields"], r.content


def test_order_list_pages_in_the_database_with_constant_queries(cast):
    client = api(cast.a.dispatcher)

    def queries(expected_count: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            r = client.get("/api/v1/orders", {"limit": 20})
        assert r.status_code == 200 and r.json()["count"] == expected_count
        assert len(r.json()["items"]) == expected_count
        return len(ctx.captured_queries)

    cast.a.member.max_concurrent = 20
    cast.a.member.save(update_fields=["max_concurrent"])
    order_at(cast, "assigned")
    client.get("/api/v1/me")  # the token's first use writes last_used_at
    one = queries(1)
    for state in ("offered", "accepted", "follow_up", "cancelled") * 3:
        order_at(cast, state)
    assert queries(13) == one
    r = client.get("/api/v1/orders", {"limit": 5, "offset": 10})
    assert r.json()["count"] == 13 and len(r.json()["items"]) == 3


def test_order_detail_has_slots_timeline_rating_and_follow_up(cast):
    order = order_at(cast, "follow_up")
    r = get(cast.a.resident, f"/api/v1/orders/{order.pk}")
    assert r.status_code == 200
    body = r.json()
    [slot] = body["slots"]
    assert slot["index"] == 1 and slot["status"] == "completed"
    assert slot["member"] == {"id": cast.a.member.pk, "name": cast.a.member.name}
    assert slot["offered_team"] is None and slot["note"] == "已修好"
    assert all(slot[k] for k in ("dispatched_at", "accepted_at", "started_at", "completed_at"))
    assert actions(r) == ["place", "dispatch", "accept", "start", "complete", "rate"]
    dispatch = body["timeline"][1]
    assert dispatch["slot"] == 1 and (dispatch["slot_from"], dispatch["slot_to"]) == (
        "open",
        "assigned",
    )
    assert dispatch["actor"]["username"] == cast.a.dispatcher.username
    assert body["rating"]["satisfaction"] == 2 and body["rating"]["resolved"] is True
    assert body["follow_up"]["closed_at"] is None and body["follow_up"]["reason"]


def test_system_events_have_no_actor(cast):
    order = order_at(cast, "assigned")
    services.orders_sweep(now=timezone.now() + dt.timedelta(days=1))
    timeline = get(cast.a.dispatcher, f"/api/v1/orders/{order.pk}").json()["timeline"]
    assert [(e["action"], e["actor"]) for e in timeline[-2:]] == [
        ("expire", None),
        ("overdue", None),
    ]


def test_address_is_the_residents_own_and_revealed_audited_to_the_member_who_accepted(cast):
    from linli.core.models import AuditLog

    order = order_at(cast, "assigned")
    full = cast.a.person.address
    body = get(cast.a.resident, f"/api/v1/orders/{order.pk}").json()
    assert body["address"] == full and body["lat"] == cast.a.person.lat
    assert body["phone"] == cast.a.person.phone and not body["contact_masked"]
    # Dispatched but not accepted: masked like everyone else's, no reveal yet.
    for user in (cast.a.volunteer, cast.a.dispatcher, cast.a.leader, cast.city):
        body = get(user, f"/api/v1/orders/{order.pk}").json()
        assert body["address"] != full and "*" in body["address"]
        assert body["address"].startswith("岑溪市岑城镇百花")
        assert body["contact_masked"] and not body["contact_on_request"]
        assert body["lat"] == round(cast.a.person.lat, 3)
    assert act(cast.a.volunteer, order, "contact").status_code == 409
    assert not AuditLog.objects.filter(action=AuditLog.Action.REVEAL).exists()

    act(cast.a.volunteer, order, "accept")
    body = get(cast.a.volunteer, f"/api/v1/orders/{order.pk}").json()
    assert body["contact_masked"] and body["contact_on_request"]
    r = act(cast.a.volunteer, order, "contact")
    assert r.status_code == 200
    assert r.json() == {"address": full, "phone": cast.a.person.phone}
    entry = AuditLog.objects.get(action=AuditLog.Action.REVEAL)
    assert entry.actor == cast.a.volunteer and entry.detail == f"order #{order.pk}"
    # The dispatcher never had it, and has no reveal here either (the people app's is audited).
    assert act(cast.a.dispatcher, order, "contact").status_code == 403


def test_absent_order_is_404_and_a_bad_id_400(cast):
    r = get(cast.a.dispatcher, "/api/v1/orders/999999")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert (
        act(cast.a.dispatcher, 999999, "dispatch", {"member": cast.a.member.pk}).status_code == 404
    )
    r = get(cast.a.dispatcher, "/api/v1/orders/abc")
    assert r.status_code == 400 and "order_id" in r.json()["fields"]


# --- every transition, through the API ----------------------------------------


def test_whole_cycle_through_the_api(cast):
    r = post(cast.a.resident, "/api/v1/orders", {"item": "home_repair", "description": "漏水"})
    pk = r.json()["id"]

    r = act(cast.a.dispatcher, pk, "dispatch", {"member": cast.a.member.pk, "note": "就近"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "dispatched"
    assert r.json()["slots"][0]["status"] == "assigned"
    assert r.json()["timeline"][-1]["note"] == "就近"

    r = act(cast.a.volunteer, pk, "accept")
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert r.json()["slots"][0]["accepted_at"]

    r = act(cast.a.volunteer, pk, "start")
    assert r.status_code == 200 and r.json()["status"] == "in_service"

    r = act(cast.a.volunteer, pk, "complete", {"note": "已更换阀芯"})
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert r.json()["slots"][0]["note"] == "已更换阀芯"

    r = act(cast.a.resident, pk, "rate", {"resolved": True, "satisfaction": 5, "comment": "很好"})
    assert r.status_code == 200 and r.json()["status"] == "rated"
    assert r.json()["rating"] == {
        "resolved": True,
        "satisfaction": 5,
        "comment": "很好",
        "created_at": r.json()["rating"]["created_at"],
    }
    assert r.json()["follow_up"] is None
    assert actions(r) == ["place", "dispatch", "accept", "start", "complete", "rate"]
    timeline = r.json()["timeline"]
    assert [(e["from_status"], e["to_status"]) for e in timeline] == [
        ("", "submitted"),
        ("submitted", "dispatched"),
        ("dispatched", "accepted"),
        ("accepted", "in_service"),
        ("in_service", "completed"),
        ("completed", "rated"),
    ]
    order = Order.objects.get(pk=pk)
    assert services.replay(order.events.order_by("pk"))[0] == "rated"


def test_offer_to_a_team_first_member_wins(cast):
    other = add_member(cast, "a-volunteer-2")
    order = place(cast)
    r = act(cast.a.dispatcher, order, "dispatch", {"team": cast.a.team.pk})
    assert r.status_code == 200
    [slot] = r.json()["slots"]
    assert slot["status"] == "offered" and slot["offered_team"]["id"] == cast.a.team.pk
    assert slot["member"] is None
    # Both members see the offer.
    for user in (cast.a.volunteer, other.user):
        assert order.pk in [
            o["id"] for o in get(user, "/api/v1/orders", mine="true").json()["items"]
        ]
    r = act(other.user, order, "accept")
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert r.json()["slots"][0]["member"]["id"] == other.pk


def test_offer_already_taken_is_409_for_the_next_member(cast):
    other = add_member(cast, "a-volunteer-2")
    order = place(cast)
    act(cast.a.dispatcher, order, "dispatch", {"team": cast.a.team.pk})
    assert act(other.user, order, "accept").status_code == 200
    before = snapshot(order.pk)
    r = act(cast.a.volunteer, order, "accept")
    assert snapshot(order.pk) == before
    assert r.status_code == 409


def test_several_slots_are_dispatched_by_index_and_accepted_one_by_one(cast):
    members = [add_member(cast, f"traffic-{i}", "traffic") for i in range(3)]
    order = place(cast, item="traffic")
    r = act(cast.a.dispatcher, order, "dispatch", {"member": members[0].pk, "slot": 3})
    assert [s["status"] for s in r.json()["slots"]] == ["open", "open", "assigned"]
    r = act(cast.a.dispatcher, order, "dispatch", {"member": members[1].pk})  # first open: 1
    assert [s["status"] for s in r.json()["slots"]] == ["assigned", "open", "assigned"]
    assert r.json()["status"] == "submitted"
    r = act(cast.a.dispatcher, order, "dispatch", {"team": cast.a.team.pk})
    assert r.json()["status"] == "dispatched"
    for m in members[:2]:
        assert act(m.user, order, "accept").json()["status"] == "dispatched"
    r = act(members[2].user, order, "accept")  # wins the offered slot 2
    assert r.json()["status"] == "accepted"
    assert [s["member"]["id"] for s in r.json()["slots"]] == [
        m.pk for m in (members[1], members[2], members[0])
    ]
    r = act(cast.a.dispatcher, order, "dispatch", {"member": members[0].pk, "slot": 9})
    assert r.status_code == 409  # the order is accepted: no dispatching any more


def test_decline_returns_the_slot_with_the_reason(cast):
    order = order_at(cast, "assigned")
    act(cast.a.volunteer, order, "decline", {"reason": "今天不在岑溪"})
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    assert order.slots.get().status == SlotStatus.OPEN
    r = get(cast.a.dispatcher, f"/api/v1/orders/{order.pk}")
    decline = r.json()["timeline"][-1]
    assert (decline["action"], decline["note"], decline["slot_to"]) == (
        "decline",
        "今天不在岑溪",
        "open",
    )
    assert decline["actor"]["username"] == cast.a.volunteer.username


def test_decline_answers_with_the_order(cast):
    order = order_at(cast, "assigned")
    r = act(cast.a.volunteer, order, "decline", {"reason": "今天不在岑溪"})
    assert r.status_code == 200
    assert r.json()["timeline"][-1]["action"] == "decline"


def test_leader_dispatches_to_own_team_only(cast):
    order = place(cast)
    other_team = Team.objects.create(name="百花健康服务队", kind="health", community=cast.a.center)
    outsider = add_member(cast, "a-nurse", team=other_team)
    before = snapshot(order.pk)
    r = act(cast.a.leader, order, "dispatch", {"member": outsider.pk})
    assert r.status_code == 403 and snapshot(order.pk) == before
    r = act(cast.a.leader, order, "dispatch", {"member": cast.a.member.pk})
    assert r.status_code == 200 and r.json()["slots"][0]["member"]["id"] == cast.a.member.pk


def test_low_rating_opens_a_follow_up_the_dispatcher_closes(cast):
    order = order_at(cast, "completed")
    r = act(cast.a.resident, order, "rate", {"resolved": False, "satisfaction": 4})
    assert r.status_code == 200 and r.json()["follow_up"]["closed_at"] is None
    assert act(cast.a.dispatcher, order, "follow-up/close", {"note": " "}).status_code == 400
    r = act(cast.a.dispatcher, order, "follow-up/close", {"note": "已电话回访"})
    assert r.status_code == 200
    follow_up = r.json()["follow_up"]
    assert follow_up["closed_by"]["username"] == cast.a.dispatcher.username
    assert follow_up["note"] == "已电话回访" and follow_up["closed_at"]
    assert actions(r)[-1] == "follow_up"


def test_resident_cancels_before_service(cast):
    order = order_at(cast, "accepted")
    r = act(cast.a.resident, order, "cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert [s["status"] for s in r.json()["slots"]] == ["cancelled"]
    assert actions(r)[-2:] == ["cancel", "cancel"]  # the order, then its slot


def test_dispatcher_cancels_in_service_with_a_reason(cast):
    order = order_at(cast, "in_service")
    r = act(cast.a.dispatcher, order, "cancel")
    assert r.status_code == 400 and "reason" in r.json()["fields"]
    r = act(cast.a.dispatcher, order, "cancel", {"reason": "居民已住院"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["timeline"][-2]["note"] == "居民已住院"


def test_dispatcher_rejects_with_a_reason(cast):
    order = order_at(cast, "assigned")
    assert act(cast.a.dispatcher, order, "reject", {"reason": ""}).status_code == 400
    assert act(cast.a.dispatcher, order, "reject").status_code == 400
    r = act(cast.a.dispatcher, order, "reject", {"reason": "不在服务范围"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["timeline"][-2]["note"] == "不在服务范围"


# --- refused: 409 and nothing changes -----------------------------------------

ILLEGAL = [
    ("assigned", "a.volunteer", "start", None),
    ("accepted", "a.volunteer", "accept", None),
    ("accepted", "a.volunteer", "decline", {"reason": "太远"}),
    ("accepted", "a.volunteer", "complete", {"note": "x"}),
    ("in_service", "a.volunteer", "start", None),
    ("in_service", "a.resident", "rate", {"resolved": True, "satisfaction": 5}),
    ("in_service", "a.resident", "cancel", None),
    ("completed", "a.volunteer", "complete", None),
    ("completed", "a.resident", "cancel", None),
    ("completed", "a.dispatcher", "cancel", {"reason": "x"}),
    ("rated", "a.resident", "rate", {"resolved": True, "satisfaction": 5}),
    ("follow_up", "a.resident", "rate", {"resolved": True, "satisfaction": 5}),
    ("accepted", "a.dispatcher", "reject", {"reason": "x"}),
    ("in_service", "a.dispatcher", "reject", {"reason": "x"}),
    ("cancelled", "a.dispatcher", "dispatch", {"member": 0}),
    ("cancelled", "a.dispatcher", "cancel", {"reason": "x"}),
    ("cancelled", "a.dispatcher", "reject", {"reason": "x"}),
    ("assigned", "a.dispatcher", "dispatch", {"member": 0}),
    ("accepted", "a.dispatcher", "dispatch", {"member": 0}),
    ("in_service", "a.dispatcher", "dispatch", {"team": 0}),
    ("rated", "a.dispatcher", "dispatch", {"member": 0}),
]


@pytest.mark.parametrize(("state", "who", "action", "body"), ILLEGAL)
def test_illegal_transition_is_409_and_changes_nothing(cast, state, who, action, body):
    order = order_at(cast, state)
    if body and body.get("member") == 0:
        body = {"member": add_member(cast, "spare").pk}
    if body and body.get("team") == 0:
        body = {"team": cast.a.team.pk}
    before = snapshot(order.pk)
    r = act(cast.all_users()[who], order, action, body)
    assert r.status_code == 409, r.content
    assert r.json()["code"] == "conflict" and r.json()["message"]
    assert snapshot(order.pk) == before


def test_accept_twice_is_409(cast):
    order = order_at(cast, "assigned")
    assert act(cast.a.volunteer, order, "accept").status_code == 200
    before = snapshot(order.pk)
    r = act(cast.a.volunteer, order, "accept")
    assert r.status_code == 409 and r.json()["code"] == "conflict" and r.json()["message"]
    assert snapshot(order.pk) == before


def test_closing_a_follow_up_that_was_never_opened_is_404(cast):
    order = order_at(cast, "rated")
    before = snapshot(order.pk)
    assert act(cast.a.dispatcher, order, "follow-up/close", {"note": "x"}).status_code == 404
    assert snapshot(order.pk) == before


def test_closing_a_follow_up_twice_is_409(cast):
    order = order_at(cast, "follow_up")
    assert act(cast.a.dispatcher, order, "follow-up/close", {"note": "已回访"}).status_code == 200
    before = snapshot(order.pk)
    assert act(cast.a.dispatcher, order, "follow-up/close", {"note": "again"}).status_code == 409
    assert snapshot(order.pk) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"resolved": True, "satisfaction": 0}, "satisfaction"),
        ({"resolved": True, "satisfaction": 6}, "satisfaction"),
        ({"resolved": True, "satisfaction": "x"}, "satisfaction"),
        ({"resolved": True, "satisfaction": 2.5}, "satisfaction"),
        ({"resolved": True}, "satisfaction"),
        ({"resolved": "perhaps", "satisfaction": 3}, "resolved"),
        ({"satisfaction": 3}, "resolved"),
        ({"resolved": True, "satisfaction": 3, "comment": "好" * 1001}, "comment"),
    ],
)
def test_bad_rating_is_400_and_changes_nothing(cast, body, field):
    order = order_at(cast, "completed")
    before = snapshot(order.pk)
    r = act(cast.a.resident, order, "rate", body)
    assert r.status_code == 400, r.content
    assert field in r.json()["fields"], r.json()
    assert snapshot(order.pk) == before


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("dispatch", {}, "member"),
        ("dispatch", {"member": 1, "team": 1}, "member"),
        ("dispatch", {"member": "x"}, "member"),
        ("dispatch", {"slot": 0, "team": 0}, "slot"),
        ("dispatch", {"note": "x" * 2001, "team": 0}, "note"),
        ("decline", {}, "reason"),
        ("decline", {"reason": "  "}, "reason"),
    ],
)
def test_bad_action_input_is_400_and_changes_nothing(cast, action, body, field):
    order = order_at(cast, "assigned" if action == "decline" else "submitted")
    if body.get("team") == 0:
        body["team"] = cast.a.team.pk
    before = snapshot(order.pk)
    who = cast.a.volunteer if action == "decline" else cast.a.dispatcher
    r = act(who, order, action, body)
    assert r.status_code == 400 and field in r.json()["fields"], r.content
    assert snapshot(order.pk) == before


def test_dispatch_to_another_communitys_member_is_400(cast):
    order = place(cast)
    r = act(cast.a.dispatcher, order, "dispatch", {"member": cast.b.member.pk})
    assert r.status_code == 400 and "member" in r.json()["fields"]
    r = act(cast.a.dispatcher, order, "dispatch", {"team": cast.b.team.pk})
    assert r.status_code == 400 and "team" in r.json()["fields"]


# --- members and their load ---------------------------------------------------


def test_members_show_their_load(cast):
    def load() -> dict[int, tuple[int, int]]:
        r = get(cast.a.dispatcher, "/api/v1/members")
        return {m["id"]: (m["load"], m["max_concurrent"]) for m in r.json()["items"]}

    assert load()[cast.a.member.pk] == (0, 3)
    order = place(cast)
    act(cast.a.dispatcher, order, "dispatch", {"member": cast.a.member.pk})
    assert load()[cast.a.member.pk] == (1, 3)
    act(cast.a.volunteer, order, "accept")
    order_at(cast, "in_service")
    order_at(cast, "completed")  # done: no longer a load
    assert load()[cast.a.member.pk] == (2, 3)
    order_at(cast, "offered")  # an offer to the team is nobody's load yet
    assert load()[cast.a.member.pk] == (2, 3)


def test_members_query_count_does_not_grow_with_members(cast):
    client = api(cast.a.dispatcher)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            r = client.get("/api/v1/members")
        assert r.status_code == 200
        return len(ctx.captured_queries)

    client.get("/api/v1/me")  # the token's first use writes last_used_at
    baseline = queries()
    for i in range(15):
        member = add_member(cast, f"m{i}")
        order = place(cast)
        services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=member.pk)
    assert queries() == baseline
    r = get(cast.a.dispatcher, "/api/v1/members")
    assert r.json()["count"] == 16
    assert sorted(m["load"] for m in r.json()["items"]) == [0] + [1] * 15


def test_members_page_stays_under_a_query_budget(cast, django_assert_max_num_queries):
    for i in range(20):
        add_member(cast, f"m{i}")
    client = api(cast.a.dispatcher)
    with django_assert_max_num_queries(8):
        r = client.get("/api/v1/members", {"limit": 50})
    assert len(r.json()["items"]) == 21


# --- the contract ------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/v1/catalog"),
    ("get", "/api/v1/members"),
    ("get", "/api/v1/orders"),
    ("post", "/api/v1/orders"),
    ("get", "/api/v1/orders/{id}"),
    *[
        ("post", f"/api/v1/orders/{{id}}/{a}")
        for a in ("dispatch", "accept", "decline", "start", "complete", "rate", "cancel", "reject")
    ],
    ("post", "/api/v1/orders/{id}/follow-up/close"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
@pytest.mark.parametrize("header", ["", "Bearer nonsense"])
def test_every_endpoint_needs_a_token(cast, method, url, header):
    order = place(cast)
    before = snapshot(order.pk)
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()
    url = url.replace("{id}", str(order.pk))
    r = (
        client.get(url)
        if method == "get"
        else client.post(url, "{}", content_type="application/json")
    )
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert snapshot(order.pk) == before


def test_openapi_schema_renders_with_every_endpoint_and_its_errors(cast):
    r = Client().get("/api/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    paths = schema["paths"]
    for method, url in ENDPOINTS:
        path = url.replace("/api/v1", "/api/v1").replace("{id}", "{order_id}")
        assert method in paths[path], path
    for action in ("dispatch", "accept", "rate", "cancel", "follow-up/close"):
        codes = set(paths[f"/api/v1/orders/{{order_id}}/{action}"]["post"]["responses"])
        assert {"200", "400", "401", "403", "404", "409"} <= codes
    create = paths["/api/v1/orders"]["post"]
    assert "201" in create["responses"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    member = schema["components"]["schemas"]["MemberOut"]["properties"]
    assert "load" in member and "max_concurrent" in member
