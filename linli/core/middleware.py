from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.core.errors import AppError
from linli.core.models import User


class AppErrorMiddleware:
    """Pages raise AppError like services do; here it becomes a 4xx page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
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


class UserLanguageMiddleware:
    """A signed-in person's language follows them: ``User.language``.

    The language they choose on a page (the language cookie the switch in
    the top bar sets) is remembered on their account, so that texts sent to
    them later -- notifications -- are in it. A browser's Accept-Language is
    no choice and changes nothing. After the authentication middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            codes = {code for code, _name in settings.LANGUAGES}
            chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
            if chosen in codes and chosen != user.language:
                User.objects.filter(pk=user.pk).update(language=chosen)
                user.language = chosen
        return self.get_response(request)
