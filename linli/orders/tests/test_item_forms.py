"""Each catalog item asks the form it needs: the page, the API, the admin and the
service share one definition (``ServiceItem.form``) and one check of the answers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation

from linli.core.services import token_issue
from linli.orders import attributes, services
from linli.orders.catalog import install_optional_items
from linli.orders.models import Order, ServiceItem, Urgency
from linli.site.testing import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def birthday(cast: Cast) -> ServiceItem:
    install_optional_items([cast.a.center])
    item = ServiceItem.objects.get(code=f"birthday-{cast.a.center.code}"[:32])
    item.clean()  # the seed's definition is a valid one
    return item


def _resident(cast: Cast) -> Client:
    client = Client()
    client.force_login(cast.a.resident)
    return client


def test_birthday_page_asks_the_date_and_guests_and_no_urgency(cast: Cast, birthday) -> None:
    page = _resident(cast).get(f"/orders/new/{birthday.code}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="date"' in html and 'type="date"' in html
    assert 'name="attr_guests"' in html and "来宾人数" in html
    assert 'name="urgency"' not in html and "紧急程度" not in html
    assert 'name="address"' not in html
    # A home repair still asks the address and the urgency.
    repair = _resident(cast).get("/orders/new/home_repair/").content.decode()
    assert 'name="urgency"' in repair and 'name="address"' in repair and 'name="attr_' not in repair


def test_birthday_order_from_the_page_is_scheduled_for_that_day(cast: Cast, birthday) -> None:
    day = timezone.localdate() + dt.timedelta(days=10)
    client = _resident(cast)
    missing = client.post(
        f"/orders/new/{birthday.code}/", {"resident": cast.a.person.pk, "date": day}
    )
    assert missing.status_code == 400 and "来宾人数" in missing.content.decode()
    assert not Order.objects.exists()
    response = client.post(
        f"/orders/new/{birthday.code}/",
        {
            "resident": cast.a.person.pk,
            "date": day.isoformat(),
            "attr_guests": "30",
            "attr_celebrants": "曾庆宝",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    assert order.urgency == Urgency.SCHEDULED
    assert order.attributes == {"guests": 30, "celebrants": "曾庆宝"}
    assert timezone.localtime(order.window_start).date() == day
    assert timezone.localtime(order.window_start).time() == attributes.DAY_OPENS
    # The answers on the order page, in each language.
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "来宾人数" in page and ">30<" in page
    with translation.override("en"):
        english = client.get(f"/orders/{order.pk}/", headers={"accept-language": "en"})
    assert "Number of guests" in english.content.decode()


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({}, "attributes.guests"),
        ({"guests": 0}, "attributes.guests"),
        ({"guests": 201}, "attributes.guests"),
        ({"guests": "many"}, "attributes.guests"),
        ({"guests": 5, "pets": 2}, "attributes.pets"),
    ],
)
def test_api_refuses_answers_that_do_not_fit(cast: Cast, birthday, answers, field) -> None:
    token = token_issue(user=cast.a.resident)
    start = timezone.now() + dt.timedelta(days=3)
    body = {
        "item": birthday.code,
        "window_start": start.isoformat(),
        "window_end": (start + dt.timedelta(hours=3)).isoformat(),
        "attributes": answers,
    }
    response = Client().post(
        "/api/v1/orders", json.dumps(body), content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not Order.objects.exists()


def test_api_places_with_answers_and_the_catalog_shows_the_form(cast: Cast, birthday) -> None:
    token = token_issue(user=cast.a.resident)
    auth = {"Authorization": f"Bearer {token}"}
    catalog = Client().get("/api/v1/catalog", headers=auth).json()
    form = next(i for i in catalog if i["code"] == birthday.code)["form"]
    assert form["when"] == "date" and form["address"] is False
    guests = next(f for f in form["fields"] if f["code"] == "guests")
    assert guests == {**guests, "type": "number", "required": True, "min": 1, "max": 200}
    repair = next(i for i in catalog if i["code"] == "home_repair")["form"]
    assert repair == {"when": "urgency", "address": True, "fields": []}
    start = timezone.now() + dt.timedelta(days=3)
    body = {
        "item": birthday.code,
        "urgency": "urgent",  # a booked item is scheduled whatever is asked
        "window_start": start.isoformat(),
        "window_end": (start + dt.timedelta(hours=3)).isoformat(),
        "attributes": {"guests": 12},
    }
    response = Client().post(
        "/api/v1/orders", json.dumps(body), content_type="application/json", headers=auth
    )
    assert response.status_code == 201, response.content
    assert response.json()["attributes"] == {"guests": 12}
    assert response.json()["urgency"] == "scheduled"


def test_service_checks_answers_for_every_channel(cast: Cast, birthday) -> None:
    start = timezone.now() + dt.timedelta(days=3)
    with pytest.raises(services.InvalidInput) as exc:
        services.order_place(
            actor=cast.a.dispatcher, resident_id=cast.a.person.pk, item=birthday.code,
            window_start=start, window_end=start + dt.timedelta(hours=2), attributes={"guests": -1},
        )  # fmt: skip
    assert "attributes.guests" in exc.value.fields
    # No window: a booked item needs its day.
    with pytest.raises(services.InvalidInput) as exc:
        services.order_place(actor=cast.a.resident, item=birthday.code, attributes={"guests": 3})
    assert "window_start" in exc.value.fields
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"when": "someday"},
        {"address": "yes"},
        {"colour": "red"},
        {"fields": [{"code": "a b", "type": "text", "label": "甲"}]},
        {"fields": [{"code": "n", "type": "number", "label": "数", "min": 5, "max": 1}]},
        {"fields": [{"code": "c", "type": "choice", "label": "选"}]},
        {"fields": [{"code": "x", "type": "colour", "label": "色"}]},
        {"fields": [{"code": "x", "type": "text"}]},
        {
            "fields": [
                {"code": "x", "type": "text", "label": "一"},
                {"code": "x", "type": "text", "label": "二"},
            ]
        },
    ],
)
def test_a_broken_definition_is_refused(bad) -> None:
    with pytest.raises(ValidationError):
        attributes.parse(bad)


def test_admin_refuses_a_broken_definition_with_a_form_error(cast: Cast, birthday) -> None:
    admin = Client()
    cast.city.is_superuser = cast.city.is_staff = True
    cast.city.save()
    admin.force_login(cast.city)
    url = f"/admin/orders/serviceitem/{birthday.pk}/change/"
    page = admin.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        k: ("" if v is None else v)
        for k, v in form.initial.items()
        if k in form.fields and not isinstance(v, list | dict)
    }
    data.update(
        form='{"when": "someday"}', skill=birthday.skill_id, community=birthday.community_id
    )
    data = {k: v for k, v in data.items() if v is not False}
    response = admin.post(url, data)
    assert response.status_code == 200
    assert "form" in response.context["adminform"].form.errors
    birthday.refresh_from_db()
    assert birthday.form["when"] == "date"
