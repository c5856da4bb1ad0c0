"""``permissions.order_actions`` (the buttons a page shows, the ``actions`` the
API lists) agrees with the services: an action it offers succeeds, an action
it withholds is refused — for every role, in every state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from linli.core.errors import AppError
from linli.orders import services
from linli.orders.permissions import OrderActions, order_actions
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
    }


def _who(cast: Any, who: str) -> Any:
    if who == "city":
        return cast.city
    side, role = who.split(".")
    return getattr(getattr(cast, side), role)


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
    for who in ACTORS:
        user = _who(cast, who)
        allowed = order_actions(user, order)
        for name, attempt in _attempts(cast).items():
            assert _succeeds(attempt, user, order.pk) == getattr(allowed, name), (who, name)


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


def test_names_follow_the_flags():
    assert OrderActions(rate=True, dispatch=True).names() == ["rate", "dispatch"]
    assert OrderActions().names() == []
