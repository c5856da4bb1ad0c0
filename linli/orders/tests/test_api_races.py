"""Concurrent API requests against PostgreSQL, with real threads and real commits.

SQLite serialises every write transaction, so these only run on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from linli.core.services import token_issue
from linli.orders import services
from linli.orders.models import Order, OrderEvent, Slot, SlotStatus
from linli.orders.tests.test_api import add_member, order_at, place
from linli.site.testing import RACE_MARKS, Cast, race

pytestmark = RACE_MARKS


def poster(token: str, url: str, body: str = "{}", **headers: str) -> Callable[[], Any]:
    def call() -> Any:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.post(url, body, content_type="application/json", headers=headers)

    return call


def test_same_idempotency_key_twenty_times_at_once_makes_one_order(cast: Cast) -> None:
    token = token_issue(user=cast.a.resident)
    body = '{"item": "home_repair", "description": "漏水"}'
    key = {"Idempotency-Key": "retry-storm"}
    responses = race([poster(token, "/api/v1/orders", body, **key) for _ in range(20)])

    assert [getattr(r, "status_code", r) for r in responses] == [201] * 20
    assert {r.json()["id"] for r in responses} == {Order.objects.get().pk}
    assert OrderEvent.objects.filter(action="place").count() == 1


def test_twenty_members_accept_one_offer_at_once_one_wins(cast: Cast) -> None:
    members = [add_member(cast, f"racer-{i}") for i in range(20)]
    order = place(cast)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.dispatcher)}")
    r = client.post(
        f"/api/v1/orders/{order.pk}/dispatch",
        f'{{"team": {cast.a.team.pk}}}',
        content_type="application/json",
    )
    assert r.status_code == 200
    url = f"/api/v1/orders/{order.pk}/accept"
    responses = race([poster(token_issue(user=m.user), url) for m in members])

    codes = [getattr(r, "status_code", r) for r in responses]
    assert codes.count(200) == 1, codes
    # The losers should hear 409 (the issue); the service answers 404 for now:
    # see test_api.py::test_offer_already_taken_is_409_for_the_next_member.
    assert set(codes) - {200} <= {404, 409}, codes
    winner = members[codes.index(200)]
    [slot] = Slot.objects.filter(order=order)  # not order.slots: placing left it prefetched
    assert (slot.status, slot.member_id) == (SlotStatus.ACCEPTED, winner.pk)
    assert order.events.filter(action="accept").count() == 1


def test_reject_racing_accept_leaves_one_outcome(cast: Cast) -> None:
    for _ in range(5):
        order = order_at(cast, "assigned")
        accept = poster(token_issue(user=cast.a.volunteer), f"/api/v1/orders/{order.pk}/accept")
        reject = poster(
            token_issue(user=cast.a.dispatcher),
            f"/api/v1/orders/{order.pk}/reject",
            '{"reason": "不在服务范围"}',
        )
        accepted, rejected = (r.status_code for r in race([accept, reject]))
        assert sorted((accepted, rejected)) == [200, 409]
        order.refresh_from_db()
        slot = order.slots.get()
        if accepted == 200:
            assert (order.status, slot.status) == ("accepted", SlotStatus.ACCEPTED)
        else:
            assert (order.status, slot.status) == ("rejected", SlotStatus.CANCELLED)
        if accepted == 200:  # free the member for the next round: their load is capped
            services.order_cancel(actor=cast.a.dispatcher, order_id=order.pk, reason="测试")
