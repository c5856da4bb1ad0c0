from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.core.errors import AppError


class AppErrorMiddleware:
    """Pages raise AppError like services do; here it becomes a 4xx page."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, AppError):
            return None
        return render(
            request,
            "core/error.html",
            {
                "title": exception.message,
                "message": "; ".join(f"{k}: {' '.join(v)}" for k, v in exception.fields.items()),
            },
            status=exception.status,
        )
