from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from linli.core.models import ApiToken, User

PASSWORD = "correct-horse-9"


@pytest.fixture
def dispatcher(cast) -> User:
    user = cast.a.dispatcher
    user.set_password(PASSWORD)
    user.save()
    return user


def test_passwords_are_hashed_with_argon2(dispatcher):
    assert dispatcher.password.startswith("argon2$")


def test_login_page_logs_in_and_out(dispatcher):
    client = Client()
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "登录" in response.content.decode()
    response = client.post(
        reverse("login"), {"username": dispatcher.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_shows_form_error(dispatcher):
    response = Client().post(
        reverse("login"), {"username": dispatcher.username, "password": "nope"}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_repeated_failures_lock_the_account(dispatcher, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": dispatcher.username, "password": "nope"})
    # Even the right password is refused while locked.
    response = client.post(
        reverse("login"), {"username": dispatcher.username, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "锁定" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_api_token_lockout(dispatcher, settings):
    client = Client()
    url = "/api/v1/auth/token"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        r = client.post(
            url, {"username": dispatcher.username, "password": "x"}, content_type="application/json"
        )
        assert r.status_code in (401, 429)
    r = client.post(
        url,
        {"username": dispatcher.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert r.status_code == 429
    assert r.json()["code"] == "locked_out"
    assert not ApiToken.objects.exists()


def test_token_is_stored_hashed_and_works(dispatcher):
    client = Client()
    r = client.post(
        "/api/v1/auth/token",
        {"username": dispatcher.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert r.status_code == 200
    key = r.json()["token"]
    stored = ApiToken.objects.get(user=dispatcher)
    assert stored.key_hash != key and stored.key_hash == ApiToken.hash(key)
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert me.status_code == 200
    assert me.json()["username"] == dispatcher.username
    assert me.json()["community"]["code"] == "baihua"


def test_revoked_token_is_refused(dispatcher):
    client = Client()
    key = client.post(
        "/api/v1/auth/token",
        {"username": dispatcher.username, "password": PASSWORD},
        content_type="application/json",
    ).json()["token"]
    assert (
        client.delete("/api/v1/auth/token", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 204
    )
    r = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert r.status_code == 401
    assert r.json() == {"code": "unauthorized", "message": r.json()["message"], "fields": {}}


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nonsense", "Token abc"])
def test_missing_or_bad_token_is_401(cast, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    r = Client().get("/api/v1/me", **extra)
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"


def test_token_request_validation_is_400_with_fields(cast):
    r = Client().post("/api/v1/auth/token", {"username": ""}, content_type="application/json")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"username", "password"}


def test_malformed_json_is_400(cast):
    r = Client().post("/api/v1/auth/token", "{not json", content_type="application/json")
    assert r.status_code == 400
    assert r.json()["code"] == "invalid"


def test_english_messages(dispatcher):
    r = Client().post(
        "/api/v1/auth/token",
        {"username": dispatcher.username, "password": "x"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.json()["message"] == "Wrong username or password. 4 tries left."
