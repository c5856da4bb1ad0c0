"""The GeoReport v2 endpoint: plain Django views, each in JSON or XML as its
path ends (``.json``, ``.xml``), UTF-8.

A view parses the request, asks ``services.authenticate`` who calls, calls
one service and writes its answer. Every error is the spec's list of
``code`` + ``description`` with that HTTP status, in the format asked for.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from linli.core.ratelimit import client_ip
from linli.open311 import services
from linli.open311.services import Open311Error

PREFIX = "/open311/v2/"

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}

# The element of each item of a list, by the list's element (the spec's names).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def _xml_value(parent: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, v in value.items():
            _xml_value(ET.SubElement(parent, key), v)
    elif isinstance(value, list):
        tag = ITEM_TAGS[parent.tag]
        for v in value:
            _xml_value(ET.SubElement(parent, tag), v)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif value is not None:
        parent.text = str(value)


def to_xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _xml_value(element, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8")


def respond(fmt: str, root: str, data: Any, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        body = to_xml(root, data)
    else:
        body = json.dumps(data, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def error(fmt: str, exc: Open311Error) -> HttpResponse:
    response = respond(
        fmt, "errors", [{"code": exc.code, "description": exc.description}], exc.code
    )
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def boundary_error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """The input boundary's refusal of a request here (bad text in the query)."""
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return error(fmt, Open311Error(status, message))


def _params(request: HttpRequest) -> dict[str, str]:
    source = request.POST if request.method == "POST" else request.GET
    return {k: source.get(k, "") for k in source if not k.startswith("attribute[")}


def _attributes(request: HttpRequest) -> dict[str, str]:
    return {
        k[len("attribute[") : -1]: request.POST.get(k, "")
        for k in request.POST
        if k.startswith("attribute[") and k.endswith("]")
    }


View = Callable[..., HttpResponse]


def endpoint(methods: tuple[str, ...], *, key_required: Callable[[HttpRequest], bool]) -> Any:
    """A GeoReport view: the method checked, the caller authenticated, every
    Open311Error answered in the spec's shape and format."""

    def decorate(view: Callable[..., Any]) -> View:
        @csrf_exempt
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise Open311Error(
                        405, _("这个地址不接受 %(m)s 请求。") % {"m": request.method}
                    )
                params = _params(request)
                caller = services.authenticate(
                    params, key_required=key_required(request), ip=client_ip(request)
                )
                root, data, status = view(request, caller, params, **kwargs)
            except Open311Error as exc:
                response = error(fmt, exc)
                if exc.code == 405:
                    response["Allow"] = ", ".join(methods)
                return response
            return respond(fmt, root, data, status)

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper

    return decorate


def _never(request: HttpRequest) -> bool:
    return False


def _on_post(request: HttpRequest) -> bool:
    return request.method == "POST"


@csrf_exempt
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    """The service discovery document: where the endpoint is and what it speaks."""
    if request.method != "GET":
        response = error(fmt, Open311Error(405, _("这个地址只接受 GET 请求。")))
        response["Allow"] = "GET"
        return response
    url = request.build_absolute_uri(PREFIX).rstrip("/")
    return respond(fmt, "discovery", services.discovery(url))


@endpoint(("GET",), key_required=_never)
def services_view(request: HttpRequest, caller: Any, params: dict[str, str]) -> Any:
    return "services", services.service_list(caller), 200


@endpoint(("GET",), key_required=_never)
def definition_view(request: HttpRequest, caller: Any, params: dict[str, str], code: str) -> Any:
    return "service_definition", services.service_definition(caller, code), 200


@endpoint(("GET", "POST"), key_required=_on_post)
def requests_view(request: HttpRequest, caller: Any, params: dict[str, str]) -> Any:
    if request.method == "POST":
        return (
            "service_requests",
            services.request_create(caller, params, _attributes(request)),
            201,
        )
    return "service_requests", services.request_list(caller, params), 200


@endpoint(("GET",), key_required=_never)
def request_view(request: HttpRequest, caller: Any, params: dict[str, str], request_id: str) -> Any:
    return "service_requests", services.request_get(caller, request_id), 200


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return error(fmt, Open311Error(404, _("没有这个接口。")))
