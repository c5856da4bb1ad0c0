# No "from __future__ import annotations": django-ninja reads these annotations at run time.
from django.contrib.auth import authenticate
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from linli.core.errors import AppError
from linli.core.lockout import lockout_message, login_failed_message
from linli.core.ratelimit import by_ip, rate_limited, setting
from linli.core.schemas import API_POST, errors
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


@router.post("/auth/token", auth=None, response={200: TokenOut, **errors(*API_POST, 401, 429)})
@rate_limited("token", rate=setting("LINLI_RATE_TOKEN"), key=by_ip)
def token_create(request: HttpRequest, payload: TokenIn) -> dict[str, str]:
    """Exchange a username and password for a bearer token."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        raise LockedOut(lockout_message())
    if user is None:
        raise Unauthorized(login_failed_message(request))
    return {"token": token_issue(user=user)}


@router.delete("/auth/token", response={204: None, **errors(400, 401)})
def token_delete(request: HttpRequest) -> Status:
    """Revoke the token this request was made with."""
    token_revoke(key=request.headers.get("Authorization", "").partition(" ")[2])
    return Status(204, None)
