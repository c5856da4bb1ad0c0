"""What a page offers and the API's ``actions`` lists are exactly what the
services accept, and page and API show the same contact data -- for every
role, in states drawn by hypothesis, not hand-picked.

The actors include those a rule written twice would get wrong: a member of
the team an order is offered to without the item's skill, one at their
full load, the dispatcher who placed the order by phone, a guardian.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.core.errors import AppError
from linli.core.models import AuditLog
from linli.core.roles import Role
from linli.orders import services
from linli.orders.models import Channel, Order, ServiceItem
from linli.orders.permissions import OrderActions, action_names
from linli.orders.tests.test_api import get, order_at
from linli.orders.tests.test_stateful import PHASES
from linli.people.models import Guardianship, Resident
from linli.site.testing import Cast, client_for, make_user
from linli.teams.models import Member, Skill, Team

pytestmark = pytest.mark.django_db

ACTION_NAMES = (
    "cancel",
    "reject",
    "rate",
    "record_callback",
    "dispatch",
    "close_follow_up",
    "accept",
    "decline",
    "start",
    "complete",
)


class _Undo(Exception):
    """Raised to roll a trial back after it succeeded."""


def _attempts(w: dict[str, Any]) -> dict[str, Callable[[Any, int], Any]]:
    team = w["team"]
    return {
        "cancel": lambda u, pk: services.order_cancel(actor=u, order_id=pk, reason="不需要了"),
        "reject": lambda u, pk: services.order_reject(actor=u, order_id=pk, reason="不在范围"),
        "rate": lambda u, pk: services.order_rate(
            actor=u, order_id=pk, resolved=True, satisfaction=5
        ),
        "record_callback": lambda u, pk: services.order_rate(
            actor=u, order_id=pk, resolved=True, satisfaction=4, callback=True
        ),
        # Offer to the team: a target any dispatcher or its leader may choose.
        "dispatch": lambda u, pk: services.order_dispatch(actor=u, order_id=pk, team_id=team.pk),
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


def _member(cast: Cast, username: str, *, skill: bool, cap: int = 3) -> Member:
    user = make_user(username, Role.VOLUNTEER, cast.a.center)
    assert cast.a.team is not None
    member = Member.objects.create(
        team=cast.a.team, user=user, source=Member.Source.VOLUNTEER, max_concurrent=cap
    )
    if skill:
        member.skills.add(Skill.objects.get(code="home_repair"))
    return member


@pytest.fixture
def world(cast: Cast) -> dict[str, Any]:
    """The cast, plus the members and family a rule could forget, and a two-member item."""
    ServiceItem.objects.create(
        code="repair_pair",
        name="双人维修",
        fixed=True,
        team_kind=Team.Kind.CONVENIENCE,
        skill=Skill.objects.get(code="home_repair"),
        members_needed=2,
    )
    unskilled = _member(cast, "baihua-unskilled", skill=False)
    full = _member(cast, "baihua-full", skill=True, cap=1)
    second = _member(cast, "baihua-second", skill=True)
    # The full member holds one slot of another order already.
    other = services.order_place(actor=cast.a.resident, item="home_repair")
    services.order_dispatch(actor=cast.a.dispatcher, order_id=other.pk, member_id=full.pk)
    guardian = make_user("baihua-guardian", Role.RESIDENT, cast.a.center)
    record = Resident.objects.create(
        name="曾晓红",
        gender=Resident.Gender.FEMALE,
        birth_date=dt.date(1972, 5, 1),
        community=cast.a.center,
        account=guardian,
    )
    assert cast.a.person is not None
    Guardianship.objects.create(guardian=record, ward=cast.a.person, relation="女儿")
    users = {
        **cast.all_users(),
        "unskilled": unskilled.user,
        "full": full.user,
        "second": second.user,
        "guardian": guardian,
    }
    return {"cast": cast, "users": users, "team": cast.a.team, "second": second}


# One step of a walk: who tries which action. Failures are simply skipped, so the
# walk reaches the states the services allow, in the proportions hypothesis draws.
STEP_ACTORS = ["a.dispatcher", "a.volunteer", "second", "a.resident", "guardian", "a.leader"]
steps = st.lists(
    st.tuples(
        st.sampled_from(STEP_ACTORS),
        st.sampled_from([*ACTION_NAMES, "dispatch_member", "dispatch_second", "sweep"]),
        st.integers(1, 5),
    ),
    max_size=14,
)


def _walk(w: dict[str, Any], placed_by: str, item: str, path: list[tuple[str, str, int]]) -> Order:
    cast, users = w["cast"], w["users"]
    if placed_by == "a.resident":
        order = services.order_place(actor=cast.a.resident, item=item)
    elif placed_by == "guardian":
        order = services.order_place(
            actor=users["guardian"], item=item, resident_id=cast.a.person.pk
        )
    else:
        order = services.order_place(
            actor=users[placed_by], item=item, resident_id=cast.a.person.pk, channel=Channel.PHONE
        )
    attempts = _attempts(w)
    attempts["dispatch_member"] = lambda u, pk: services.order_dispatch(
        actor=u, order_id=pk, member_id=cast.a.member.pk
    )
    attempts["dispatch_second"] = lambda u, pk: services.order_dispatch(
        actor=u, order_id=pk, member_id=w["second"].pk
    )
    for who, name, satisfaction in path:
        if name == "sweep":
            services.orders_sweep(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
            continue
        try:
            if name == "rate":
                services.order_rate(
                    actor=users[who],
                    order_id=order.pk,
                    resolved=satisfaction > 2,
                    satisfaction=satisfaction,
                )
            else:
                attempts[name](users[who], order.pk)
        except AppError:
            pass
    order.refresh_from_db()
    return order


HYPOTHESIS = settings(
    max_examples=20,
    deadline=None,
    database=None,
    # Shrinking replays hundreds of walks; the failing one is printed unshrunk.
    phases=PHASES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(
    placed_by=st.sampled_from(["a.resident", "guardian", "a.dispatcher", "city"]),
    item=st.sampled_from(["home_repair", "repair_pair"]),
    path=steps,
)
def test_offered_actions_are_exactly_the_ones_the_services_accept(
    world: dict[str, Any], placed_by: str, item: str, path: list[tuple[str, str, int]]
) -> None:
    with transaction.atomic():
        order = _walk(world, placed_by, item, path)
        attempts = _attempts(world)
        for who, user in world["users"].items():
            allowed = set(action_names(user, Order.objects.get(pk=order.pk)))
            assert allowed <= set(ACTION_NAMES)
            for name in ACTION_NAMES:
                done = _succeeds(attempts[name], user, order.pk)
                assert done == (name in allowed), (who, name, order.status, allowed)
        transaction.set_rollback(True)


def _page_contact(user: Any, pk: int) -> tuple[str, str] | None:
    """The phone and address the order page shows, or None when it is not theirs to see."""
    r = client_for(user).get(f"/orders/{pk}/")
    if r.status_code == 404:
        return None
    assert r.status_code == 200
    html = r.content.decode()

    def fact(label: str) -> str:
        found = re.search(rf"<dt>{label}</dt><dd>(.*?)</dd>", html)
        assert found, label
        return found.group(1)

    return fact("电话"), fact("服务地址")


@HYPOTHESIS
@given(
    placed_by=st.sampled_from(["a.resident", "guardian", "a.dispatcher"]),
    item=st.sampled_from(["home_repair", "repair_pair"]),
    path=steps,
)
def test_page_and_api_show_the_same_contact_data_and_every_unmasked_view_is_audited(
    world: dict[str, Any], placed_by: str, item: str, path: list[tuple[str, str, int]]
) -> None:
    with transaction.atomic():
        order = _walk(world, placed_by, item, path)
        person = world["cast"].a.person
        for who, user in world["users"].items():
            before = AuditLog.objects.filter(actor=user, action=AuditLog.Action.REVEAL).count()
            api = get(user, f"/api/v1/orders/{order.pk}")
            page = _page_contact(user, order.pk)
            if api.status_code == 404:
                assert page is None, who
                continue
            body = api.json()
            assert page == (body["phone"], body["address"]), who
            full = body["address"] == person.address and body["phone"] == person.phone
            assert full == (not body["contact_masked"]), who
            audits = (
                AuditLog.objects.filter(actor=user, action=AuditLog.Action.REVEAL).count() - before
            )
            # Unmasked: one entry for each of the two views, unless it is the resident's own.
            own = user.pk == person.account_id
            assert audits == (0 if own or not full else 2), (who, audits)
            # Those who may reveal it get it, audited; the others are refused and nothing is written.
            r = client_for(user).post(f"/orders/{order.pk}/contact/")
            after = AuditLog.objects.filter(actor=user, action=AuditLog.Action.REVEAL).count()
            if body["contact_on_request"] or full:
                assert r.status_code == 200 and person.phone in r.content.decode(), who
                assert after == before + audits + (0 if own else 1), who
            else:
                assert r.status_code in (403, 404, 409), (who, r.status_code)
                assert after == before + audits, who
        transaction.set_rollback(True)


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
    assert get(cast.a.dispatcher, f"/api/v1/orders/{done.pk}").json()["actions"] == [
        "record_callback"
    ]
    assigned = order_at(cast, "assigned")
    assert get(cast.a.volunteer, f"/api/v1/orders/{assigned.pk}").json()["actions"] == [
        "accept",
        "decline",
    ]


def test_names_follow_the_flags():
    assert OrderActions(rate=True, dispatch=True).names() == ["rate", "dispatch"]
    assert OrderActions().names() == []
