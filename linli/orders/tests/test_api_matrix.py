"""The permission matrix of every orders endpoint: each role, in the order's community
(百花, "a"), in the other community (兴业, "b"), and the city.

The rule the API promises: another community's order is 404, whoever asks. In
the order's community a role that may not act gets 403 — or 404 where it cannot
see the order at all (its GET is 404 too). 409 is only ever about the order's
state, never about who asks. A refused request changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from linli.orders.models import Order
from linli.orders.tests.test_api import act, api, get, order_at, post, snapshot

A_ROLES = ["a.resident", "a.volunteer", "a.leader", "a.dispatcher", "a.school", "city"]
B_ROLES = ["b.resident", "b.volunteer", "b.leader", "b.dispatcher", "b.school"]
ALL = A_ROLES + B_ROLES

MEMBER_ONLY = {
    "a.resident": 403,
    "a.volunteer": 200,
    "a.leader": 403,
    "a.dispatcher": 403,
    "a.school": 404,
    "city": 403,
}
DISPATCHER_ONLY = {
    "a.resident": 403,
    "a.volunteer": 403,
    "a.leader": 403,
    "a.dispatcher": 200,
    "a.school": 404,  # cannot see the order at all
    "city": 200,
}
# Before dispatch the volunteer has no slot on the order and cannot see it.
UNSEEN_BY_VOLUNTEER = {"a.volunteer": 404}

# action → (state the order is in, body, expected status per community-a role and the city)
ACTIONS: dict[str, tuple[str, dict[str, Any] | None, dict[str, int]]] = {
    "dispatch": (
        "submitted",
        {"member": "a.member"},
        {
            **DISPATCHER_ONLY,
            **UNSEEN_BY_VOLUNTEER,
            "a.leader": 200,
        },  # a.leader leads a.member's team
    ),
    "accept": ("assigned", None, MEMBER_ONLY),
    "decline": ("assigned", {"reason": "太远"}, MEMBER_ONLY),
    "start": ("accepted", None, MEMBER_ONLY),
    "complete": ("in_service", {"note": "已修好"}, MEMBER_ONLY),
    "rate": (
        "completed",
        {"resolved": True, "satisfaction": 5},
        {**DISPATCHER_ONLY, "a.resident": 200, "a.dispatcher": 403, "city": 403, "a.school": 404},
    ),
    "cancel": (
        "submitted",
        {"reason": "不需要了"},
        {**DISPATCHER_ONLY, **UNSEEN_BY_VOLUNTEER, "a.resident": 200},
    ),
    "reject": ("submitted", {"reason": "不在服务范围"}, {**DISPATCHER_ONLY, **UNSEEN_BY_VOLUNTEER}),
    "follow-up/close": ("follow_up", {"note": "已电话回访"}, DISPATCHER_ONLY),
}


def _cells() -> list[Any]:
    cells = []
    for action, (_state, _body, expected) in ACTIONS.items():
        for who in ALL:
            status = expected.get(who, 404)
            cells.append(pytest.param(action, who, status, id=f"{action}-{who}"))
    return cells


@pytest.mark.parametrize(("action", "who", "status"), _cells())
def test_action_matrix(cast, action, who, status):
    state, body, _ = ACTIONS[action]
    order = order_at(cast, state)
    if body and body.get("member") == "a.member":
        body = {"member": cast.a.member.pk}
    before = snapshot(order.pk)
    r = act(cast.all_users()[who], order, action, body)
    assert r.status_code == status, r.content
    if status == 200:
        assert r.json()["id"] == order.pk
        assert snapshot(order.pk) != before
    else:
        assert set(r.json()) == {"code", "message", "fields"}
        assert snapshot(order.pk) == before


DETAIL = {
    "a.resident": 200,
    "a.volunteer": 200,
    "a.leader": 200,
    "a.dispatcher": 200,
    "a.school": 404,
    "city": 200,
}


@pytest.mark.parametrize("who", ALL)
def test_detail_matrix(cast, who):
    order = order_at(cast, "assigned")
    r = get(cast.all_users()[who], f"/api/v1/orders/{order.pk}")
    assert r.status_code == DETAIL.get(who, 404), r.content


@pytest.mark.parametrize("who", ALL)
def test_list_matrix(cast, who):
    order = order_at(cast, "assigned")
    r = get(cast.all_users()[who], "/api/v1/orders")
    assert r.status_code == 200
    expected = [order.pk] if DETAIL.get(who) == 200 else []
    assert [o["id"] for o in r.json()["items"]] == expected


# role → (sends the resident's id, expected status)
CREATE = {
    "a.resident": (False, 201),
    "a.volunteer": (False, 403),
    "a.leader": (False, 403),
    "a.dispatcher": (True, 201),
    "a.school": (False, 403),
    "city": (True, 201),
    "b.resident": (False, 201),  # for themself, in 兴业
    "b.volunteer": (False, 403),
    "b.leader": (False, 403),
    "b.dispatcher": (True, 400),  # a.person is not theirs to order for
    "b.school": (False, 403),
}


@pytest.mark.parametrize("who", ALL)
def test_create_matrix(cast, who):
    for_a, status = CREATE[who]
    body: dict[str, Any] = {"item": "home_repair"}
    if for_a:
        body["resident"] = cast.a.person.pk
    r = post(cast.all_users()[who], "/api/v1/orders", body)
    assert r.status_code == status, r.content
    assert Order.objects.count() == (1 if status == 201 else 0)
    if status == 400:
        assert "resident" in r.json()["fields"]


@pytest.mark.parametrize("who", ALL)
def test_catalog_matrix(cast, who):
    r = get(cast.all_users()[who], "/api/v1/catalog")
    assert r.status_code == 200 and len(r.json()) >= 4


MEMBER_VIEWERS = {"a.leader", "a.dispatcher", "city", "b.leader", "b.dispatcher"}


@pytest.mark.parametrize("who", ALL)
def test_members_matrix(cast, who):
    user = cast.all_users()[who]
    r = api(user).get("/api/v1/members")
    assert r.status_code == (200 if who in MEMBER_VIEWERS else 403), r.content
    if r.status_code == 200:
        ids = {m["id"] for m in r.json()["items"]}
        own = {"a": {cast.a.member.pk}, "b": {cast.b.member.pk}}
        assert ids == (own["a"] | own["b"] if who == "city" else own[who[0]])
