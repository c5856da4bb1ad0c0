"""The site's URLs plus ``POST /bench/insert``: one row, one JSON answer."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.sessions.models import Session
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from linli.urls import urlpatterns as site_urlpatterns


@csrf_exempt
def insert(request: HttpRequest) -> JsonResponse:
    """The floor for a write on this stack: same middleware, one INSERT."""
    row = Session.objects.create(
        session_key="bench" + uuid.uuid4().hex,
        session_data="{}",
        expire_date=timezone.now() + dt.timedelta(minutes=5),
    )
    return JsonResponse({"id": row.session_key}, status=201)


urlpatterns = [path("bench/insert", insert), *site_urlpatterns]
