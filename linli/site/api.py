# No "from __future__ import annotations": django-ninja reads these annotations at run time.
"""``/api/v1/me``: the caller's account with their resident and member records."""

from ninja import Router, Schema

from linli.core.http import AuthedRequest
from linli.core.schemas import CommunityRef, TeamRef, errors
from linli.people.models import Resident
from linli.teams.models import Member

router = Router(tags=["me"])


class MembershipOut(Schema):
    id: int
    team: TeamRef
    skills: list[str]


class OwnResidentOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: str
    age: int
    phone: str
    address: str
    care_tags: list[str]


class MeOut(Schema):
    id: int
    username: str
    name: str
    role: str
    community: CommunityRef | None
    resident: OwnResidentOut | None
    memberships: list[MembershipOut]


@router.get("/me", response={200: MeOut, **errors(400, 401)}, tags=["me"])
def me(request: AuthedRequest) -> dict[str, object]:
    """The caller's account, role, community, and linked resident and member records."""
    user = request.user
    resident = Resident.objects.filter(account=user).prefetch_related("care_tags").first()
    memberships = Member.objects.filter(user=user).select_related("team").prefetch_related("skills")
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.display_name,
        "role": user.role,
        "community": user.community,
        "resident": None
        if resident is None
        else {
            "id": resident.pk,
            "name": resident.name,
            "gender": resident.gender,
            "birth_date": resident.birth_date.isoformat(),
            "age": resident.age,
            # Their own record: nothing is masked from its owner.
            "phone": resident.phone,
            "address": resident.address,
            "care_tags": [t.code for t in resident.care_tags.all()],
        },
        "memberships": [
            {"id": m.pk, "team": m.team, "skills": [s.code for s in m.skills.all()]}
            for m in memberships
        ],
    }
