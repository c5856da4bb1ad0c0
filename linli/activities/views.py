"""Activity pages: residents find and sign up, organisers put on and take attendance."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.activities import selectors


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    activity = selectors.activity_get(request.user, pk)  # type: ignore[arg-type]
    return render(request, "activities/detail.html", {"activity": activity})
