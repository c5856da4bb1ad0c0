"""Abuse limits: rate limits (429 in the one error shape), the body size limit
(413), security headers, and the request id on error pages and in the logs."""

from __future__ import annotations

import json
import logging
import os
import uuid
from urllib.parse import urlencode

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client

from linli.core import ratelimit
from linli.core.logging import JsonFormatter
from linli.core.ratelimit import parse_rate
from linli.core.services import token_issue
from linli.orders.models import Order
from linli.site.testing import Cast, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()
    yield
    cache.clear()


URLENCODED = "application/x-www-form-urlencoded"
FORM = urlencode({"description": "x" * 5000})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Day-long windows: a window that closes mid-test would reset the count.
def test_order_placement_is_limited_per_account(cast: Cast, settings) -> None:
    settings.LINLI_RATE_ORDER_PLACE = "3/d"
    client = Client()
    token = token_issue(user=cast.a.resident)
    body = json.dumps({"item": "home_repair"})
    statuses = [
        client.post("/api/v1/orders", body, content_type="application/json", headers=bearer(token))
        for _ in range(4)
    ]
    assert [r.status_code for r in statuses] == [201, 201, 201, 429]
    refused = statuses[-1].json()
    assert refused["code"] == "rate_limited" and refused["fields"] == {}
    assert "秒后再试" in refused["message"]
    assert Order.objects.filter(placed_by=cast.a.resident).count() == 3
    # Another account still has its own allowance.
    other = token_issue(user=cast.b.resident)
    response = client.post(
        "/api/v1/orders", body, content_type="application/json", headers=bearer(other)
    )
    assert response.status_code == 201


def test_token_endpoint_is_limited_per_client_address(cast: Cast, settings) -> None:
    settings.LINLI_RATE_TOKEN = "2/d"
    cast.a.resident.set_password("pw-for-the-limit")
    cast.a.resident.save()
    client = Client()
    body = json.dumps({"username": cast.a.resident.username, "password": "pw-for-the-limit"})
    codes = [
        client.post("/api/v1/auth/token", body, content_type="application/json").status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert (
        other.post("/api/v1/auth/token", body, content_type="application/json").status_code == 200
    )


def test_proxied_client_address_is_the_one_the_proxy_appended(cast: Cast, settings) -> None:
    settings.LINLI_RATE_TOKEN = "1/d"
    settings.LINLI_PROXY_COUNT = 1
    body = json.dumps({"username": "nobody", "password": "x"})

    def post(xff: str) -> int:
        return (
            Client()
            .post(
                "/api/v1/auth/token",
                body,
                content_type="application/json",
                HTTP_X_FORWARDED_FOR=xff,
            )
            .status_code
        )

    assert post("1.1.1.1") == 401
    # A forged first hop does not buy a new allowance: the proxy's entry counts.
    assert post("9.9.9.9, 1.1.1.1") == 429
    assert post("2.2.2.2") == 401


def test_parse_rate() -> None:
    assert parse_rate("30/m") == (30, 60)
    assert parse_rate("5/h") == (5, 3600)
    with pytest.raises(ValueError):
        parse_rate("lots")


def test_api_body_over_the_limit_is_refused_with_413(cast: Cast, settings) -> None:
    settings.LINLI_MAX_BODY_BYTES = 1024
    token = token_issue(user=cast.a.resident)
    body = json.dumps({"item": "home_repair", "description": "漏" * 1000})
    response = Client().post(
        "/api/v1/orders", body, content_type="application/json", headers=bearer(token)
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert set(response.json()) == {"code", "message", "fields"}
    assert not Order.objects.exists()
    small = json.dumps({"item": "home_repair", "description": "漏水"})
    assert (
        Client()
        .post("/api/v1/orders", small, content_type="application/json", headers=bearer(token))
        .status_code
        == 201
    )


def test_page_body_over_the_limit_gets_the_error_page(cast: Cast, settings) -> None:
    settings.LINLI_MAX_BODY_BYTES = 1024
    client = client_for(cast.a.resident)
    response = client.post("/orders/new/home_repair/", FORM, content_type=URLENCODED)
    assert response.status_code == 413
    assert "内容太大" in response.content.decode()
    assert response["X-Request-ID"] in response.content.decode()


def test_uploads_have_their_own_larger_limit(cast: Cast, settings) -> None:
    settings.LINLI_MAX_BODY_BYTES = 1024
    settings.LINLI_MAX_UPLOAD_BYTES = 1024 * 1024
    client = client_for(cast.a.resident)
    assert client.post("/orders/new/home_repair/", FORM, content_type=URLENCODED).status_code == 413
    # multipart (as file uploads are sent: the test client's default) reaches the view.
    response = client.post("/orders/new/home_repair/", {"description": "x" * 5000})
    assert response.status_code not in (413, 500)


def test_security_headers_on_pages(client: Client) -> None:
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self' 'unsafe-eval'" in csp and "'unsafe-inline'" not in csp.split(";")[1]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_request_id_is_taken_from_the_proxy_only_when_sane(client: Client) -> None:
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abcdef0123456789")
    assert given["X-Request-ID"] == "abcdef0123456789"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert forged["X-Request-ID"] != "<script>" and len(forged["X-Request-ID"]) == 32


def test_error_page_shows_the_request_id(cast: Cast) -> None:
    client = client_for(cast.a.resident)
    response = client.get("/orders/999999/")
    assert response.status_code == 404
    assert response["X-Request-ID"] in response.content.decode()


def test_a_bug_is_logged_with_its_traceback_and_answered_with_the_request_id(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, settings
) -> None:
    from linli.orders import selectors

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "order_list", broken)
    token = token_issue(user=cast.a.resident)
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="linli.error"):
        response = client.get("/api/v1/orders", headers=bearer(token))
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "server_error" and response["X-Request-ID"] in body["message"]
    (record,) = [r for r in caplog.records if r.name == "linli.error"]
    line = json.loads(JsonFormatter().format(record))
    assert "RuntimeError: a bug" in line["exc"]


def test_request_log_line_is_one_json_object(cast: Cast, caplog: pytest.LogCaptureFixture) -> None:
    token = token_issue(user=cast.a.resident)
    with caplog.at_level(logging.INFO, logger="linli.request"):
        response = Client().get("/api/v1/orders", headers=bearer(token))
    (record,) = [r for r in caplog.records if r.name == "linli.request"]
    line = json.loads(JsonFormatter().format(record))
    assert line["status"] == 200 and line["method"] == "GET" and line["path"] == "/api/v1/orders"
    assert line["user_id"] == cast.a.resident.pk
    assert isinstance(line["duration_ms"], float)
    assert line["logger"] == "linli.request" and line["level"] == "INFO"
    assert response["X-Request-ID"]


def test_counts_in_redis_are_shared_and_expire(settings) -> None:
    """Production counts in Redis (one round trip a request): every process
    sees one count, and the window's key expires with the window."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("LINLI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "KEY_PREFIX": f"linli-test-{uuid.uuid4().hex}",
        }
    }
    redis = caches["default"]
    assert isinstance(redis, RedisCache)
    try:
        assert [ratelimit.hit("t", "k", "2/h") for _ in range(2)] == [None, None]
        wait = ratelimit.hit("t", "k", "2/h")
        assert wait is not None and 1 <= wait <= 3600
        assert ratelimit.hit("t", "other", "2/h") is None
        # Django's cache reads the same count, and the key expires.
        key = next(iter(redis._cache.get_client().scan_iter(f"{redis.key_prefix}*rl:t:k:*")))
        assert redis._cache.get_client().ttl(key) in range(1, 3602)
        window = key.decode().rsplit(":", 1)[1]
        assert redis.get(f"rl:t:k:{window}") == 3
    finally:
        client = redis._cache.get_client(write=True)
        for stale in client.scan_iter(f"{redis.key_prefix}*"):
            client.delete(stale)
        redis.close()
