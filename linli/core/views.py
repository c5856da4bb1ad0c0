from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.people.models import Resident
from linli.teams.models import Member


@login_required
def home(request: HttpRequest) -> HttpResponse:
    resident = Resident.objects.filter(account=request.user).first()
    memberships = (
        Member.objects.filter(user=request.user).select_related("team").prefetch_related("skills")
    )
    return render(request, "core/home.html", {"resident": resident, "memberships": memberships})
