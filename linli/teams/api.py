# No "from __future__ import annotations": django-ninja reads these annotations at run time.
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from linli.core.pagination import LazyMap
from linli.core.schemas import ErrorOut, TeamRef
from linli.teams.models import Member
from linli.teams.selectors import member_list

router = Router(tags=["teams"])


class MemberFilters(Schema):
    skill: str = ""
    team: int | None = None
    q: str = ""


class MemberOut(Schema):
    id: int
    name: str
    username: str
    team: TeamRef
    skills: list[str]
    max_concurrent: int


@router.get("/members", response={200: list[MemberOut], 401: ErrorOut, 403: ErrorOut})
@paginate(LimitOffsetPagination)
def members(request: HttpRequest, filters: Query[MemberFilters]) -> list[dict[str, object]]:
    """Active members of the caller's community, by skill code, team id, or name."""
    qs = member_list(request.user, skill=filters.skill, team=filters.team, q=filters.q)
    return LazyMap(qs, member_out)  # type: ignore[return-value]


def member_out(m: Member) -> dict[str, object]:
    return {
        "id": m.pk,
        "name": m.name,
        "username": m.user.username,
        "team": m.team,
        "skills": [s.code for s in m.skills.all()],
        "max_concurrent": m.max_concurrent,
    }
