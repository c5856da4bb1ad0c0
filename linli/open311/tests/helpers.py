"""What the Open311 tests share: clients (keys) in the cast's city, and a POST
exactly as the spec's example makes one (form-encoded, attribute[...])."""

from __future__ import annotations

from typing import Any

from django.test import Client as HttpClient

from linli.network.models import Center
from linli.open311.models import Client
from linli.open311.services import client_create
from linli.orders.models import Channel

BASE = "/open311/v2"


def key_for(center: Center, name: str = "12345 热线") -> tuple[Client, str]:
    return client_create(name=name, jurisdiction=center, channel=Channel.PHONE)


def post_request(http: Any, base: str, key: str, **fields: str | None) -> Any:
    """POST requests.json as the spec's example: application/x-www-form-urlencoded."""
    data = {
        "api_key": key,
        "service_code": "home_repair",
        "lat": "22.9205",
        "long": "110.9903",
        "address_string": "百花路12号",
        "description": "厨房水龙头漏水，想请人来修。",
        "first_name": "庆宝",
        "last_name": "曾",
        "phone": "138-0771-1234",
        "attribute[urgency]": "normal",
        **fields,
    }
    data = {k: v for k, v in data.items() if v is not None}
    if isinstance(http, HttpClient):
        return http.post(f"{base}/requests.json", data)
    return http.post(f"{base}/requests.json", data=data, timeout=10)
