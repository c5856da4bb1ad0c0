from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def locked_out(
    request: HttpRequest, credentials: dict | None = None, *args: object, **kwargs: object
) -> HttpResponse:
    """django-axes' answer once an account is locked: a page, or the API's error shape."""
    from django.http import JsonResponse
    from django.utils.translation import gettext as _

    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "locked_out",
                "message": _("登录失败次数过多,账号已暂时锁定,请 15 分钟后再试。"),
                "fields": {},
            },
            status=429,
        )
    return render(request, "core/locked_out.html", status=429)
