"""The login page and the token endpoint count down the tries left, then say
plainly how long the lock lasts and what to do."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from linli.core.lockout import lockout_clear
from linli.core.models import User

PASSWORD = "correct-horse-9"
TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def dispatcher(cast) -> User:
    user = cast.a.dispatcher
    user.set_password(PASSWORD)
    user.save()
    return user


def _login(client: Client, username: str, password: str, lang: str = "zh-hans"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        HTTP_ACCEPT_LANGUAGE=lang,
    )


def test_wrong_password_counts_down_then_locks(dispatcher, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    first = _login(client, dispatcher.username, "nope")
    assert first.status_code == 200
    assert "用户名或密码不正确，还可尝试 2 次。" in first.content.decode()
    second = _login(client, dispatcher.username, "nope")
    assert "用户名或密码不正确，还可尝试 1 次。" in second.content.decode()
    third = _login(client, dispatcher.username, "nope")
    assert third.status_code == 429
    page = third.content.decode()
    assert "账号已锁定 15 分钟" in page
    assert "社区服务台" in page
    assert reverse("password_forgot") in page
    # Locked: the right password is refused too.
    assert _login(client, dispatcher.username, PASSWORD).status_code == 429


def test_countdown_and_lock_in_english(dispatcher, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = 0.5
    client = Client()
    page = _login(client, dispatcher.username, "nope", "en").content.decode()
    assert "Wrong username or password. 1 try left." in page
    locked = _login(client, dispatcher.username, "nope", "en")
    assert locked.status_code == 429
    assert "locked for 30 minutes" in locked.content.decode()


def test_an_unknown_username_counts_down_alike(cast):
    # The count says nothing about whether the account exists.
    page = _login(Client(), "nobody-here", "nope").content.decode()
    assert "还可尝试 4 次" in page


def test_clearing_the_lockout_lets_the_right_password_in(dispatcher, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    _login(client, dispatcher.username, "nope")
    _login(client, dispatcher.username, "nope")
    assert _login(client, dispatcher.username, PASSWORD).status_code == 429
    assert lockout_clear(dispatcher) >= 1
    assert _login(client, dispatcher.username, PASSWORD).status_code == 302


def test_token_endpoint_counts_down_in_the_one_error_shape(dispatcher, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    r = client.post(
        TOKEN_URL,
        {"username": dispatcher.username, "password": "x"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 401
    assert r.json() == {
        "code": "unauthorized",
        "message": "Wrong username or password. 1 try left.",
        "fields": {},
    }
    r = client.post(
        TOKEN_URL,
        {"username": dispatcher.username, "password": "x"},
        content_type="application/json",
    )
    assert r.status_code == 429
    body = r.json()
    assert body["code"] == "locked_out" and body["fields"] == {}
    assert "账号已锁定 15 分钟" in body["message"]
