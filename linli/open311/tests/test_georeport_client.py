"""A real Open311 client from PyPI (``georeport``) reads linli over HTTP: the
services, a definition, and a request followed to closed through linli's own
transitions. It cannot post (no maintained Python client does), so the test
posts as the spec's example does, form-encoded, and reads the request back."""

from __future__ import annotations

import pytest
import requests
from georeport import GeoReport

from linli.open311.tests.helpers import BASE, key_for, post_request
from linli.orders import services as orders
from linli.site.testing import Cast

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_georeport_lists_reads_and_follows_a_request_to_closed(live_server, cast: Cast):
    root = f"{live_server.url}{BASE}"
    city = GeoReport(root, jurisdiction="baihua")
    city_xml = GeoReport(root, jurisdiction="baihua", output_format="xml")

    services = city.get_service_list()
    assert "home_repair" in {s["service_code"] for s in services}
    assert {s["service_code"] for s in city_xml.get_service_list()} == {
        s["service_code"] for s in services
    }
    definition = city.get_service_definition("home_repair")
    assert definition["attributes"][0]["code"] == "urgency"
    xml_definition = city_xml.get_service_definition("home_repair")
    values = xml_definition["attributes"]["attribute"][0]["values"]["value"]
    assert [v["key"] for v in values] == ["urgent", "normal", "scheduled"]

    _client, key = key_for(cast.a.center)
    r = post_request(requests, root, key, **{"attribute[urgency]": "urgent"})
    assert r.status_code == 201, r.text
    request_id = r.json()[0]["service_request_id"]

    placed = city.get_service_request(request_id)
    assert placed["status"] == "open" and placed["service_name"] == "家政维修"
    assert placed["status_notes"] == "已受理，等待社区派单。"
    assert request_id in {x["service_request_id"] for x in city.get_service_requests()}

    order_id = int(request_id)
    orders.order_dispatch(actor=cast.a.dispatcher, order_id=order_id, member_id=cast.a.member.pk)
    dispatched = city.get_service_request(request_id)
    assert dispatched["status"] == "open"
    assert dispatched["status_notes"] == "已派单给百花社区便民服务队，等待队员接单。"
    assert dispatched["agency_responsible"] == "百花社区便民服务队"

    orders.order_accept(actor=cast.a.volunteer, order_id=order_id)
    assert "已接单" in city.get_service_request(request_id)["status_notes"]
    orders.order_start(actor=cast.a.volunteer, order_id=order_id)
    orders.order_complete(actor=cast.a.volunteer, order_id=order_id, note="换了阀芯")

    done = city.get_service_request(request_id)
    assert done["status"] == "closed" and done["status_notes"] == "服务已完成，等待居民评价。"
    closed = city.get_service_requests(status="closed", service_code="home_repair")
    assert [x["service_request_id"] for x in closed] == [request_id]
    as_xml = city_xml.get_service_request(request_id)
    assert as_xml["status"] == "closed" and as_xml["service_request_id"] == request_id

    orders.order_rate(
        actor=cast.a.resident, order_id=order_id, resolved=True, satisfaction=5, comment="好"
    )
    assert city.get_service_request(request_id)["status_notes"] == "服务已完成，居民已评价。"
