"""The desk resets a forgotten password: a dispatcher for their community's
residents, the city for all; audited, never with the password; the lock lifted."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from linli.core.models import AuditLog
from linli.site.testing import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def _url(resident) -> str:
    return reverse("people:password", args=[resident.pk])


def _logs_in(username: str, password: str) -> bool:
    r = Client().post(reverse("login"), {"username": username, "password": password})
    return r.status_code == 302


def test_dispatcher_resets_own_resident_with_a_generated_password(cast):
    person, account = cast.a.person, cast.a.resident
    staff = client_for(cast.a.dispatcher)
    detail = staff.get(reverse("people:detail", args=[person.pk])).content.decode()
    assert _url(person) in detail  # the button
    assert staff.get(_url(person)).status_code == 200
    r = staff.post(_url(person), {"password": ""})
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    password = r.context["password"]
    assert len(password) == 9 and password in r.content.decode()
    assert _logs_in(account.username, password)
    entry = AuditLog.objects.get(action=AuditLog.Action.PASSWORD_RESET)
    assert entry.actor == cast.a.dispatcher
    assert (entry.target_type, entry.target_id, entry.field) == (
        "core.user",
        account.pk,
        "password",
    )
    assert str(person.pk) in entry.detail
    assert password not in entry.detail


def test_typed_password_is_validated_then_set(cast):
    person, account = cast.a.person, cast.a.resident
    staff = client_for(cast.a.dispatcher)
    r = staff.post(_url(person), {"password": "123"})
    assert r.status_code == 200 and "password" not in r.context
    assert r.context["form"].errors["password"]
    assert not AuditLog.objects.filter(action=AuditLog.Action.PASSWORD_RESET).exists()
    r = staff.post(_url(person), {"password": "baihua-desk-77"})
    assert r.context["password"] == "baihua-desk-77"
    assert _logs_in(account.username, "baihua-desk-77")


def test_city_resets_any_community(cast):
    r = client_for(cast.city).post(_url(cast.b.person), {"password": ""})
    assert r.status_code == 200
    assert _logs_in(cast.b.resident.username, r.context["password"])


def test_other_community_answers_404(cast):
    staff = client_for(cast.a.dispatcher)
    assert staff.get(_url(cast.b.person)).status_code == 404
    assert staff.post(_url(cast.b.person), {"password": ""}).status_code == 404
    assert not AuditLog.objects.filter(action=AuditLog.Action.PASSWORD_RESET).exists()


@pytest.mark.parametrize("role", ["resident", "volunteer", "leader", "school"])
def test_other_roles_may_not_reset(cast, role):
    client = client_for(cast.a.users[role])
    person = cast.a.person
    assert client.get(_url(person)).status_code == 403
    assert client.post(_url(person), {"password": ""}).status_code == 403
    if role == "leader":  # sees residents, but no reset button
        detail = client.get(reverse("people:detail", args=[person.pk])).content.decode()
        assert _url(person) not in detail
    assert not AuditLog.objects.filter(action=AuditLog.Action.PASSWORD_RESET).exists()


def test_staff_accounts_are_not_reset_at_the_desk(cast):
    person = cast.a.person
    person.account = cast.a.leader
    person.save(update_fields=["account"])
    r = client_for(cast.a.dispatcher).post(_url(person), {"password": ""})
    assert r.status_code == 409
    assert "管理后台" in r.content.decode()


def test_reset_lifts_the_lockout(cast, settings):
    settings.AXES_FAILURE_LIMIT = 2
    account = cast.a.resident
    browser = Client()
    for _ in range(2):
        browser.post(reverse("login"), {"username": account.username, "password": "wrong"})
    r = client_for(cast.a.dispatcher).post(_url(cast.a.person), {"password": "fresh-start-42"})
    assert r.status_code == 200
    login = browser.post(
        reverse("login"), {"username": account.username, "password": "fresh-start-42"}
    )
    assert login.status_code == 302
