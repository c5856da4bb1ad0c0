"""Bad input never breaks the service: each case that once gave a 500 (or, worse,
stored a row that broke every later read) answers in the one error shape,
stores nothing, and leaves the lists answering. The suite runs on SQLite and
on PostgreSQL (.ci/run), so each case is proven on both."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from linli.core.boundary import DATETIME_MAX, DATETIME_MIN
from linli.orders.models import Order, ServiceItem, Urgency
from linli.orders.tests.test_api import api, get, post
from linli.site.testing import Cast, client_for

pytestmark = pytest.mark.django_db

BIG = str(2**63)


def shape(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.content[:300])
    assert r["Content-Type"].startswith("application/json"), r["Content-Type"]
    body = r.json()
    assert set(body) == {"code", "message", "fields"}, body
    return body


def lists_still_answer(cast: Cast) -> None:
    for user in (cast.a.resident, cast.a.dispatcher, cast.city):
        assert get(user, "/api/v1/orders").status_code == 200
    assert client_for(cast.a.dispatcher).get("/orders/console/").status_code == 200


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        # year 10000 in UTC: stored on PostgreSQL, then every list answered 500
        ("9999-12-31T20:00:00-14:00", "9999-12-31T23:59:59-14:00", "window_start"),
        ("2026-12-10T09:00:00+08:00", "9999-12-31T23:59:59Z", "window_end"),
        ("0001-01-01T00:00:00Z", "2026-12-10T09:00:00+08:00", "window_start"),
        # in range, but not a wanted time for a home visit
        ("2031-01-01T09:00:00+08:00", "2031-01-01T11:00:00+08:00", "window_end"),
    ],
)
def test_a_window_out_of_range_is_a_400_and_stores_nothing(cast, start, end, field):
    body = {"item": "home_repair", "urgency": "scheduled", "window_start": start, "window_end": end}
    r = post(cast.a.resident, "/api/v1/orders", body)
    assert field in shape(r, 400)["fields"]
    assert not Order.objects.exists()
    lists_still_answer(cast)


def test_the_database_refuses_a_time_the_reads_cannot_handle(cast):
    """Whatever the path (admin, import, a later app): the check constraints hold."""
    good = post(cast.a.resident, "/api/v1/orders", {"item": "home_repair"}).json()["id"]
    for field, value in (
        ("window_start", dt.datetime(2300, 1, 1, tzinfo=dt.UTC)),
        ("accept_deadline", DATETIME_MAX),
        ("complete_deadline", DATETIME_MIN - dt.timedelta(seconds=1)),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.filter(pk=good).update(**{field: value})
    lists_still_answer(cast)


def test_deadlines_never_overflow():
    item = ServiceItem.objects.get(code="home_repair")
    item.urgent_accept_minutes = item.urgent_complete_minutes = 366 * 24 * 60
    item.scheduled_accept_lead_minutes = item.scheduled_complete_grace_minutes = 366 * 24 * 60
    late = dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.UTC)
    early = dt.datetime(1, 1, 1, 1, 0, tzinfo=dt.UTC)
    for urgency, start, end in (
        (Urgency.URGENT, None, None),
        (Urgency.SCHEDULED, early, late),
        (Urgency.SCHEDULED, late - dt.timedelta(hours=1), late),
    ):
        accept, complete = item.deadlines(urgency, late, start, end)
        assert accept <= DATETIME_MAX and complete <= DATETIME_MAX


@pytest.mark.parametrize(
    ("user", "url", "body"),
    [
        ("resident", "/api/v1/orders", {"item": "home_repair", "description": "漏\u0000水"}),
        ("anonymous", "/api/v1/auth/token", {"username": "a\u0000", "password": "x"}),
        ("resident", "/api/v1/orders", {"item": "home_repair", "description": "\ud800"}),
        ("resident", "/api/v1/orders", {"item": "home_repair", "resident": 2**63}),
    ],
)
def test_text_and_numbers_no_column_can_hold_are_a_400(cast, user, url, body):
    client = Client() if user == "anonymous" else api(cast.a.resident)
    raw = json.dumps(body)  # \u0000 and \ud800 travel as JSON escapes
    r = client.post(url, raw, content_type="application/json")
    fields = shape(r, 400)["fields"]
    assert set(fields) & {"description", "username", "resident"}, fields
    assert not Order.objects.exists()
    lists_still_answer(cast)


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/residents", {"q": "\u0000"}, "q"),
        ("/api/v1/members", {"q": "zq\u0000b"}, "q"),
        ("/api/v1/orders", {"status": "\u0000"}, "status"),
        ("/api/v1/residents", {"offset": BIG}, "offset"),
        ("/api/v1/orders", {"limit": BIG}, "limit"),
        ("/api/v1/members", {"offset": "1" + "0" * 30}, "offset"),
        ("/api/v1/orders", {"community": BIG}, "community"),
        ("/api/v1/members", {"team": "1" + "0" * 30}, "team"),
        ("/api/v1/orders", {"limit": "101"}, "limit"),
    ],
)
def test_query_values_no_column_can_hold_are_a_400(cast, url, params, field):
    r = get(cast.a.dispatcher, url, **params)
    assert field in shape(r, 400)["fields"]


def test_a_nul_in_a_page_search_is_a_400_page(cast):
    r = client_for(cast.a.dispatcher).get("/people/", {"q": "\u0000"})
    assert r.status_code == 400 and "text/html" in r["Content-Type"]


def test_a_huge_id_in_a_path_is_a_404(cast):
    shape(get(cast.a.dispatcher, f"/api/v1/orders/{BIG}"), 404)
    shape(api(cast.a.dispatcher).post(f"/api/v1/orders/{'9' * 30}/accept"), 404)


def test_every_api_answer_is_in_the_one_shape(cast, settings):
    client = api(cast.a.resident)
    order = post(cast.a.resident, "/api/v1/orders", {"item": "home_repair"}).json()["id"]
    assert shape(client.put(f"/api/v1/orders/{order}", "{}", "application/json"), 405)
    assert shape(client.get("/api/v1/orders/"), 404)  # a trailing slash
    assert shape(client.get("/api/v1/no-such-thing"), 404)
    assert shape(client.post("/api/v1/orders", "item=home_repair", "text/plain"), 415)
    assert shape(client.post("/api/v1/orders", "<item/>", "application/xml"), 415)
    settings.LINLI_MAX_BODY_BYTES = 1024
    big = json.dumps({"item": "home_repair", "description": "x" * 2048})
    assert shape(client.post("/api/v1/orders", big, "application/json"), 413)
    assert Order.objects.count() == 1


def test_one_database_configuration_however_it_is_chosen(monkeypatch, tmp_path):
    from linli import settings as linli_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    db = linli_settings._database()
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert db["OPTIONS"]["timeout"] >= 5
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    monkeypatch.delenv("LINLI_DB_CONN_MAX_AGE", raising=False)
    # A thread per request cannot pile up connections: each request closes its own.
    assert linli_settings._database()["CONN_MAX_AGE"] == 0
    monkeypatch.setenv("LINLI_DB_CONN_MAX_AGE", "60")
    assert linli_settings._database()["CONN_MAX_AGE"] == 60


def test_the_window_is_checked_in_the_service_too(cast):
    """The page and any later caller go through the same service checks."""
    from linli.core.errors import InvalidInput
    from linli.orders import services

    now = timezone.now()
    with pytest.raises(InvalidInput) as exc:
        services.order_place(
            actor=cast.a.resident,
            item="home_repair",
            urgency=Urgency.SCHEDULED,
            window_start=now + dt.timedelta(days=500),
            window_end=now + dt.timedelta(days=500, hours=2),
        )
    assert "window_end" in exc.value.fields
    assert not Order.objects.exists()
