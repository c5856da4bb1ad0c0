"""The API does what its OpenAPI says: the statuses each operation declares,
the fixed values and ranges of its fields, and no value read from the wrong
type. Regressions of what ``scripts/fuzz-api`` (schemathesis) found."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from linli.core.models import User
from linli.core.services import token_issue
from linli.orders import services
from linli.orders.models import Order
from linli.site.testing import Cast


def api(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")


def post(user: User, url: str, body: Any) -> Any:
    return api(user).post(url, body, content_type="application/json")


@pytest.fixture
def openapi(db: None) -> dict[str, Any]:
    schema: dict[str, Any] = Client().get("/api/openapi.json").json()
    return schema


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_every_operation_declares_what_the_boundary_and_the_handlers_answer(openapi):
    for method, path, op in operations(openapi):
        codes = set(op["responses"])
        label = f"{method} {path}"
        # Any query string may hold text no field can store.
        assert "400" in codes, label
        if op.get("security"):
            assert "401" in codes, label
        if method == "post":
            assert {"413", "415"} <= codes, label
        if "{" in path:
            assert "404" in codes, label
        for code, answer in op["responses"].items():
            if code.startswith(("4", "5")):
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (label, code)
    assert "429" in openapi["paths"]["/api/v1/orders"]["post"]["responses"]
    assert "429" in openapi["paths"]["/api/v1/auth/token"]["post"]["responses"]


def test_fixed_values_ranges_and_required_text_are_in_the_schema(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["RevealIn"]["properties"]["field"]["enum"] == ["phone", "id_number", "address"]
    assert schemas["ResidentIn"]["properties"]["gender"]["enum"] == ["M", "F"]
    params = {
        (path, p["name"]): p["schema"]
        for path, item in openapi["paths"].items()
        for op in item.values()
        for p in op.get("parameters", [])
    }
    assert params[("/api/v1/residents", "age_group")]["enum"] == [
        "",
        "small_child",
        "child",
        "elderly",
        "aged",
    ]
    k = params[("/api/v1/orders/{order_id}/suggestions", "k")]
    assert (k["minimum"], k["maximum"]) == (1, 20)
    for name, prop in (("DeclineIn", "reason"), ("RejectIn", "reason"), ("RequiredNoteIn", "note")):
        field = schemas[name]["properties"][prop]
        assert field["minLength"] == 1 and field["pattern"] == r"\S", name
    one_of = schemas["DispatchIn"]["oneOf"]
    assert [branch["required"] for branch in one_of] == [["member"], ["team"]]


def test_an_undeclared_method_is_405_with_allow_in_the_one_shape(cast):
    r = api(cast.a.resident).generic("TRACE", "/api/v1/me")
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"
    assert r["Allow"] == "GET"


def test_unknown_age_group_is_400_like_an_unknown_status(cast):
    r = api(cast.a.dispatcher).get("/api/v1/residents", {"age_group": "teenager"})
    assert r.status_code == 400
    assert list(r.json()["fields"]) == ["age_group"]
    assert "elderly" in r.json()["fields"]["age_group"][0]
    r = api(cast.a.dispatcher).get("/api/v1/residents", {"age_group": "elderly"})
    assert r.status_code == 200


def test_a_number_is_not_read_as_a_date_a_flag_or_a_coordinate(cast):
    """Pydantic's lax mode read 0 as 1970-01-01 and false as 0.0: the fuzzer's finds."""
    good = {"name": "韦秀英", "gender": "F", "birth_date": "1944-03-05"}
    url = "/api/v1/residents"
    for bad, field in (
        ({"birth_date": 0}, "birth_date"),
        ({"lon": False, "lat": 22.9}, "lon"),
        ({"lat": "22.9"}, "lat"),
    ):
        r = post(cast.a.dispatcher, url, good | bad)
        assert r.status_code == 400 and field in r.json()["fields"], (bad, r.content)
    assert post(cast.a.dispatcher, url, good | {"lat": 22, "lon": 111}).status_code == 201
    r = post(cast.a.resident, "/api/v1/orders", {"item": "home_repair", "window_start": 0})
    assert r.status_code == 400 and "window_start" in r.json()["fields"]
    r = post(cast.a.dispatcher, "/api/v1/dispatch/batch", {"dry_run": 0})
    assert r.status_code == 400 and "dry_run" in r.json()["fields"]
    assert not Order.objects.exists()


def test_a_blank_required_reason_is_400_with_the_services_words(cast):
    order = services.order_place(actor=cast.a.resident, item="home_repair")
    r = post(cast.a.dispatcher, f"/api/v1/orders/{order.pk}/reject", {"reason": " \t "})
    assert r.status_code == 400
    assert r.json()["fields"]["reason"] == ["请说明驳回的原因。"]
    order.refresh_from_db()
    assert order.status == "submitted"


def test_unknown_reveal_field_is_400_before_anything_is_logged(cast: Cast):
    r = post(cast.a.dispatcher, f"/api/v1/residents/{cast.a.person.pk}/reveal", {"field": "name"})
    assert r.status_code == 400 and "phone" in r.json()["fields"]["field"][0]
