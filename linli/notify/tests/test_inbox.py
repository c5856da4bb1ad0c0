"""The inbox: page and API, one's own only, the unread count in the top bar, mark read."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext_noop

from linli.core.models import User
from linli.core.services import token_issue
from linli.notify.models import Notification
from linli.notify.services import notify
from linli.site.testing import Cast, client_for

pytestmark = pytest.mark.django_db

ORDER_PLACED = gettext_noop("新订单 #%(id)s：%(item)s（%(name)s）")


def api(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")


def tell(user: User, n: int = 1, start: int = 1) -> list[Notification]:
    base = timezone.now()
    for i in range(start, start + n):
        notify(
            [user],
            "order_placed",
            ORDER_PLACED,
            {"id": i, "item": {"zh-hans": "家政维修", "en": "Home repairs"}, "name": "曾庆宝"},
            f"/orders/{i}/",
        )
        Notification.objects.filter(recipient=user, params__id=i).update(
            created_at=base + dt.timedelta(seconds=i)
        )
    return list(Notification.objects.filter(recipient=user))


def unread_badge(html: str) -> str | None:
    link = re.search(r'<a class="bell"[^>]*>(.*?)</a>', html)
    assert link, "no notifications link in the top bar"
    count = re.search(r'<span class="count">(\d+)</span>', link.group(1))
    return count.group(1) if count else None


def test_top_bar_shows_the_unread_count_on_every_page(cast: Cast) -> None:
    tell(cast.a.dispatcher, 3)
    tell(cast.a.leader, 5)  # someone else's: not counted
    client = client_for(cast.a.dispatcher)
    for url in ("/", "/orders/console/", "/notifications/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert unread_badge(response.content.decode()) == "3", url


def test_top_bar_without_unread_shows_no_count(cast: Cast) -> None:
    tell(cast.a.dispatcher, 1)
    Notification.objects.update(read_at=timezone.now())
    assert unread_badge(client_for(cast.a.dispatcher).get("/").content.decode()) is None


def test_anonymous_pages_have_no_notifications_link(client: Client, cast: Cast) -> None:
    assert 'class="bell"' not in client.get("/accounts/login/").content.decode()


def test_the_top_bar_count_is_one_query(cast: Cast) -> None:
    """The count costs one query on a page, however many notifications there are."""
    client = client_for(cast.a.resident)
    client.get("/")
    tell(cast.a.resident, 1)
    with CaptureQueriesContext(connection) as one:
        client.get("/")
    tell(cast.a.resident, 30, start=2)
    with CaptureQueriesContext(connection) as many:
        client.get("/")
    counts = [q["sql"] for q in many.captured_queries if "notify_notification" in q["sql"]]
    assert len(many.captured_queries) == len(one.captured_queries)
    assert len(counts) == 1 and "COUNT" in counts[0].upper()


def test_inbox_lists_only_ones_own_newest_first_in_ones_language(cast: Cast) -> None:
    tell(cast.a.dispatcher, 2)
    tell(cast.b.dispatcher, 1, start=9)
    cast.a.dispatcher.language = "en"
    cast.a.dispatcher.save(update_fields=["language"])
    client = client_for(cast.a.dispatcher)
    client.cookies["django_language"] = "en"
    html = client.get("/notifications/").content.decode()
    assert html.index("New order #2: Home repairs (曾庆宝)") < html.index("New order #1:")
    assert "#9" not in html
    zh = client_for(cast.b.dispatcher).get("/notifications/").content.decode()
    assert "新订单 #9：家政维修（曾庆宝）" in zh and "#1" not in zh


def test_inbox_unread_filter_and_pages(cast: Cast) -> None:
    rows = tell(cast.a.resident, 25)
    Notification.objects.filter(pk=rows[0].pk).update(read_at=timezone.now())  # #25 read
    client = client_for(cast.a.resident)
    first = client.get("/notifications/").content.decode()
    assert "新订单 #25：" in first and "新订单 #6：" in first and "新订单 #5：" not in first
    assert "新订单 #5：" in client.get("/notifications/?page=2").content.decode()
    unread = client.get("/notifications/?unread=1").content.decode()
    assert "新订单 #25：" not in unread and "新订单 #24：" in unread


def test_inbox_page_query_count_does_not_grow(
    cast: Cast, django_assert_max_num_queries: Any
) -> None:
    tell(cast.a.resident, 20)
    client = client_for(cast.a.resident)
    with django_assert_max_num_queries(7):
        assert client.get("/notifications/").status_code == 200


def test_inbox_needs_sign_in(client: Client, cast: Cast) -> None:
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_mark_read_on_the_page(cast: Cast) -> None:
    n = tell(cast.a.resident, 2)[0]
    client = client_for(cast.a.resident)
    response = client.post(f"/notifications/{n.pk}/read/", {"next": "/notifications/?unread=1"})
    assert response.status_code == 302 and response["Location"] == "/notifications/?unread=1"
    n.refresh_from_db()
    assert n.read_at is not None
    assert unread_badge(client.get("/").content.decode()) == "1"


def test_open_marks_read_and_follows_the_link(cast: Cast) -> None:
    n = tell(cast.a.resident, 1)[0]
    response = client_for(cast.a.resident).post(f"/notifications/{n.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/orders/1/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_someone_elses_notification_cannot_be_marked_on_the_page(cast: Cast) -> None:
    n = tell(cast.a.resident, 1)[0]
    for user in (cast.a.dispatcher, cast.b.resident, cast.city):
        client = client_for(user)
        assert client.post(f"/notifications/{n.pk}/read/").status_code == 404
        assert client.post(f"/notifications/{n.pk}/open/").status_code == 404
    n.refresh_from_db()
    assert n.read_at is None


def test_mark_all_read_on_the_page_touches_only_ones_own(cast: Cast) -> None:
    tell(cast.a.resident, 3)
    tell(cast.b.resident, 2)
    client = client_for(cast.a.resident)
    response = client.post("/notifications/read-all/", follow=True)
    assert "3 条通知已标为已读。" in response.content.decode()
    assert not Notification.objects.filter(recipient=cast.a.resident, read_at=None).exists()
    assert Notification.objects.filter(recipient=cast.b.resident, read_at=None).count() == 2


def test_read_keeps_the_first_time(cast: Cast) -> None:
    n = tell(cast.a.resident, 1)[0]
    client = client_for(cast.a.resident)
    client.post(f"/notifications/{n.pk}/read/")
    n.refresh_from_db()
    first = n.read_at
    client.post(f"/notifications/{n.pk}/read/")
    n.refresh_from_db()
    assert n.read_at == first


# --- API -------------------------------------------------------------------------


def test_api_lists_own_newest_first_in_the_callers_language(cast: Cast) -> None:
    tell(cast.a.leader, 3)
    tell(cast.a.dispatcher, 1, start=8)
    cast.a.leader.language = "en"
    cast.a.leader.save(update_fields=["language"])
    body = api(cast.a.leader).get("/api/v1/notifications").json()
    assert body["count"] == 3
    assert [n["text"] for n in body["items"]] == [
        f"New order #{i}: Home repairs (曾庆宝)" for i in (3, 2, 1)
    ]
    assert body["items"][0]["link"] == "/orders/3/" and body["items"][0]["read_at"] is None


def test_api_unread_filter_paging_and_count(cast: Cast) -> None:
    rows = tell(cast.a.resident, 5)
    Notification.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(read_at=timezone.now())
    client = api(cast.a.resident)
    body = client.get("/api/v1/notifications?unread=true&limit=2&offset=0").json()
    assert body["count"] == 3
    assert [n["text"][:6] for n in body["items"]] == ["新订单 #3", "新订单 #2"]
    assert client.get("/api/v1/notifications/unread").json() == {"unread": 3}


def test_api_mark_one_and_all_read(cast: Cast) -> None:
    rows = tell(cast.a.resident, 3)
    tell(cast.b.resident, 1)
    client = api(cast.a.resident)
    response = client.post(f"/api/v1/notifications/{rows[0].pk}/read")
    assert response.status_code == 200 and response.json()["read_at"] is not None
    assert client.get("/api/v1/notifications/unread").json() == {"unread": 2}
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 2}
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 0}
    assert Notification.objects.filter(recipient=cast.b.resident, read_at=None).count() == 1


def test_api_cannot_read_or_mark_another_persons(cast: Cast) -> None:
    n = tell(cast.a.resident, 1)[0]
    for user in (cast.a.dispatcher, cast.b.resident, cast.city):
        client = api(user)
        response = client.post(f"/api/v1/notifications/{n.pk}/read")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        assert client.get("/api/v1/notifications").json()["count"] == 0
    n.refresh_from_db()
    assert n.read_at is None


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/api/v1/notifications"),
        ("get", "/api/v1/notifications/unread"),
        ("post", "/api/v1/notifications/read-all"),
        ("post", "/api/v1/notifications/1/read"),
    ],
)
def test_api_needs_a_token(cast: Cast, method: str, url: str) -> None:
    response = getattr(Client(), method)(url)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_api_list_query_count_does_not_grow(cast: Cast, django_assert_max_num_queries: Any) -> None:
    tell(cast.a.resident, 30)
    client = api(cast.a.resident)
    with django_assert_max_num_queries(5):
        assert len(client.get("/api/v1/notifications?limit=30").json()["items"]) == 30


# --- the language a person chose is remembered ------------------------------------


def test_a_chosen_language_is_remembered_on_the_account(cast: Cast) -> None:
    client = client_for(cast.a.resident)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    client.get("/")
    cast.a.resident.refresh_from_db()
    assert cast.a.resident.language == "en"
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    client.get("/")
    cast.a.resident.refresh_from_db()
    assert cast.a.resident.language == "zh-hans"


def test_accept_language_is_no_choice(cast: Cast) -> None:
    client_for(cast.a.resident).get("/", HTTP_ACCEPT_LANGUAGE="en")
    cast.a.resident.refresh_from_db()
    assert cast.a.resident.language == "zh-hans"
