"""One set of limits for what people write on an order: the page's forms, the
API's schemas, the page's text areas and the services take them from the
models, and refuse the same too-long value."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django import forms

from linli.orders import services
from linli.orders.forms import CallbackForm, DispatchForm, NoteForm, PlaceForm, RateForm, ReasonForm
from linli.orders.models import FollowUp, Order, OrderEvent, Rating, Slot
from linli.orders.tests.test_api import act, order_at, post
from linli.site.testing import client_for

pytestmark = pytest.mark.django_db


def column(model: Any, name: str) -> int:
    return model._meta.get_field(name).max_length


# (the model's limit, the page form's field, the API schema's property)
LIMITS: list[tuple[int, tuple[type[forms.Form], str], tuple[str, str]]] = [
    (column(Order, "description"), (PlaceForm, "description"), ("OrderIn", "description")),
    (column(Order, "address"), (PlaceForm, "address"), ("OrderIn", "address")),
    (column(OrderEvent, "note"), (DispatchForm, "note"), ("DispatchIn", "note")),
    (OrderEvent.REASON_MAX, (ReasonForm, "reason"), ("DeclineIn", "reason")),
    (OrderEvent.REASON_MAX, (ReasonForm, "reason"), ("RejectIn", "reason")),
    (OrderEvent.REASON_MAX, (ReasonForm, "reason"), ("OptionalReasonIn", "reason")),
    (column(Slot, "note"), (NoteForm, "note"), ("NoteIn", "note")),
    (column(FollowUp, "note"), (NoteForm, "note"), ("RequiredNoteIn", "note")),
    (column(Rating, "comment"), (RateForm, "comment"), ("RatingIn", "comment")),
    (column(Rating, "comment"), (CallbackForm, "comment"), ("RatingIn", "comment")),
]


def _max_length(prop: dict[str, Any]) -> int:
    if "maxLength" in prop:
        return prop["maxLength"]
    [limit] = [p["maxLength"] for p in prop["anyOf"] if "maxLength" in p]
    return limit


def test_each_limit_is_the_models_on_page_and_api(client, cast):
    client.force_login(cast.city)
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    for limit, (form, field), (schema, prop) in LIMITS:
        form_field = form.base_fields[field]
        assert isinstance(form_field, forms.CharField), (form, field)
        assert form_field.max_length == limit, (form, field)
        assert _max_length(schemas[schema]["properties"][prop]) == limit, (schema, prop)
    assert services.REASON_MAX == OrderEvent.REASON_MAX
    assert services.DESCRIPTION_MAX == column(Order, "description")
    assert services.DISPATCH_NOTE_MAX == column(OrderEvent, "note")


def test_the_pages_text_areas_carry_the_same_limits(cast):
    order = order_at(cast, "submitted")
    html = client_for(cast.a.dispatcher).get(f"/orders/{order.pk}/").content.decode()
    areas = {}
    for tag in re.findall(r"<(?:textarea|input)[^>]*>", html):
        name, limit = re.search(r'name="(\w+)"', tag), re.search(r'maxlength="(\d+)"', tag)
        if name and limit:
            areas[name.group(1)] = limit.group(1)
    assert int(areas["reason"]) == OrderEvent.REASON_MAX
    assert int(areas["note"]) == column(OrderEvent, "note")  # the dispatch note


def test_page_api_and_service_refuse_the_same_too_long_dispatch_note(cast):
    """The note that was 500 on the page and 2,000 in the API."""
    limit = column(OrderEvent, "note")
    order = order_at(cast, "submitted")
    fine, long = "派" * limit, "派" * (limit + 1)
    target = {"member": cast.a.member.pk}
    assert act(cast.a.dispatcher, order, "dispatch", {**target, "note": long}).status_code == 400
    page = client_for(cast.a.dispatcher).post(
        f"/orders/{order.pk}/dispatch/", {"target": f"m{cast.a.member.pk}", "note": long}
    )
    assert page.status_code == 400
    with pytest.raises(services.InvalidInput):
        services.order_dispatch(
            actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk, note=long
        )
    r = act(cast.a.dispatcher, order, "dispatch", {**target, "note": fine})
    assert r.status_code == 200 and r.json()["timeline"][-1]["note"] == fine


def test_a_too_long_address_is_refused_not_cut(cast):
    limit = column(Order, "address")
    r = post(
        cast.a.resident, "/api/v1/orders", {"item": "home_repair", "address": "路" * (limit + 1)}
    )
    assert r.status_code == 400 and "address" in r.json()["fields"]
    with pytest.raises(services.InvalidInput) as exc:
        services.order_place(actor=cast.a.resident, item="home_repair", address="路" * (limit + 1))
    assert "address" in exc.value.fields
    assert not Order.objects.exists()
