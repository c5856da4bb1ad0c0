"""Arbitrary strings, datetimes and integers thrown at order placement and at the
list filters: never an error but the application's own, and never a stored row
that makes a later read fail (property tests; on both databases in CI)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.core.errors import AppError
from linli.orders import services
from linli.orders.models import Order
from linli.orders.tests.test_api import get
from linli.orders.tests.test_stateful import PHASES
from linli.site.testing import Cast, client_for

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text, NUL and lone surrogates included; any aware datetime the calendar has.
texts = st.text(st.characters(codec=None, categories=None), max_size=40) | st.sampled_from(
    ["", "home_repair", "\x00", "\ud800", "x" * 3000]
)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
datetimes = st.none() | st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=offsets
)
integers = st.none() | st.integers() | st.sampled_from([2**63, -(2**63) - 1, 0, 1])
floats = st.none() | st.floats(allow_nan=True, allow_infinity=True)


def reads_still_work(cast: Cast) -> None:
    for user in (cast.a.resident, cast.a.dispatcher, cast.city):
        assert get(user, "/api/v1/orders").status_code == 200
    for order in Order.objects.all():
        assert client_for(cast.a.dispatcher).get(f"/orders/{order.pk}/").status_code == 200
        assert get(cast.a.dispatcher, f"/api/v1/orders/{order.pk}").status_code == 200


@SETTINGS
@given(
    item=texts,
    description=texts,
    urgency=st.sampled_from(["urgent", "normal", "scheduled"]) | texts,
    start=datetimes,
    end=datetimes,
    resident=integers,
    address=st.none() | texts,
    lat=floats,
    lon=floats,
    key=texts,
    by_dispatcher=st.booleans(),
)
def test_order_place_takes_anything_and_stores_only_what_reads(
    cast: Cast, by_dispatcher: bool, resident: Any, start: Any, end: Any, **kw: Any
) -> None:
    actor = cast.a.dispatcher if by_dispatcher else cast.a.resident
    with transaction.atomic():
        try:
            services.order_place(
                actor=actor,
                item=kw["item"],
                description=kw["description"],
                urgency=kw["urgency"],
                window_start=start,
                window_end=end,
                resident_id=resident if by_dispatcher or resident != 0 else None,
                address=kw["address"],
                lat=kw["lat"],
                lon=kw["lon"],
                idempotency_key=kw["key"],
            )
        except AppError:
            pass
        reads_still_work(cast)
        transaction.set_rollback(True)


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["status", "item", "urgency", "overdue", "follow_up", "mine", "community",
                         "limit", "offset", "q", "team", "page"]),
        # A URL cannot carry a lone surrogate (the client could not send it).
        texts.filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t))
        | integers.map(str),
        max_size=4,
    ),
    url=st.sampled_from(["/api/v1/orders", "/api/v1/residents", "/api/v1/members",
                         "/api/v1/notifications"]),
)  # fmt: skip
def test_list_filters_answer_2xx_or_4xx_in_the_one_shape(
    cast: Cast, params: dict[str, str], url: str
) -> None:
    r = get(cast.a.dispatcher, url, **params)
    assert r.status_code < 500, (r.status_code, params)
    if r.status_code >= 400:
        assert set(r.json()) == {"code", "message", "fields"}
