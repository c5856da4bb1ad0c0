from __future__ import annotations

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
from linli.people.models import Resident
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
