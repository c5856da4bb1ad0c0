from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from linli.core.roles import MEMBER_VIEWERS
from linli.core.scoping import require_role, scope
from linli.teams.models import Member, Team

if TYPE_CHECKING:
    from linli.core.models import User


def team_list(user: User) -> QuerySet[Team]:
    require_role(user, MEMBER_VIEWERS)
    return (
        scope(user, Team.objects.all())
        .select_related("community", "leader")
        .annotate(member_count=Count("members", filter=Q(members__active=True)))
        .order_by("community__code", "kind", "name")
    )


def member_list(
    user: User, *, skill: str = "", team: int | None = None, q: str = ""
) -> QuerySet[Member]:
    """Active members the user's community may see, by skill code, team, or name."""
    require_role(user, MEMBER_VIEWERS)
    qs = scope(user, Member.objects.filter(active=True), "team__community")
    if skill:
        qs = qs.filter(skills__code=skill)
    if team:
        qs = qs.filter(team_id=team)
    if q := q.strip():
        qs = qs.filter(
            Q(user__first_name__contains=q)
            | Q(user__last_name__contains=q)
            | Q(user__username__icontains=q)
        )
    return (
        qs.select_related("team", "user", "team__community")
        .prefetch_related("skills")
        .order_by("team__community__code", "team__name", "pk")
        .distinct()
    )
