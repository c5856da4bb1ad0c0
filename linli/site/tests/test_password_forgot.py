"""Forgot password: a code by SMS (through the notification outbox), then a
new password. Same answer whether the account exists; codes hashed, expiring,
a few tries, one per account; requests rate limited; one winner per code."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import crypto, timezone

from linli.core import services as core_services
from linli.core.models import AuditLog, PasswordResetCode
from linli.core.services import reset_code_issue, reset_code_redeem
from linli.notify.models import Delivery, Notification
from linli.notify.services import outgoing
from linli.site.services import RESET_CODE_KIND
from linli.site.testing import RACE_MARKS, race

pytestmark = pytest.mark.django_db

FORGOT = "/accounts/password/forgot/"
CODE = "/accounts/password/code/"
NEW = "new-secret-58"

CHANNELS = ["linli.notify.channels.InboxChannel", "linli.notify.channels.WebhookChannel"]


@pytest.fixture(autouse=True)
def _setup(settings):
    cache.clear()
    # The city's SMS gateway is a channel with a delivery row per message.
    settings.LINLI_NOTIFY_CHANNELS = CHANNELS
    settings.LINLI_NOTIFY_WEBHOOK_URL = "http://127.0.0.1:9/sms"


def _ask(client: Client, who: str):
    return client.post(FORGOT, {"who": who})


def _sent_code(user) -> str:
    n = Notification.objects.filter(recipient=user, kind=RESET_CODE_KIND).latest("pk")
    assert n.params is not None
    return str(n.params["code"])


def _enter(client: Client, who: str, code: str, password: str = NEW):
    return client.post(
        CODE, {"who": who, "code": code, "password1": password, "password2": password}
    )


def _without_csrf(html: str) -> str:
    return re.sub(r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1", html)


def _logs_in(username: str, password: str) -> bool:
    r = Client().post(reverse("login"), {"username": username, "password": password})
    return r.status_code == 302


def test_login_page_links_to_forgot_password(cast):
    page = Client().get(reverse("login")).content.decode()
    assert FORGOT in page and "忘记密码" in page


def test_code_goes_through_the_outbox_to_the_sms_gateway(cast):
    user, phone = cast.a.resident, cast.a.person.phone
    r = _ask(Client(), phone)
    assert r.status_code == 302 and r["Location"] == CODE
    n = Notification.objects.get(recipient=user, kind=RESET_CODE_KIND)
    assert n.params is not None
    code = str(n.params["code"])
    assert len(code) == 6 and code.isdigit()
    delivery = Delivery.objects.get(notification=n)
    assert delivery.channel == "webhook" and delivery.status == Delivery.Status.PENDING
    text = outgoing(n).text
    assert code in text and "10 分钟" in text
    # Stored hashed only.
    row = PasswordResetCode.objects.get(user=user)
    assert code not in row.code_hash
    assert row.code_hash == PasswordResetCode.hash(user.pk, code)


def test_right_code_sets_the_password_and_logs_in(cast):
    user = cast.a.resident
    client = Client()
    _ask(client, user.username)
    page = client.get(CODE).content.decode()
    assert user.username in page  # what they typed is filled in
    r = _enter(client, user.username, _sent_code(user))
    assert r.status_code == 302 and r["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200  # logged in
    assert _logs_in(user.username, NEW)
    row = PasswordResetCode.objects.get(user=user)
    assert row.used_at is not None
    entry = AuditLog.objects.get(action=AuditLog.Action.PASSWORD_RESET)
    assert entry.actor == user and entry.target_id == user.pk
    # Used: the same code works no second time.
    again = _enter(Client(), user.username, _sent_code(user), "another-one-77")
    assert again.status_code == 200 and again.context["form"].errors["code"]


def test_unknown_phone_gets_the_same_answer(cast):
    known, unknown = Client(), Client()
    r1 = _ask(known, cast.a.person.phone)
    r2 = _ask(unknown, "13900000000")
    assert (r1.status_code, r1["Location"]) == (r2.status_code, r2["Location"])
    p1 = known.get(CODE).content.decode().replace(cast.a.person.phone, "WHO")
    p2 = unknown.get(CODE).content.decode().replace("13900000000", "WHO")
    assert _without_csrf(p1) == _without_csrf(p2)
    assert "验证码已经发到登记的手机上" in p1
    assert Notification.objects.filter(kind=RESET_CODE_KIND).count() == 1
    # And the code step fails alike for an account that does not exist.
    r = _enter(unknown, "13900000000", "123456")
    assert r.status_code == 200
    assert r.context["form"].errors["code"] == [
        "验证码不正确或已失效。请检查短信里的验证码，或重新获取一个。"
    ]


def test_weak_password_is_refused_alike_and_spends_no_attempt(cast):
    user = cast.a.resident
    client = Client()
    _ask(client, user.username)
    for who in (user.username, "no-such-person"):
        r = _enter(client, who, "000000", "123")
        assert r.context["form"].errors["password1"]
        assert "code" not in r.context["form"].errors
    assert PasswordResetCode.objects.get(user=user).attempts_left == 5


def test_wrong_codes_spend_attempts_then_void_the_code(cast, settings):
    settings.LINLI_RESET_CODE_ATTEMPTS = 3
    user = cast.a.resident
    client = Client()
    _ask(client, user.username)
    code = _sent_code(user)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (2, 1, 0):
        r = _enter(client, user.username, wrong)
        assert r.context["form"].errors["code"]
        assert PasswordResetCode.objects.get(user=user).attempts_left == left
    # Void: even the right code is refused now.
    r = _enter(client, user.username, code)
    assert r.status_code == 200 and r.context["form"].errors["code"]
    assert not _logs_in(user.username, NEW)


def test_expired_code_is_refused(cast):
    user = cast.a.resident
    client = Client()
    _ask(client, user.username)
    code = _sent_code(user)
    row = PasswordResetCode.objects.get(user=user)
    assert row.expires_at - row.created_at == dt.timedelta(minutes=10)
    # Move the clock past the expiry (the code's own "now").
    assert not reset_code_redeem(user=user, code=code, now=row.expires_at + dt.timedelta(seconds=1))
    PasswordResetCode.objects.filter(pk=row.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    r = _enter(client, user.username, code)
    assert r.status_code == 200 and r.context["form"].errors["code"]
    assert not _logs_in(user.username, NEW)


def test_a_new_request_replaces_the_old_code(cast):
    user = cast.a.resident
    client = Client()
    _ask(client, user.username)
    first = _sent_code(user)
    _ask(client, user.username)
    second = _sent_code(user)
    assert PasswordResetCode.objects.filter(user=user).count() == 1
    if first != second:
        r = _enter(client, user.username, first)
        assert r.context["form"].errors["code"]
    assert _enter(client, user.username, second).status_code == 302


def test_requests_are_rate_limited(cast, settings):
    settings.LINLI_RATE_PASSWORD_RESET = "2/h"
    client = Client()
    assert _ask(client, "13900000001").status_code == 302
    assert _ask(client, "13900000002").status_code == 302
    r = _ask(client, cast.a.person.phone)
    assert r.status_code == 429
    assert "请求太频繁" in r.content.decode()
    assert not Notification.objects.filter(kind=RESET_CODE_KIND).exists()


def test_rate_limited_by_what_is_asked_for_from_any_address(cast, settings):
    settings.LINLI_RATE_PASSWORD_RESET = "2/h"
    phone = cast.a.person.phone
    for i in range(2):
        assert Client(REMOTE_ADDR=f"10.0.0.{i + 1}").post(FORGOT, {"who": phone}).status_code == 302
    assert Client(REMOTE_ADDR="10.0.0.9").post(FORGOT, {"who": phone}).status_code == 429
    assert Notification.objects.filter(kind=RESET_CODE_KIND).count() == 2


def test_reset_lifts_the_lockout(cast, settings):
    settings.AXES_FAILURE_LIMIT = 2
    user = cast.a.resident
    browser = Client()
    for _ in range(2):
        browser.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert (
        browser.post(reverse("login"), {"username": user.username, "password": NEW}).status_code
        == 429
    )
    _ask(browser, user.username)
    assert _enter(browser, user.username, _sent_code(user)).status_code == 302
    browser.post(reverse("logout"))
    assert (
        browser.post(reverse("login"), {"username": user.username, "password": NEW}).status_code
        == 302
    )


def test_the_code_is_kept_out_of_the_logs(cast, caplog):
    user = cast.a.resident
    client = Client()
    with caplog.at_level(logging.DEBUG):
        _ask(client, user.username)
        code = _sent_code(user)
        _enter(client, user.username, code)
    assert caplog.records
    assert not [r for r in caplog.records if code in r.getMessage()]


def test_two_verifications_interleaved_only_one_wins(cast, monkeypatch):
    """SQLite has no concurrent writers, so the race is played out by hand:
    the second request runs whole while the first sits between spending its
    attempt and claiming the code. The claim is an UPDATE … WHERE used_at IS
    NULL, so only one of them touches the row. (Real threads race it below,
    on PostgreSQL.)"""
    user = cast.a.resident
    code = reset_code_issue(user=user)
    # reset_code_redeem imports it when it runs: patch it at its source.
    assert "constant_time_compare" not in vars(core_services)

    real = crypto.constant_time_compare
    results: list[bool] = []

    def interleave(a: str, b: str) -> bool:
        monkeypatch.setattr(crypto, "constant_time_compare", real)
        results.append(reset_code_redeem(user=user, code=code))  # the other request
        return real(a, b)

    monkeypatch.setattr(crypto, "constant_time_compare", interleave)
    results.insert(0, reset_code_redeem(user=user, code=code))
    assert sorted(results) == [False, True]
    assert results == [False, True]  # the one that claimed first won
    row = PasswordResetCode.objects.get(user=user)
    assert row.used_at is not None and row.attempts_left == 3


@pytest.mark.parametrize("n", [2, 4])
@RACE_MARKS[0]
@RACE_MARKS[1]
def test_racing_threads_redeem_a_code_once(cast, n):
    user = cast.a.resident
    code = reset_code_issue(user=user)
    outcomes = race([lambda: reset_code_redeem(user=user, code=code) for _ in range(n)])
    assert sorted(outcomes) == [False] * (n - 1) + [True], outcomes
