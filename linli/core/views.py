from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.core.lockout import lockout_message, login_failed_message


class LoginForm(AuthenticationForm):
    """Django's login form, telling how many tries are left before the lock."""

    def get_invalid_login_error(self) -> ValidationError:
        # axes counted this failure on the request while authenticate() ran.
        return ValidationError(login_failed_message(self.request), code="invalid_login")


login_view = LoginView.as_view(authentication_form=LoginForm)


def locked_out(
    request: HttpRequest, credentials: dict | None = None, *args: object, **kwargs: object
) -> HttpResponse:
    """django-axes' answer once an account is locked: a page, or the API's error shape."""
    from django.http import JsonResponse

    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "locked_out", "message": lockout_message(), "fields": {}}, status=429
        )
    return render(request, "core/locked_out.html", {"message": lockout_message()}, status=429)
