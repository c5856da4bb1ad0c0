from __future__ import annotations

from django.http import HttpRequest

from linli.core.roles import IMPORTERS, MEMBER_VIEWERS, RESIDENT_VIEWERS, Role


def roles(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    role = getattr(user, "role", None) if user is not None and user.is_authenticated else None
    return {
        "Role": Role,
        "can_view_residents": role in RESIDENT_VIEWERS,
        "can_import_residents": role in IMPORTERS,
        "can_view_members": role in MEMBER_VIEWERS,
    }
