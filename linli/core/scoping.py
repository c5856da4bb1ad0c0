"""Community scoping, in one place.

A staff member of one community sees only that community; the city admin sees
every community; a resident sees only what is theirs. Views and API endpoints
ask here instead of filtering on their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from linli.core.errors import Forbidden, NotFound
from linli.core.roles import Role

if TYPE_CHECKING:
    from linli.core.models import User

M = TypeVar("M", bound=models.Model)


def require_role(user: User, roles: Iterable[str]) -> None:
    """Raise Forbidden unless the user is signed in with one of ``roles``."""
    if not user.is_authenticated or user.role not in set(roles):
        raise Forbidden()


def scope(
    user: User, qs: models.QuerySet[M], community_field: str = "community"
) -> models.QuerySet[M]:
    """Narrow ``qs`` to what the user's community may see.

    ``community_field`` is the lookup path from the model to its community
    center (``"community"``, ``"team__community"`` …).
    """
    if not user.is_authenticated:
        return qs.none()
    if user.role == Role.CITY:
        return qs
    if user.community_id is None:
        return qs.none()
    return qs.filter(**{f"{community_field}_id": user.community_id})


def get_scoped(
    user: User, qs: models.QuerySet[M], community_field: str = "community", **lookup: object
) -> M:
    """One object the user's community may see, or NotFound.

    An object of another community answers exactly as an absent one does, so
    that its existence is not disclosed.
    """
    try:
        return scope(user, qs, community_field).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc
