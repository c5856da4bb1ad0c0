# No "from __future__ import annotations": django-ninja reads these annotations at run time.
"""``/api/v1/notifications``: the caller's own notifications, in their language."""

import datetime as dt

from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from linli.core.http import AuthedRequest
from linli.core.pagination import LazyMap
from linli.core.schemas import API_POST, errors
from linli.notify import selectors, services
from linli.notify.models import Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    text: str = Field(description="Rendered in the caller's language (their account's).")
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class InboxFilters(Schema):
    unread: bool = Field(False, description="Only the unread ones.")


class UnreadOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int


def _out(n: Notification, language: str) -> dict[str, object]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "text": n.render(language),
        "link": n.link,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


@router.get("/notifications", response={200: list[NotificationOut], **errors(400, 401)})
@paginate(LimitOffsetPagination)
def notifications(request: AuthedRequest, filters: Query[InboxFilters]) -> LazyMap:
    """The caller's notifications, newest first (only their own, whatever their role)."""
    language = request.user.language
    return LazyMap(
        selectors.inbox(request.user, unread=filters.unread), lambda n: _out(n, language)
    )


@router.get("/notifications/unread", response={200: UnreadOut, **errors(400, 401)})
def unread(request: AuthedRequest) -> dict[str, int]:
    """How many of the caller's notifications are unread (the top bar's count)."""
    return {"unread": selectors.unread_count(request.user)}


@router.post("/notifications/read-all", response={200: MarkedOut, **errors(*API_POST, 401)})
def read_all(request: AuthedRequest) -> dict[str, int]:
    """Mark every unread notification of the caller read; how many were."""
    return {"marked": services.notifications_read_all(actor=request.user)}


@router.post(
    "/notifications/{notification_id}/read",
    response={200: NotificationOut, **errors(*API_POST, 401, 404)},
)
def read(request: AuthedRequest, notification_id: int) -> dict[str, object]:
    """Mark one of the caller's notifications read; another person's is a 404."""
    n = services.notification_read(actor=request.user, notification_id=notification_id)
    return _out(n, request.user.language)
