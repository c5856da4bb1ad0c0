"""The GeoReport v2 endpoint: formats, keys, jurisdictions, errors, the caller."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from django.test import Client as HttpClient
from django.test import override_settings

from linli.core.errors import Conflict
from linli.open311.services import client_revoke, service_attributes
from linli.open311.tests.helpers import BASE, key_for, post_request
from linli.orders import services as orders
from linli.orders.models import Order, OrderStatus, ServiceItem
from linli.site.testing import Cast

pytestmark = pytest.mark.django_db

REQUEST_FIELDS = {
    "service_request_id": str,
    "status": str,
    "status_notes": str,
    "service_name": str,
    "service_code": str,
    "agency_responsible": str,
    "requested_datetime": str,
    "updated_datetime": str,
    "expected_datetime": str,
    "address": str,
    "lat": float,
    "long": float,
}


@pytest.fixture
def http() -> HttpClient:
    return HttpClient(HTTP_HOST="127.0.0.1")


def _errors_json(response) -> list[dict]:
    body = response.json()
    assert isinstance(body, list) and body, body
    for e in body:
        assert set(e) == {"code", "description"}
        assert e["code"] == response.status_code and isinstance(e["description"], str)
    return body


def _errors_xml(response) -> list[ET.Element]:
    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    errors = root.findall("error")
    assert errors and all(int(e.findtext("code") or 0) == response.status_code for e in errors)
    assert all(e.findtext("description") for e in errors)
    return errors


# --- reading: services and definitions in both formats -------------------------------


def test_services_json_has_the_spec_fields_and_the_jurisdiction_items(http, cast: Cast):
    ServiceItem.objects.create(
        code="opera-b",
        name="牛娘戏剧进社区",
        community=cast.b.center,
        team_kind="convenience",
        skill_id=ServiceItem.objects.get(code="home_repair").skill_id,
    )
    r = http.get(f"{BASE}/services.json", {"jurisdiction_id": "baihua"})
    assert r.status_code == 200 and r["Content-Type"] == "application/json; charset=utf-8"
    services = r.json()
    codes = {s["service_code"] for s in services}
    assert "home_repair" in codes and "opera-b" not in codes  # another community's item
    s = next(s for s in services if s["service_code"] == "home_repair")
    assert set(s) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert s["metadata"] is True and s["type"] == "realtime" and s["service_name"] == "家政维修"
    assert isinstance(s["keywords"], str) and s["group"] == "便民服务队"
    everywhere = {s["service_code"] for s in http.get(f"{BASE}/services.json").json()}
    assert "opera-b" in everywhere  # the city sees every community's items


def test_services_xml_parses_with_the_spec_element_names(http, cast: Cast):
    r = http.get(f"{BASE}/services.xml")
    assert r["Content-Type"] == "text/xml; charset=utf-8"
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(r.content)
    assert root.tag == "services"
    service = root.find("service[service_code='home_repair']")
    assert service is not None
    assert [c.tag for c in service] == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    assert service.findtext("metadata") == "true" and service.findtext("type") == "realtime"


def test_definition_offers_urgency_as_a_single_value_list_and_the_window(http, cast: Cast):
    d = http.get(f"{BASE}/services/home_repair.json").json()
    assert d["service_code"] == "home_repair"
    by_code = {a["code"]: a for a in d["attributes"]}
    assert set(by_code) == {"urgency", "window_start", "window_end"}
    urgency = by_code["urgency"]
    assert urgency["datatype"] == "singlevaluelist" and urgency["variable"] is True
    assert [v["key"] for v in urgency["values"]] == ["urgent", "normal", "scheduled"]
    assert by_code["window_start"]["datatype"] == "datetime"
    for a in d["attributes"]:
        assert {
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
        } <= set(a)
        assert isinstance(a["order"], int) and isinstance(a["required"], bool)
    assert d["attributes"] == service_attributes(ServiceItem.objects.get(code="home_repair"))

    root = ET.fromstring(http.get(f"{BASE}/services/home_repair.xml").content)
    assert root.tag == "service_definition" and root.findtext("service_code") == "home_repair"
    values = root.findall("attributes/attribute[code='urgency']/values/value")
    assert [v.findtext("key") for v in values] == ["urgent", "normal", "scheduled"]
    assert all(v.findtext("name") for v in values)


def test_unknown_service_is_a_404_in_both_formats(http, cast: Cast):
    assert _errors_json(http.get(f"{BASE}/services/nothing.json"))[0]["code"] == 404
    r = http.get(f"{BASE}/services/nothing.xml")
    assert r.status_code == 404 and _errors_xml(r)


def test_discovery_names_the_endpoint_and_its_formats(http, cast: Cast):
    d = http.get(f"{BASE}/discovery.json").json()
    endpoint = d["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = ET.fromstring(http.get(f"{BASE}/discovery.xml").content)
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


# --- placing: keys and jurisdictions -----------------------------------------------------


def test_post_without_key_revoked_key_or_other_jurisdiction_is_refused(http, cast: Cast):
    client, key = key_for(cast.a.center)
    r = post_request(http, BASE, "")
    assert r.status_code == 403 and _errors_json(r)
    r = http.post(f"{BASE}/requests.xml", {"api_key": "not-a-key", "service_code": "home_repair"})
    assert r.status_code == 403 and _errors_xml(r)
    r = post_request(http, BASE, key, jurisdiction_id="xingye")
    assert r.status_code == 403 and _errors_json(r)
    r = http.get(f"{BASE}/requests.json", {"api_key": key, "jurisdiction_id": "xingye"})
    assert r.status_code == 403
    client_revoke(client)
    r = post_request(http, BASE, key)
    assert r.status_code == 403 and _errors_json(r)
    assert not Order.objects.exists()


def test_a_community_key_never_sees_another_communitys_orders(http, cast: Cast):
    _a, key_a = key_for(cast.a.center)
    _b, key_b = key_for(cast.b.center, "兴业自助机")
    placed = post_request(http, BASE, key_a).json()[0]["service_request_id"]
    assert http.get(f"{BASE}/requests/{placed}.json", {"api_key": key_b}).status_code == 404
    assert http.get(f"{BASE}/requests.json", {"api_key": key_b}).json() == []
    mine = http.get(f"{BASE}/requests.json", {"api_key": key_a}).json()
    assert [r["service_request_id"] for r in mine] == [placed]
    # Nor place one with another community's item.
    ServiceItem.objects.create(
        code="opera-b",
        name="牛娘戏剧进社区",
        community=cast.b.center,
        team_kind="convenience",
        skill_id=ServiceItem.objects.get(code="home_repair").skill_id,
    )
    r = post_request(http, BASE, key_a, service_code="opera-b")
    assert r.status_code == 404 and _errors_json(r)


@override_settings(LINLI_RATE_OPEN311_KEY="2/m", LINLI_RATE_OPEN311_PUBLIC="3/m")
def test_rate_limits_answer_429_in_the_spec_shape(http, cast: Cast):
    from django.core.cache import cache

    cache.clear()
    _client, key = key_for(cast.a.center)
    assert http.get(f"{BASE}/services.json", {"api_key": key}).status_code == 200
    assert http.get(f"{BASE}/services.json", {"api_key": key}).status_code == 200
    r = http.get(f"{BASE}/services.xml", {"api_key": key})
    assert r.status_code == 429 and _errors_xml(r) and int(r["Retry-After"]) >= 1
    for _i in range(3):
        assert http.get(f"{BASE}/services.json").status_code == 200
    r = http.get(f"{BASE}/services.json")
    assert r.status_code == 429 and _errors_json(r)
    cache.clear()


def test_bad_input_is_a_400_in_the_spec_shape_and_places_nothing(http, cast: Cast):
    _client, key = key_for(cast.a.center)
    cases: list[dict[str, str | None]] = [
        {"service_code": ""},
        {"lat": "abc"},
        {"lat": None, "long": None, "address_string": ""},
        {"phone": ""},
        {"attribute[urgency]": "whenever"},
        {"attribute[colour]": "red"},
        {"attribute[window_start]": "next tuesday"},
        {"attribute[urgency]": "scheduled"},  # without its window
        {"media_url": "javascript:alert(1)"},
        {"description": "x" * 3000},
    ]
    for fields in cases:
        r = post_request(http, BASE, key, **fields)
        assert r.status_code == 400, (fields, r.content)
        assert _errors_json(r)
    r = http.get(f"{BASE}/requests.xml", {"start_date": "yesterday"})
    assert r.status_code == 400 and _errors_xml(r)
    r = http.get(
        f"{BASE}/requests.json",
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
    )
    assert r.status_code == 400  # more than 90 days
    assert http.get(f"{BASE}/requests.json", {"status": "lost"}).status_code == 400
    assert http.get(f"{BASE}/requests.json", {"q": "a\x00b"}).status_code == 400
    assert http.delete(f"{BASE}/requests.json").status_code == 405
    assert _errors_json(http.get(f"{BASE}/nothing.json"))[0]["code"] == 404
    assert not Order.objects.exists()


# --- placing: who is asking ------------------------------------------------------------


def test_a_matched_caller_orders_for_their_resident_record(http, cast: Cast):
    _client, key = key_for(cast.a.center)
    r = post_request(http, BASE, key, **{"attribute[urgency]": "urgent"})
    assert r.status_code == 201
    [placed] = r.json()
    assert set(placed) == {"service_request_id", "service_notice", "account_id"}
    order = Order.objects.get(pk=int(placed["service_request_id"]))
    assert order.resident == cast.a.person and order.urgency == "urgent"
    assert order.community == cast.a.center and order.channel == "phone"
    assert order.address == "百花路12号" and order.lat == pytest.approx(22.9205)
    assert "前完成" in placed["service_notice"]


def test_a_scheduled_request_takes_its_window(http, cast: Cast):
    _client, key = key_for(cast.a.center)
    r = post_request(
        http,
        BASE,
        key,
        **{
            "attribute[urgency]": "scheduled",
            "attribute[window_start]": "2099-01-01T09:00:00+08:00",
            "attribute[window_end]": "2099-01-01T11:00:00+08:00",
        },
    )
    assert r.status_code == 400  # more than a year ahead: order_place's rule, in the spec's shape
    import datetime as dt

    from django.utils import timezone

    start = (timezone.localtime() + dt.timedelta(days=2)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    r = post_request(
        http,
        BASE,
        key,
        **{
            "attribute[urgency]": "scheduled",
            "attribute[window_start]": start.isoformat(),
            "attribute[window_end]": (start + dt.timedelta(hours=2)).isoformat(),
        },
    )
    assert r.status_code == 201, r.content
    order = Order.objects.get()
    assert order.window_start == start and order.urgency == "scheduled"
    expected = http.get(f"{BASE}/requests/{order.pk}.json").json()[0]["expected_datetime"]
    assert expected.endswith("+08:00")


def test_an_unmatched_caller_waits_as_unconfirmed_until_a_dispatcher_links_them(http, cast: Cast):
    _client, key = key_for(cast.a.center)
    r = post_request(http, BASE, key, first_name="大妈", last_name="王", phone="13900001111")
    assert r.status_code == 201
    order = Order.objects.get(pk=int(r.json()[0]["service_request_id"]))
    assert order.resident is None and order.unconfirmed
    assert (order.caller_name, order.caller_phone) == ("王大妈", "13900001111")
    assert "核实" in r.json()[0]["service_notice"]
    public = http.get(f"{BASE}/requests/{order.pk}.json").json()[0]
    assert public["status"] == "open" and "核实来电人" in public["status_notes"]

    dispatcher = cast.a.dispatcher
    queue = _login(dispatcher).get("/orders/console/")
    assert "待核实" in queue.content.decode()
    page = _login(dispatcher).get(f"/orders/{order.pk}/")
    assert "核实来电人" in page.content.decode()
    assert not page.context["can_dispatch"] and page.context["can_link_resident"]
    with pytest.raises(Conflict):
        orders.order_dispatch(actor=dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    # Nor does the worker's automatic dispatch take it.
    from linli.dispatch.gather import open_slots

    assert order.pk not in {s.order_id for s in open_slots(None)}

    # The dispatcher of another community cannot link it.
    other = _login(cast.b.dispatcher).post(
        f"/orders/{order.pk}/link-resident/", {"resident": cast.a.person.pk}
    )
    assert other.status_code == 404
    r = _login(dispatcher).post(
        f"/orders/{order.pk}/link-resident/", {"resident": cast.b.person.pk}
    )
    assert r.status_code == 400  # another community's resident
    r = _login(dispatcher).post(
        f"/orders/{order.pk}/link-resident/", {"resident": cast.a.person.pk}
    )
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.resident == cast.a.person and order.caller_phone == "13900001111"
    assert order.events.filter(action="link", actor=dispatcher).exists()
    orders.order_dispatch(actor=dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED


def test_a_phone_shared_by_two_residents_matches_neither_without_a_name(http, cast: Cast):
    from linli.people.models import Resident

    twin = Resident.objects.create(
        name="曾庆华",
        gender=Resident.Gender.MALE,
        birth_date="1946-01-01",
        phone=cast.a.person.phone,
        community=cast.a.center,
    )
    _client, key = key_for(cast.a.center)
    r = post_request(http, BASE, key, first_name="", last_name="")
    assert Order.objects.get(pk=int(r.json()[0]["service_request_id"])).resident is None
    r = post_request(http, BASE, key, first_name="庆华", last_name="曾")
    assert Order.objects.get(pk=int(r.json()[0]["service_request_id"])).resident == twin


def test_a_city_key_places_an_unmatched_caller_in_the_nearest_community(http, cast: Cast):
    _client, key = key_for(cast.city_center)
    r = post_request(http, BASE, key, phone="13900002222", lat="22.931", long="111.011")
    order = Order.objects.get(pk=int(r.json()[0]["service_request_id"]))
    assert order.community == cast.b.center and order.resident is None


def _login(user):
    from linli.site.testing import client_for

    return client_for(user)


# --- privacy ----------------------------------------------------------------------------


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def test_no_answer_to_another_key_holds_the_residents_name_phone_or_home(http, cast: Cast):
    person = cast.a.person
    person.lat, person.lon = 22.9271, 110.9833  # home, away from the center
    person.save(update_fields=["lat", "lon"])
    _a, key_a = key_for(cast.a.center)
    _city, key_city = key_for(cast.city_center, "市级系统")
    post_request(
        http, BASE, key_a, lat=str(person.lat), long=str(person.lon), address_string=person.address
    )
    order = Order.objects.get()
    secrets = [
        person.name,
        person.phone,
        person.phone[-4:],
        person.address,
        "百花路12号",
        "曾",
        f"{person.lat}",
        f"{person.lon}",
        "水龙头",
    ]
    reads = [
        ("requests", {}),
        ("requests", {"service_request_id": str(order.pk)}),
        (f"requests/{order.pk}", {}),
    ]
    for who in ({}, {"api_key": key_city}):
        for path, params in reads:
            for fmt in ("json", "xml"):
                r = http.get(f"{BASE}/{path}.{fmt}", {**params, **who})
                assert r.status_code == 200
                if fmt == "json":
                    values = _strings(r.json())
                    assert values, r.content
                    row = r.json()[0]
                    assert (row["lat"], row["long"]) == (cast.a.center.lat, cast.a.center.lon)
                    assert row["description"] is None
                else:
                    values = [e.text or "" for e in ET.fromstring(r.content).iter()]
                for secret in secrets:
                    hits = [v for v in values if secret in v]
                    assert not hits, (who, path, fmt, secret, hits)
    # The key that placed it sees its own place and description.
    own = http.get(f"{BASE}/requests/{order.pk}.json", {"api_key": key_a}).json()[0]
    assert own["description"] == order.description and own["lat"] == person.lat


# --- the status mapping ----------------------------------------------------------------


def test_requests_list_filters_by_status_and_code_and_has_the_spec_types(http, cast: Cast):
    _client, key = key_for(cast.a.center)
    first = post_request(http, BASE, key).json()[0]["service_request_id"]
    second = post_request(http, BASE, key).json()[0]["service_request_id"]
    orders.order_cancel(actor=cast.a.dispatcher, order_id=int(second), reason="居民说不用了")
    rows = http.get(f"{BASE}/requests.json").json()
    assert [r["service_request_id"] for r in rows] == [second, first]
    for row in rows:
        for name, kind in REQUEST_FIELDS.items():
            assert isinstance(row[name], kind), (name, row[name])
        assert row["requested_datetime"].endswith("+08:00")
    opened = http.get(f"{BASE}/requests.json", {"status": "open"}).json()
    closed = http.get(f"{BASE}/requests.json", {"status": "closed"}).json()
    assert [r["service_request_id"] for r in opened] == [first]
    assert [(r["service_request_id"], r["status_notes"]) for r in closed] == [
        (second, "订单已取消。")
    ]
    assert http.get(f"{BASE}/requests.json", {"service_code": "health_clinic"}).json() == []
    both = http.get(
        f"{BASE}/requests.json", {"service_request_id": f"{first},{second}", "status": "open"}
    ).json()
    assert len(both) == 2  # service_request_id overrides the other filters
    root = ET.fromstring(http.get(f"{BASE}/requests.xml").content)
    assert root.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [second, first]
    assert json.loads(json.dumps(rows)) == rows


def test_english_answers_in_english(http, cast: Cast):
    r = http.get(f"{BASE}/services/home_repair.json", HTTP_ACCEPT_LANGUAGE="en")
    urgency = r.json()["attributes"][0]
    assert urgency["description"].startswith("Urgency")
    assert [v["name"] for v in urgency["values"]] == ["Urgent", "Normal", "Scheduled"]


def test_an_items_own_questions_are_its_open311_attributes(http, cast: Cast):
    """The birthday party asks its guests and no urgency, in GeoReport as on the page."""
    import datetime as dt

    from django.utils import timezone

    from linli.orders.catalog import install_optional_items

    install_optional_items([cast.a.center])
    item = ServiceItem.objects.get(code=f"birthday-{cast.a.center.code}"[:32])
    codes = {a["code"]: a for a in service_attributes(item)}
    assert "urgency" not in codes
    assert codes["window_start"]["required"] is True
    assert codes["guests"]["datatype"] == "number" and codes["guests"]["required"] is True
    definition = http.get(f"{BASE}/services/{item.code}.json").json()
    assert "guests" in {a["code"] for a in definition["attributes"]}

    _client, key = key_for(cast.a.center)
    start = (timezone.localtime() + dt.timedelta(days=5)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    window = {
        "attribute[urgency]": None,
        "attribute[window_start]": start.isoformat(),
        "attribute[window_end]": (start + dt.timedelta(hours=3)).isoformat(),
    }
    refused = post_request(
        http, BASE, key, service_code=item.code, **window, **{"attribute[guests]": "lots"}
    )
    assert refused.status_code == 400
    assert "attribute[guests]" in refused.json()[0]["description"]
    assert not Order.objects.exists()
    placed = post_request(
        http, BASE, key, service_code=item.code, **window, **{"attribute[guests]": "40"}
    )
    assert placed.status_code == 201, placed.content
    order = Order.objects.get()
    assert order.attributes == {"guests": 40} and order.urgency == "scheduled"
