from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from linli.core.errors import Forbidden, InvalidInput
from linli.core.models import AuditLog
from linli.core.roles import IMPORTERS, Role, may_reveal
from linli.core.scoping import require_role
from linli.core.services import audit_record
from linli.people.models import Contact, Resident
from linli.people.selectors import MASKABLE, resident_get

if TYPE_CHECKING:
    from django.http import HttpRequest

    from linli.core.models import User


def resident_reveal(
    *, actor: User, resident_id: int, field: str, request: HttpRequest | None = None
) -> str:
    """Return one personal field unmasked and write the view to the audit log.

    Only dispatchers (their own community) and the city admin may reveal; the
    audit entry and the answer are one transaction, so no reveal goes unlogged.
    """
    if not may_reveal(actor):
        raise Forbidden()
    if field not in MASKABLE:
        raise InvalidInput(fields={"field": _("只能查看电话、身份证号或住址。")})
    resident = resident_get(actor, resident_id)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditLog.Action.REVEAL,
            target=resident,
            field=field,
            request=request,
        )
    return getattr(resident, field)


# The fields a resident is registered with, on the page, in the API and in the admin.
REGISTER_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "community",
    "address",
    "lat",
    "lon",
    "care_tags",
)


def resident_register(
    *, actor: User, data: Mapping[str, Any], request: HttpRequest | None = None
) -> Resident:
    """Register one resident; every limit is the model's (``full_clean``).

    ``data`` holds REGISTER_FIELDS (``community`` a Center, ``care_tags``
    CareTags); a dispatcher registers in their own community only. Raises
    Forbidden for other roles, InvalidInput with the model's messages.
    """
    require_role(actor, IMPORTERS)
    community = data.get("community")
    if actor.role != Role.CITY:
        community = actor.community
    values = {k: v for k, v in data.items() if k not in ("community", "care_tags")}
    resident = Resident(community=community, **values)
    try:
        resident.full_clean()
    except ValidationError as exc:
        raise InvalidInput(fields=exc.message_dict) from exc
    with transaction.atomic():
        resident.save()
        tags = list(data.get("care_tags") or ())
        if tags:
            resident.care_tags.set(tags)
        given = [k for k in REGISTER_FIELDS if data.get(k) not in (None, "", [], ())]
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=resident,
            detail="fields: " + ", ".join(given),
            request=request,
        )
    return resident


def resident_password_reset(
    *, actor: User, resident_id: int, password: str = "", request: HttpRequest | None = None
) -> str:
    """Set a new password for a resident's account at the desk; return it.

    ``password`` as the staff member typed it (Django's validators apply),
    or empty for a generated temporary one. Nothing else changes (the
    resident is not made to change it). The lockout of that account is
    lifted, and the audit log says who reset whose password -- never the
    password. Another community's resident is NotFound, other roles Forbidden.
    """
    from linli.core.services import password_set, password_validate, temporary_password
    from linli.people.permissions import may_reset_password

    resident = resident_get(actor, resident_id)
    # resident_get found the record in the actor's scope: a refusal is a 403.
    may_reset_password(actor, resident).check(visible=lambda: True)
    account = resident.account
    assert account is not None  # the predicate refuses a resident without one
    if password:
        password_validate(password, account)
    else:
        password = temporary_password()
    with transaction.atomic():
        password_set(user=account, password=password)
        audit_record(
            actor=actor,
            action=AuditLog.Action.PASSWORD_RESET,
            target=account,
            field="password",
            detail=f"at the desk, for resident #{resident.pk}",
            request=request,
        )
    return password


def contact_record(
    *,
    resident_id: int,
    kind: str,
    at: dt.datetime,
    source: str,
    by: User | None = None,
    note: str = "",
) -> Contact:
    """Record that someone met ``resident_id`` in person at ``at`` -- the one way in.

    Every capability that meets a person (an order served at home, an activity
    attended, a visit, a meal served) calls this; the safety net reads
    :class:`~linli.people.models.Contact`. ``source`` identifies the meeting
    in its own app ("activities.attendance:12"): recording it again keeps one
    row, so a retried job or a second tap counts once."""
    if kind not in Contact.Kind.values:
        raise ValueError(f"unknown contact kind {kind!r}")
    contact, _created = Contact.objects.get_or_create(
        resident_id=resident_id,
        source=source[:64],
        defaults={"kind": kind, "at": at, "by": by, "note": note[:200]},
    )
    return contact


def contact_withdraw(*, resident_id: int, source: str) -> None:
    """Take back a meeting recorded in error (an attendance ticked by mistake)."""
    Contact.objects.filter(resident_id=resident_id, source=source[:64]).delete()
