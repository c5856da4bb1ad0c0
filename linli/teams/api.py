# No "from __future__ import annotations": django-ninja reads these annotations at run time.
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from linli.core.pagination import LazyMap
from linli.core.schemas import ErrorOut, TeamRef
from linli.orders.services import member_load
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
    load: int = Field(description="Open slots held now (assigned, accepted or in service).")


class MemberPage(LazyMap):
    """Members with their load: one query for the whole page, not one per member."""

    def __getitem__(self, s: slice) -> list[dict[str, object]]:
        page = list(self.qs[s])
        load = member_load(m.pk for m in page)
        return [member_out(m, load.get(m.pk, 0)) for m in page]


@router.get("/members", response={200: list[MemberOut], 401: ErrorOut, 403: ErrorOut})
@paginate(LimitOffsetPagination)
def members(request: HttpRequest, filters: Query[MemberFilters]) -> list[dict[str, object]]:
    """Active members of the caller's community, by skill code, team id, or name.

    ``load`` against ``max_concurrent`` tells a dispatcher who can take one more.
    """
    qs = member_list(request.user, skill=filters.skill, team=filters.team, q=filters.q)
    return MemberPage(qs, member_out)  # type: ignore[return-value]


def member_out(m: Member, load: int = 0) -> dict[str, object]:
    return {
        "id": m.pk,
        "name": m.name,
        "username": m.user.username,
        "team": m.team,
        "skills": [s.code for s in m.skills.all()],
        "max_concurrent": m.max_concurrent,
        "load": load,
    }
