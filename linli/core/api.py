# No "from __future__ import annotations": django-ninja reads these annotations at run time.
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from linli.core.errors import AppError
from linli.core.schemas import CommunityRef, ErrorOut, TeamRef
from linli.core.services import token_issue, token_revoke

router = Router(tags=["auth"])


class TokenIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(Schema):
    token: str


class LockedOut(AppError):
    status = 429
    code = "locked_out"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


@router.post(
    "/auth/token", auth=None, response={200: TokenOut, 400: ErrorOut, 401: ErrorOut, 429: ErrorOut}
)
def token_create(request: HttpRequest, payload: TokenIn) -> dict[str, str]:
    """Exchange a username and password for a bearer token."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        raise LockedOut(_("登录失败次数过多,账号已暂时锁定,请 15 分钟后再试。"))
    if user is None:
        raise Unauthorized(_("用户名或密码错误。"))
    return {"token": token_issue(user=user)}


@router.delete("/auth/token", response={204: None, 401: ErrorOut})
def token_delete(request: HttpRequest) -> Status:
    """Revoke the token this request was made with."""
    token_revoke(key=request.headers.get("Authorization", "").partition(" ")[2])
    return Status(204, None)


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


@router.get("/me", response={200: MeOut, 401: ErrorOut}, tags=["me"])
def me(request: HttpRequest) -> dict[str, object]:
    """The caller's account, role, community, and linked resident and member records."""
    from linli.people.models import Resident
    from linli.teams.models import Member

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
