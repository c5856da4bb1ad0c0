from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from linli.core.errors import InvalidInput
from linli.core.models import AuditLog
from linli.core.roles import REVEALERS
from linli.core.scoping import require_role
from linli.core.services import audit_record
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
    require_role(actor, REVEALERS)
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
