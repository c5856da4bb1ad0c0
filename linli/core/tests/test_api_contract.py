"""The API does what its OpenAPI says: the statuses each operation declares,
the fixed values and ranges of its fields, and no value read from the wrong
type. Regressions of what ``scripts/fuzz-api`` (schemathesis) found."""

from __future__ import annotations

from django.test import Client

from linli.core.models import User
from linli.core.services import token_issue


def api(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")


def test_an_undeclared_method_is_405_with_allow_in_the_one_shape(cast):
    r = api(cast.a.resident).generic("TRACE", "/api/v1/me")
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"
    assert r["Allow"] == "GET"
