from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from linli.notify.models import Notification

if TYPE_CHECKING:
    from linli.core.models import User


def inbox(user: User, unread: bool = False) -> QuerySet[Notification]:
    """The user's own notifications, newest first (only theirs, whatever their role)."""
    qs = Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
