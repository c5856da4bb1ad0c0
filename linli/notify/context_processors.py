from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from linli.notify import selectors


def inbox(request: HttpRequest) -> dict[str, object]:
    """``unread_notifications``: the signed-in user's unread count, one query, only if shown."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": SimpleLazyObject(lambda: selectors.unread_count(user))}
