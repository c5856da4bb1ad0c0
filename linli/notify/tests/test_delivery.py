"""Delivery: claimed once, retried with backoff, given up after N; the webhook channel."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from django.utils.translation import gettext_noop

from linli.notify import services
from linli.notify.models import Delivery, Notification
from linli.notify.services import delivery_attempt, each_language, notify
from linli.orders.models import ServiceItem
from linli.site.testing import RACE_MARKS, Cast, race

WEBHOOK = ["linli.notify.channels.InboxChannel", "linli.notify.channels.WebhookChannel"]


class Gateway:
    """A local SMS gateway: answers the queued statuses in turn (then 200), keeps every POST."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.posts: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                gateway.posts.append((status, json.loads(body), dict(self.headers)))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings: Any) -> Iterator[Gateway]:
    gw = Gateway([503])
    settings.LINLI_NOTIFY_CHANNELS = WEBHOOK
    settings.LINLI_NOTIFY_WEBHOOK_URL = gw.url
    settings.LINLI_NOTIFY_WEBHOOK_TIMEOUT = 5
    with gw:
        yield gw


def _order_placed(cast: Cast) -> Delivery:
    item = ServiceItem.objects.get(code="home_repair")
    notify(
        [cast.a.resident],
        "order_placed",
        gettext_noop("新订单 #%(id)s：%(item)s（%(name)s）"),
        {"id": 12, "item": each_language(lambda: item.label), "name": "曾庆宝"},
        "/orders/12/",
    )
    return Delivery.objects.get(channel="webhook")


@pytest.mark.django_db
def test_a_failing_webhook_is_retried_and_sent_once(cast: Cast, gateway: Gateway) -> None:
    cast.a.resident.language = "en"
    cast.a.resident.save(update_fields=["language"])
    d = _order_placed(cast)

    assert delivery_attempt(d.pk) == "retry"
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_error) == ("pending", 1, "WebhookError: HTTP 503")
    assert d.next_attempt_at > timezone.now() + dt.timedelta(seconds=20)  # backoff
    # Not due yet: nothing is sent.
    assert delivery_attempt(d.pk) == "skipped"
    assert len(gateway.posts) == 1

    later = d.next_attempt_at + dt.timedelta(seconds=1)
    assert delivery_attempt(d.pk, now=later) == "sent"
    assert delivery_attempt(d.pk, now=later + dt.timedelta(hours=1)) == "skipped"
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_error) == ("sent", 2, "")

    assert [status for status, _body, _headers in gateway.posts] == [503, 200]
    _status, body, headers = gateway.posts[1]
    n = Notification.objects.get()
    assert body == {
        "id": f"linli-{n.pk}-webhook",
        "notification": n.pk,
        "recipient": {
            "id": cast.a.resident.pk,
            "username": "baihua-resident",
            "name": "baihua-resident",
        },
        "phone": "13807711234",
        "kind": "order_placed",
        "text": "New order #12: Home repairs (曾庆宝)",
        "link": "/orders/12/",
        "language": "en",
    }
    assert headers["Idempotency-Key"] == f"linli-{n.pk}-webhook"
    assert headers["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_no_phone_is_sent_as_null(cast: Cast, gateway: Gateway) -> None:
    gateway.statuses.clear()
    notify([cast.a.dispatcher], "k", gettext_noop("通知"))
    assert delivery_attempt(Delivery.objects.get().pk) == "sent"
    assert gateway.posts[0][1]["phone"] is None
    assert gateway.posts[0][1]["text"] == "通知"


@pytest.mark.django_db
def test_gives_up_after_max_attempts_keeping_the_error(
    cast: Cast, gateway: Gateway, settings: Any
) -> None:
    settings.LINLI_NOTIFY_MAX_ATTEMPTS = 3
    gateway.statuses[:] = [500, 502, 404, 200]
    d = _order_placed(cast)
    now = timezone.now()
    outcomes = []
    for _ in range(4):
        outcomes.append(delivery_attempt(d.pk, now=now))
        now += dt.timedelta(hours=2)
    assert outcomes == ["retry", "retry", "failed", "skipped"]
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_error) == ("failed", 3, "WebhookError: HTTP 404")
    assert len(gateway.posts) == 3


@pytest.mark.django_db
def test_an_unreachable_gateway_is_a_failure(cast: Cast, settings: Any) -> None:
    settings.LINLI_NOTIFY_CHANNELS = WEBHOOK
    with Gateway([]) as gw:
        settings.LINLI_NOTIFY_WEBHOOK_URL = gw.url
    # The server is closed: nothing listens there any more.
    d = _order_placed(cast)
    assert delivery_attempt(d.pk) == "retry"
    d.refresh_from_db()
    assert d.last_error.startswith("WebhookError")


@pytest.mark.django_db
def test_backoff_doubles_up_to_the_cap(settings: Any) -> None:
    settings.LINLI_NOTIFY_RETRY_BACKOFF = 30
    waits = [services._backoff(a).total_seconds() for a in (1, 2, 3, 10)]
    assert waits == [30, 60, 120, settings.LINLI_NOTIFY_RETRY_MAX_WAIT]


@pytest.mark.django_db
def test_the_console_channel_prints_in_the_readers_language(
    cast: Cast, settings: Any, capsys: Any
) -> None:
    settings.LINLI_NOTIFY_CHANNELS = ["linli.notify.channels.ConsoleChannel"]
    cast.a.leader.language = "en"
    cast.a.leader.save(update_fields=["language"])
    notify([cast.a.leader], "k", gettext_noop("没有未读通知。"))
    assert delivery_attempt(Delivery.objects.get().pk) == "sent"
    assert "[notify] baihua-leader: No unread notifications." in capsys.readouterr().out


@pytest.mark.django_db
def test_a_lapsed_lease_is_claimed_again(cast: Cast, gateway: Gateway) -> None:
    """A worker that died while sending: after the lease, the delivery is tried again."""
    gateway.statuses.clear()
    d = _order_placed(cast)
    Delivery.objects.filter(pk=d.pk).update(
        status="sending", attempts=1, next_attempt_at=timezone.now() + dt.timedelta(minutes=5)
    )
    assert delivery_attempt(d.pk) == "skipped"
    assert services.deliveries_due(now=timezone.now() + dt.timedelta(minutes=6))["sent"] == 1
    d.refresh_from_db()
    assert (d.status, d.attempts) == ("sent", 2)


@pytest.mark.django_db
def test_commit_enqueues_one_job_per_delivery(
    cast: Cast, gateway: Gateway, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        d = _order_placed(cast)
    jobs = DBTaskResult.objects.filter(task_path="linli.notify.tasks.deliver")
    assert [j.args_kwargs["args"] for j in jobs] == [[d.pk]]


@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.usefixtures("gateway")
@RACE_MARKS[0]
@RACE_MARKS[1]
def test_workers_racing_for_one_delivery_send_it_once(cast: Cast, gateway: Gateway, n: int) -> None:
    gateway.statuses.clear()
    d = _order_placed(cast)
    outcomes = race([lambda: delivery_attempt(d.pk) for _ in range(n)])
    assert sorted(outcomes) == ["sent"] + ["skipped"] * (n - 1)
    assert len(gateway.posts) == 1
    d.refresh_from_db()
    assert (d.status, d.attempts) == ("sent", 1)
