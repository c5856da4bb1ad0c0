"""Security headers and the request body limit.

Django's SecurityMiddleware already sends ``X-Content-Type-Options: nosniff``
and ``Referrer-Policy`` (settings ``SECURE_CONTENT_TYPE_NOSNIFF``,
``SECURE_REFERRER_POLICY``); this adds the Content-Security-Policy and refuses
bodies over the size limit with a 413 before anything reads them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def body_limit(request: HttpRequest) -> int:
    """Bytes a request body may have: uploads (multipart) get the larger limit."""
    if request.content_type == "multipart/form-data":
        return int(settings.LINLI_MAX_UPLOAD_BYTES)
    return int(settings.LINLI_MAX_BODY_BYTES)


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = _("请求内容太大（上限 %(n)s KB）。") % {"n": limit // 1024}
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "too_large", "message": message, "fields": {}}, status=413)
    return render(
        request, "core/error.html", {"title": _("内容太大"), "message": message}, status=413
    )


class SecurityHeadersMiddleware:
    """Right after Django's SecurityMiddleware: 413 for oversized bodies, and
    the Content-Security-Policy on every response that has none yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        response = _too_large(request, limit) if length > limit else self.get_response(request)
        policy = self.policy_for(request.path)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response

    @staticmethod
    def policy_for(path: str) -> str:
        for prefix, policy in settings.LINLI_CSP_BY_PATH.items():
            if path.startswith(prefix):
                return str(policy)
        return str(settings.LINLI_CSP)
