"""One JSON line per request (and per job) on stdout, with a request id.

The request id comes from the proxy's ``X-Request-ID`` when it sent a sane one
(nginx's ``$request_id``), else a new one; it is answered in the response
header of that name and shown on error pages, so a resident's complaint
("编号 …") leads to the log line and its traceback.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from linli.core.errors import AppError

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

log = logging.getLogger("linli.request")

# LogRecord attributes that are not a caller's ``extra``.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, the
    current request id, the caller's ``extra`` fields, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            out["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def _request_id(request: HttpRequest) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _SANE_ID.match(given) else uuid.uuid4().hex


class RequestLogMiddleware:
    """First in the chain: gives the request its id, times it, logs one line.

    An exception no one else turned into a response (a bug) is logged here
    with its traceback and answered with a 500 that carries the request id:
    the one error shape under ``/api/``, the error page elsewhere.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = _request_id(request)
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id_var.set(rid)
        start = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = rid
            user = getattr(request, "user", None)
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "user_id": getattr(user, "pk", None),
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Django answers these itself (403, 404, 400): they are not bugs.
        if isinstance(
            exception, AppError | PermissionDenied | Http404 | SuspiciousOperation | BadRequest
        ):
            return None
        if settings.DEBUG:
            return None
        logging.getLogger("linli.error").error(
            "unhandled %s on %s %s",
            type(exception).__name__,
            request.method,
            request.path,
            exc_info=(type(exception), exception, exception.__traceback__),
        )
        rid = getattr(request, "request_id", "")
        message = _("服务器出错了，我们会尽快处理。请把编号 %(id)s 告诉工作人员。") % {"id": rid}
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"code": "server_error", "message": message, "fields": {}}, status=500
            )
        return render(
            request, "core/error.html", {"title": _("出错了"), "message": message}, status=500
        )
