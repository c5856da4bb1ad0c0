from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from linli.core.errors import InvalidInput
from linli.core.http import AuthedRequest
from linli.core.roles import Role
from linli.dispatch.models import DispatchPolicy
from linli.dispatch.services import batch_dispatch, policy_for, policy_set, suggestions_for_order
from linli.network.models import Center


@login_required
def suggestions_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """The top five members for each open slot, with their reasons (an htmx fragment)."""
    return render(
        request,
        "dispatch/_suggestions.html",
        {"order_id": pk, "suggestions": suggestions_for_order(request.user, pk)},
    )


def _community(request: AuthedRequest) -> Center | None:
    """The community a batch is for: the dispatcher's own, or the one the city admin picks."""
    if request.user.role != Role.CITY:
        return request.user.community
    code = request.POST.get("community") or request.GET.get("community") or ""
    if not code:
        return None
    center = Center.objects.filter(code=code, kind=Center.Kind.COMMUNITY).first()
    if center is None:
        raise InvalidInput(fields={"community": _("没有这个社区。")})
    return center


@login_required
def batch_view(request: AuthedRequest) -> HttpResponse:
    """GET shows the plan (nothing changes); POST applies it through ordinary dispatches."""
    community = _community(request)
    if request.method == "POST":
        if "mode" in request.POST:
            if community is None:
                raise InvalidInput(fields={"community": _("请选择社区。")})
            policy = policy_set(actor=request.user, community=community, mode=request.POST["mode"])
            messages.success(
                request, _("派单方式已改为：%(mode)s") % {"mode": policy.get_mode_display()}
            )
        else:
            plan = batch_dispatch(actor=request.user, community=community, dry_run=False)
            failed = len(plan.assignments) - plan.applied
            messages.success(
                request,
                _("已批量派出 %(n)d 个岗位，%(failed)d 个因状态变化跳过，%(miss)d 个暂无合适队员。")
                % {"n": plan.applied, "failed": failed, "miss": len(plan.unassigned)},
            )
        url = request.path + (
            f"?community={community.code}" if community and request.user.role == Role.CITY else ""
        )
        return redirect(url)
    plan = batch_dispatch(actor=request.user, community=community, dry_run=True)
    return render(
        request,
        "dispatch/batch.html",
        {
            "plan": plan,
            "community": community,
            "communities": Center.objects.filter(kind=Center.Kind.COMMUNITY).order_by("code")
            if request.user.role == Role.CITY
            else [],
            "mode": policy_for(community.pk) if community else None,
            "modes": DispatchPolicy.Mode.choices,
        },
    )
