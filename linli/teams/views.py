from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from linli.core.http import AuthedRequest
from linli.teams.models import Skill
from linli.teams.selectors import member_list, team_list


@login_required
def team_list_view(request: AuthedRequest) -> HttpResponse:
    skill = request.GET.get("skill", "")
    q = request.GET.get("q", "")
    team = request.GET.get("team", "")
    members = member_list(
        request.user, skill=skill, q=q, team=int(team) if team.isdigit() else None
    )
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "teams/list.html",
        {
            "teams": team_list(request.user),
            "page": page,
            "skills": Skill.objects.all(),
            "skill": skill,
            "q": q,
            "team": team,
        },
    )
