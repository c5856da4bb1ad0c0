"""``linli serve`` on PostgreSQL, as deploy/linli-web.service runs it.

Slow (subprocesses): about 25 s for the module on the 2-core machine.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from django.conf import settings

from linli.core.services import token_issue
from linli.orders.models import Order
from linli.site.health import worker_beat
from linli.site.testing import Cast
from linli.site.tests.served import Server, database_url, json_lines, production_env, serving

ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="serves the PostgreSQL test database"),
    # The served processes must see the cast: commit it (and put the data
    # migrations' rows back afterwards).
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(scope="module")
def served(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory):
    """One server for the module, on the test database (each test commits its cast)."""
    tmp = tmp_path_factory.mktemp("serve")
    env = production_env(database_url(), tmp, LINLI_RATE_ORDER_PLACE="100000/h")
    with serving(env, tmp) as s:
        yield s


@pytest.fixture
def server(cast: Cast, served: Server) -> Server:
    return served


def place(server: Server, token: str, n: int = 0) -> tuple[int, object]:
    status, body, _h = server.request(
        "POST", "/api/v1/orders", {"item": "home_repair", "description": f"load {n}"}, token
    )
    return status, body


def test_serve_places_orders_and_reads_them_back(cast: Cast, server: Server) -> None:
    token = token_issue(user=cast.a.resident)
    placed = []
    for n in range(3):
        status, body = place(server, token, n)
        assert status == 201, body
        placed.append(body["id"])  # type: ignore[index]

    for order_id in placed:
        status, body, _h = server.request("GET", f"/api/v1/orders/{order_id}", token=token)
        assert status == 200 and body["id"] == order_id
    assert set(Order.objects.filter(pk__in=placed).values_list("pk", flat=True)) == set(placed)
    status, listing, _h = server.request("GET", "/api/v1/orders", token=token)
    assert {o["id"] for o in listing["items"]} >= set(placed)


def test_production_headers_and_request_log(cast: Cast, server: Server) -> None:
    token = token_issue(user=cast.a.resident)
    status, _body, headers = server.request(
        "GET", "/api/v1/orders", token=token, headers={"X-Request-ID": "complaint-4711-abc"}
    )
    assert status == 200
    assert headers["x-request-id"] == "complaint-4711-abc"
    assert "max-age=31536000" in headers["strict-transport-security"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "default-src 'self'" in headers["content-security-policy"]
    # Static files come from STATIC_ROOT with hashed names (collected by serve).
    status, page, _h = server.request("GET", "/accounts/login/")
    assert status == 200 and "/static/linli/linli." in page
    time.sleep(0.3)
    lines = [
        line for line in json_lines(server.log.read_text()) if line.get("logger") == "linli.request"
    ]
    mine = [line for line in lines if line.get("request_id") == "complaint-4711-abc"]
    assert len(mine) == 1
    assert mine[0]["status"] == 200 and mine[0]["method"] == "GET"
    assert mine[0]["path"] == "/api/v1/orders" and mine[0]["user_id"] == cast.a.resident.pk
    assert mine[0]["duration_ms"] >= 0


def test_readyz_of_the_served_site_follows_the_worker_heartbeat(cast: Cast, server: Server) -> None:
    status, body, _h = server.request("GET", "/readyz", headers={"X-Forwarded-Proto": "http"})
    assert status == 503 and body["checks"]["worker"] != "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "ok"
    worker_beat("test-worker-1")
    status, body, _h = server.request("GET", "/readyz", headers={"X-Forwarded-Proto": "http"})
    assert status == 200, body


def test_sigkill_of_the_web_processes_under_load_loses_no_acknowledged_order(
    cast: Cast, server: Server
) -> None:
    tokens = [token_issue(user=cast.a.resident), token_issue(user=cast.b.resident)]
    acknowledged: list[int] = []
    failures: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client(token: str, k: int) -> None:
        n = 0
        while not stop.is_set() and n < 400:
            n += 1
            try:
                status, body = place(server, token, k * 1000 + n)
            except OSError:
                time.sleep(0.05)  # the server is down: a client retries later
                continue
            if status == 201:
                with lock:
                    acknowledged.append(body["id"])  # type: ignore[index]
            elif status >= 500:
                failures.append(f"{status} {body}")

    threads = [threading.Thread(target=client, args=(tokens[k % 2], k)) for k in range(6)]
    for t in threads:
        t.start()
    try:
        time.sleep(2.0)
        before = len(acknowledged)
        server.kill(signal.SIGKILL)
        server.start()
        time.sleep(1.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)

    assert before > 0 and len(acknowledged) > before, "load ran on both sides of the kill"
    assert not failures
    stored = set(Order.objects.filter(pk__in=acknowledged).values_list("pk", flat=True))
    assert stored == set(acknowledged)
    assert len(acknowledged) == len(set(acknowledged))
