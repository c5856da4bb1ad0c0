"""The input boundary: what no view, schema or service checks for itself.

Every request passes :class:`InputBoundaryMiddleware` before any view runs:

* text -- in the query string, and for the API in the JSON body -- holding a
  NUL character or an unpaired surrogate is refused with a 400 naming the
  field (PostgreSQL cannot store a NUL; a lone surrogate cannot be encoded).
  Refused, not stripped: silently changing what someone wrote is worse.
* integers -- query values, JSON numbers, and the numbers in an API path --
  must fit a 64-bit column (what every id and count here is stored in);
  larger ones are a 400 (a 404 in a path: no such object can exist).
* an API request body must be JSON: anything else is a 415.

And after the view, every API answer of 400 or more that is not already in
the one error shape (``{"code", "message", "fields"}``) is put into it: an
unknown path, a method the endpoint does not take, Django's own 400s.

Datetimes are bounded where they are parsed: :data:`DATETIME_MIN` ..
:data:`DATETIME_MAX` (``check_datetime``; the API's schemas use
``linli.core.schemas.SaneDateTime``), and the models' check constraints hold
the same bounds, so no path can store a time that a read cannot handle.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from linli.core.errors import InvalidInput

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
DATETIME_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
DATETIME_MAX = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)

_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER = re.compile(r"[+-]?\d+")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    if "\x00" in value:
        return _("不能包含空字符（NUL）。")
    if _SURROGATE.search(value):
        return _("包含无效的字符（不成对的代理项）。")
    return None


def storable(**texts: object) -> None:
    """Refuse text no column can hold (a NUL, an unpaired surrogate) or a value that is
    not text: the services' callers other than the API (pages, the importer, the
    seed) come without its boundary."""
    errors = {k: p for k, v in texts.items() if isinstance(v, str) and (p := text_problem(v))}
    bad = [k for k, v in texts.items() if v is not None and not isinstance(v, str)]
    errors.update({k: _("请输入文本。") for k in bad})
    if errors:
        raise InvalidInput(fields=errors)


def clean_text(value: object, limit: int, name: str, required: str | None = None) -> str:
    """``value`` stripped, at most ``limit`` characters; ``required`` is the message when empty."""
    storable(**{name: value})
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput(fields={name: required})
    if len(text) > limit:
        raise InvalidInput(fields={name: _("最多 %(n)d 个字。") % {"n": limit}})
    return text


def int_problem(value: int) -> str | None:
    if not INT64_MIN <= value <= INT64_MAX:
        return _("数字太大。")
    return None


def datetime_problem(value: dt.datetime) -> str | None:
    if value.tzinfo is None:
        return _("请带上时区，例如 2026-12-01T09:00:00+08:00。")
    if not DATETIME_MIN <= value < DATETIME_MAX:
        return _("日期必须在 1900 年到 2199 年之间。")
    return None


def check_datetime(value: dt.datetime | None, field: str) -> None:
    """Raise InvalidInput on ``field`` when ``value`` is naive or out of range."""
    if value is not None and (problem := datetime_problem(value)):
        raise InvalidInput(fields={field: problem})


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, problem) for every bad string or integer in a JSON value."""
    if isinstance(value, str):
        if problem := text_problem(value):
            yield path or "__all__", problem
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if problem := int_problem(value):
            yield path or "__all__", problem
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if problem := text_problem(str(key)):
                yield name, problem
            yield from _walk(item, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}.{i}" if path else str(i))


def query_problems(request: HttpRequest) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for key, values in request.GET.lists():
        for value in values:
            problem = text_problem(key) or text_problem(value)
            if problem is None and _NUMBER.fullmatch(value.strip()):
                problem = int_problem(int(value))
            if problem:
                fields.setdefault(key if not text_problem(key) else "__all__", []).append(problem)
    return fields


def body_problems(request: HttpRequest) -> dict[str, list[str]]:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return {}  # not JSON at all: the endpoint's parser says so
    fields: dict[str, list[str]] = {}
    for name, problem in _walk(data, ""):
        fields.setdefault(name, []).append(problem)
    return fields


def path_too_large(path: str) -> bool:
    return any(
        _NUMBER.fullmatch(part) and int_problem(int(part)) for part in path.split("/") if part
    )


def api_error(
    status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> HttpResponse:
    return JsonResponse({"code": code, "message": message, "fields": fields or {}}, status=status)


# The one shape's code for each status the API can answer.
CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _message(status: int) -> str:
    return {
        400: _("输入有误。"),
        401: _("缺少或无效的访问令牌。"),
        403: _("您的角色无权执行此操作。"),
        404: _("未找到。"),
        405: _("不支持这个请求方法。"),
        413: _("请求内容太大。"),
        415: _("请求体必须是 JSON（Content-Type: application/json）。"),
    }.get(status, _("请求失败。"))


def _empty_form(request: HttpRequest) -> bool:
    """A form post with no fields at all (what a bare POST of many clients sends)."""
    if request.content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return False
    return not request.POST and not request.FILES


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _in_shape(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    return isinstance(body, dict) and {"code", "message", "fields"} <= set(body)


# Path prefix -> how a refusal there is answered (status, message): an
# interface with an error shape of its own (Open311) registers it when it starts.
ERROR_SHAPES: dict[str, Callable[[HttpRequest, int, str], HttpResponse]] = {}


def _shaped(request: HttpRequest) -> Callable[[HttpRequest, int, str], HttpResponse] | None:
    return next((f for p, f in ERROR_SHAPES.items() if request.path.startswith(p)), None)


class InputBoundaryMiddleware:
    """See the module: refuse what no field can hold; answer the API in one shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self.refuse(request)
        response = refused if refused is not None else self.get_response(request)
        if (
            _is_api(request)
            and response.status_code >= 400
            and not getattr(response, "streaming", False)
        ):
            if not _in_shape(response):
                status = response.status_code
                if status >= 500:
                    return response  # the request log's handler answers 500s in the shape
                reshaped = api_error(status, CODES.get(status, "error"), _message(status))
                # A 405 says which methods the endpoint takes (RFC 9110), a 429 when to retry.
                for header in ("Allow", "Retry-After"):
                    if header in response:
                        reshaped[header] = response[header]
                response = reshaped
        return response

    def refuse(self, request: HttpRequest) -> HttpResponse | None:
        api = _is_api(request)
        if api and path_too_large(request.path):
            return api_error(404, "not_found", _("未找到。"))
        fields = query_problems(request)
        if api and not fields and request.method in ("POST", "PUT", "PATCH") and request.body:
            if request.content_type != "application/json" and not _empty_form(request):
                return api_error(415, "unsupported_media_type", _message(415))
            fields = body_problems(request)
        if not fields:
            return None
        if api:
            return api_error(400, "invalid", _("输入有误。"), fields)
        message = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        if (shaped := _shaped(request)) is not None:
            return shaped(request, 400, message)
        message = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        return render(
            request, "core/error.html", {"title": _("输入有误"), "message": message}, status=400
        )
