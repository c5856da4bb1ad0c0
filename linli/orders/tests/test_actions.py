"""``permissions.order_actions`` and ``task_for`` (the buttons a page shows,
the ``actions`` the API lists) agree with the services: an action they offer
succeeds, an action they withhold is refused — for every role, in every state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from linli.core.errors import AppError
from linli.orders import services
from linli.orders.permissions import OrderActions, action_names
from linli.orders.tests.test_api import STATES, get, order_at

ACTORS = [
    "a.resident",
    "a.volunteer",
    "a.leader",
    "a.dispatcher",
    "a.school",
    "city",
    "b.dispatcher",
    "b.resident",
]


class _Undo(Exception):
    """Raised to roll a trial back after it succeeded."""


def _attempts(cast: Any) -> dict[str, Callable[[Any, int], Any]]:
    return {
        "cancel": lambda u, pk: services.order_cancel(actor=u, order_id=pk, reason="不需要了"),
        "reject": lambda u, pk: services.order_reject(actor=u, order_id=pk, reason="不在范围"),
        "rate": lambda u, pk: services.order_rate(
            actor=u, order_id=pk, resolved=True, satisfaction=5
        ),
        "dispatch": lambda u, pk: services.order_dispatch(
            actor=u, order_id=pk, member_id=cast.a.member.pk
        ),
        "close_follow_up": lambda u, pk: services.follow_up_close(
            actor=u, order_id=pk, note="已电话回访"
        ),
        "accept": lambda u, pk: services.order_accept(actor=u, order_id=pk),
        "decline": lambda u, pk: services.order_decline(actor=u, order_id=pk, reason="太远"),
        "start": lambda u, pk: services.order_start(actor=u, order_id=pk),
        "complete": lambda u, pk: services.order_complete(actor=u, order_id=pk, note="已修好"),
    }


def _succeeds(fn: Callable[[Any, int], Any], user: Any, pk: int) -> bool:
    try:
        with transaction.atomic():
            fn(user, pk)
            raise _Undo
    except _Undo:
        return True
    except AppError:
        return False


@pytest.mark.django_db
@pytest.mark.parametrize("state", STATES)
def test_offered_actions_are_exactly_the_ones_the_services_accept(cast, state):
    order = order_at(cast, state)
    users = cast.all_users()
    for who in ACTORS:
        user = users[who]
        allowed = set(action_names(user, order))
        for name, attempt in _attempts(cast).items():
            assert _succeeds(attempt, user, order.pk) == (name in allowed), (who, name)


@pytest.mark.django_db
def test_the_api_lists_the_callers_actions(cast):
    order = order_at(cast, "submitted")
    assert get(cast.a.dispatcher, f"/api/v1/orders/{order.pk}").json()["actions"] == [
        "cancel",
        "reject",
        "dispatch",
    ]
    assert get(cast.a.resident, f"/api/v1/orders/{order.pk}").json()["actions"] == ["cancel"]
    done = order_at(cast, "completed")
    assert get(cast.a.resident, f"/api/v1/orders/{done.pk}").json()["actions"] == ["rate"]
    assigned = order_at(cast, "assigned")
    assert get(cast.a.volunteer, f"/api/v1/orders/{assigned.pk}").json()["actions"] == [
        "accept",
        "decline",
    ]


def test_names_follow_the_flags():
    assert OrderActions(rate=True, dispatch=True).names() == ["rate", "dispatch"]
    assert OrderActions().names() == []
