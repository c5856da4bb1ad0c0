"""The home page: what each person can do, by the roles they hold."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from linli.core.http import AuthedRequest
from linli.core.roles import Role
from linli.orders.selectors import catalog_for
from linli.people.models import Resident
from linli.teams.models import Member


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    resident = Resident.objects.filter(account=request.user).first()
    memberships = (
        Member.objects.filter(user=request.user).select_related("team").prefetch_related("skills")
    )
    # 群众点单: one big button per catalog item, for anyone ordering for themself.
    can_order = resident is not None and request.user.role not in (Role.DISPATCHER, Role.CITY)
    catalog = (
        catalog_for(request.user, community_id=resident.community_id)
        if can_order and resident is not None
        else []
    )
    return render(
        request,
        "site/home.html",
        {
            "resident": resident,
            "memberships": memberships,
            "can_order": can_order,
            "catalog": catalog,
        },
    )
