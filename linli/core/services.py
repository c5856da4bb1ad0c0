from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

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
