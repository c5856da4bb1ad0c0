from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models, transaction

from linli.core.models import AuditLog

if TYPE_CHECKING:
    from django.http import HttpRequest

    from linli.core.models import User


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: User,
    action: str,
    target: models.Model,
    field: str = "",
    detail: str = "",
    request: HttpRequest | None = None,
) -> AuditLog:
    return AuditLog.objects.create(
        actor=actor,
        action=action,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        field=field,
        detail=detail[:255],
        ip=client_ip(request),
    )


def token_issue(*, user: User) -> str:
    """Create an API token for ``user`` and return its only plaintext copy."""
    from linli.core.models import ApiToken

    key = ApiToken.generate()
    ApiToken.objects.create(user=user, key_hash=ApiToken.hash(key), prefix=key[:8])
    return key


def token_revoke(*, key: str) -> bool:
    from django.utils import timezone

    from linli.core.models import ApiToken

    return bool(
        ApiToken.objects.active()
        .filter(key_hash=ApiToken.hash(key))
        .update(revoked_at=timezone.now())
    )


# --- passwords ----------------------------------------------------------------

# Easy to read aloud and to type: no 0/o, 1/l/i.
_TEMPORARY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def temporary_password() -> str:
    """A new password a staff member can read out: ``k7m2-p9x4``."""
    import secrets

    chars = [secrets.choice(_TEMPORARY_ALPHABET) for _ in range(8)]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def password_validate(password: str, user: User | None) -> None:
    """Django's password validators; InvalidInput on ``password`` with their messages."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from linli.core.errors import InvalidInput

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0], fields={"password": exc.messages}) from exc


def password_set(*, user: User, password: str) -> None:
    """Give ``user`` a new password and lift a login lockout. Validate it first."""
    from linli.core.lockout import lockout_clear

    user.set_password(password)
    user.save(update_fields=["password"])
    # The failed logins are forgotten once the password is new.
    lockout_clear(user)


def reset_code_issue(*, user: User, now: dt.datetime | None = None) -> str:
    """A new SMS code for ``user``, replacing any earlier one; its only plaintext copy.

    The caller sends it (through ``notify``) in the same transaction.
    """
    from django.conf import settings
    from django.utils import timezone

    from linli.core.models import PasswordResetCode

    now = now or timezone.now()
    code = PasswordResetCode.generate()
    PasswordResetCode.objects.update_or_create(
        user=user,
        defaults={
            "code_hash": PasswordResetCode.hash(user.pk, code),
            "created_at": now,
            "expires_at": now + dt.timedelta(seconds=settings.LINLI_RESET_CODE_TTL),
            "attempts_left": settings.LINLI_RESET_CODE_ATTEMPTS,
            "used_at": None,
        },
    )
    return code


def reset_code_redeem(*, user: User, code: str, now: dt.datetime | None = None) -> bool:
    """Is ``code`` ``user``'s live code? True at most once per code.

    Each guess first spends an attempt (``UPDATE … SET attempts_left =
    attempts_left - 1 WHERE attempts_left > 0 AND unused AND unexpired AND
    the same code``): a guess that spends none is refused unseen, so no more
    than LINLI_RESET_CODE_ATTEMPTS guesses are ever compared, however many
    race. The right one then marks the code used (``WHERE used_at IS
    NULL``): of two requests with the right code, one UPDATE touches the row
    and wins, the other touches nothing and loses.
    """
    from django.db.models import F
    from django.utils import timezone
    from django.utils.crypto import constant_time_compare

    from linli.core.models import PasswordResetCode

    now = now or timezone.now()
    row = PasswordResetCode.objects.filter(user=user).first()
    if row is None:
        return False
    live = PasswordResetCode.objects.filter(
        pk=row.pk,
        created_at=row.created_at,
        used_at__isnull=True,
        expires_at__gt=now,
        attempts_left__gt=0,
    )
    if live.update(attempts_left=F("attempts_left") - 1) != 1:
        return False
    if not constant_time_compare(row.code_hash, PasswordResetCode.hash(user.pk, code.strip())):
        return False
    won = PasswordResetCode.objects.filter(
        pk=row.pk, created_at=row.created_at, used_at__isnull=True
    ).update(used_at=now)
    return won == 1


def password_reset_by_code(
    *,
    user: User,
    code: str,
    password: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Set ``user``'s password if ``code`` is their live SMS code; False otherwise.

    The password is validated first (InvalidInput), so a password the
    validators refuse spends no attempt. A wrong code spends one (kept:
    the transaction commits either way).
    """
    password_validate(password, user)
    with transaction.atomic():
        if not reset_code_redeem(user=user, code=code, now=now):
            return False
        password_set(user=user, password=password)
        audit_record(
            actor=user,
            action=AuditLog.Action.PASSWORD_RESET,
            target=user,
            field="password",
            detail="by SMS code",
            request=request,
        )
    return True
