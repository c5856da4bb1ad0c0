"""The wanted time window: within the horizon, not past, end after start; shown with its year."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from linli.core.errors import InvalidInput
from linli.core.services import token_issue
from linli.orders import services
from linli.orders.models import Order, Urgency
from linli.orders.templatetags.order_time import when
from linli.site.testing import client_for


def place(cast, start: dt.datetime, end: dt.datetime) -> Order:
    return services.order_place(
        actor=cast.a.resident,
        item="home_repair",
        urgency=Urgency.SCHEDULED,
        window_start=start,
        window_end=end,
    )


def problems(cast, start: dt.datetime, end: dt.datetime) -> dict:
    with pytest.raises(InvalidInput) as exc:
        place(cast, start, end)
    assert not Order.objects.exists()
    return exc.value.fields


def days(n: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=n)


def test_a_window_within_the_horizon_is_taken(cast):
    order = place(cast, days(89), days(89.1))
    assert order.window_start is not None


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        (91, 91.1, "window_start", "90 天以内"),
        (2, 91, "window_end", "90 天以内"),
        (-3, 1, "window_start", "不能早于昨天"),
        (3, 2, "window_end", "晚于开始时间"),
        (3, 3, "window_end", "晚于开始时间"),
    ],
)
def test_a_window_out_of_bounds_names_its_field(cast, start, end, field, words):
    now = timezone.now()
    fields = problems(cast, now + dt.timedelta(days=start), now + dt.timedelta(days=end))
    assert field in fields, fields
    assert words in str(fields[field])


def test_the_year_2099_is_refused_on_the_start(cast):
    start = dt.datetime(2099, 5, 1, 9, tzinfo=dt.UTC)
    fields = problems(cast, start, start + dt.timedelta(hours=2))
    assert "90 天以内" in str(fields["window_start"])


@override_settings(LINLI_WINDOW_MAX_DAYS=10)
def test_the_horizon_is_a_setting(cast):
    fields = problems(cast, days(11), days(11.1))
    assert "10 天以内" in str(fields["window_start"])
    assert place(cast, days(9), days(9.1)).pk


def test_the_api_answers_400_in_its_error_shape(cast):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.resident)}")
    body = {
        "item": "home_repair",
        "urgency": "scheduled",
        "window_start": "2099-05-01T09:00:00+08:00",
        "window_end": "2099-05-01T11:00:00+08:00",
    }
    r = client.post("/api/v1/orders", json.dumps(body), content_type="application/json")
    assert r.status_code == 400, r.content
    err = r.json()
    assert err["code"] == "invalid" and "window_start" in err["fields"]
    assert "90 天以内" in err["fields"]["window_start"][0]
    assert not Order.objects.exists()


def test_the_page_shows_the_error_at_the_field(cast):
    r = client_for(cast.a.resident).post(
        reverse("orders:place", args=["home_repair"]),
        {
            "urgency": "scheduled",
            "window_start": "2099-05-01T09:00",
            "window_end": "2099-05-01T11:00",
        },
    )
    assert r.status_code == 400
    assert "期望时间最多可以约在 90 天以内" in r.content.decode()
    assert not Order.objects.exists()


def test_the_error_is_translated(cast):
    with translation.override("en"):
        fields = problems(cast, days(200), days(200.1))
    message = str(fields["window_start"])
    assert "90" in message and not any("\u4e00" <= c <= "\u9fff" for c in message)


# --- shown with the year when it is not this year's ----------------------------------


def test_when_adds_the_year_only_for_another_year():
    now = timezone.localtime()
    this_year = now.replace(month=3, day=4, hour=9, minute=5)
    other = this_year.replace(year=now.year + 1)
    assert when(this_year) == "03-04 09:05"
    assert when(other) == f"{now.year + 1}-03-04 09:05"
    assert when(None) == ""


def test_order_pages_show_the_year_of_another_year(cast):
    order = place(cast, days(2), days(2.1))
    next_year = timezone.localtime().year + 1
    start = timezone.localtime().replace(year=next_year, month=1, day=15, hour=9, minute=0)
    last_year = timezone.localtime().replace(year=next_year - 2, month=6, day=1, hour=8, minute=0)
    Order.objects.filter(pk=order.pk).update(
        window_start=start, window_end=start + dt.timedelta(hours=2), created_at=last_year
    )
    order.events.update(at=last_year)
    page = client_for(cast.a.dispatcher).get(reverse("orders:detail", args=[order.pk]))
    html = page.content.decode()
    assert f"{next_year}-01-15 09:00" in html  # the window
    assert f"{next_year - 2}-06-01 08:00" in html  # placed, and the timeline
    queue = client_for(cast.a.dispatcher).get(reverse("orders:queue")).content.decode()
    assert f"{next_year - 2}-06-01 08:00" in queue
