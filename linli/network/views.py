from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.network.models import Room
from linli.network.selectors import center_counts, center_detail, center_tree


@login_required
def tree_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "network/tree.html",
        {
            "roots": center_tree(),
            "counts": center_counts(),
            "room_area": Room.objects.aggregate(a=Sum("floor_area"))["a"] or 0,
        },
    )


@login_required
def center_view(request: HttpRequest, code: str) -> HttpResponse:
    center, fixed, optional = center_detail(code)
    return render(
        request,
        "network/center.html",
        {"center": center, "fixed": fixed, "optional": optional},
    )
