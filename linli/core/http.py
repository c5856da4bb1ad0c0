"""Request types for type checking."""

from __future__ import annotations

from django.http import HttpRequest

from linli.core.models import User


class AuthedRequest(HttpRequest):
    """A request whose user has signed in: what a ``@login_required`` view or an
    API endpoint behind the bearer token receives (``request.user`` is a
    :class:`User`, never ``AnonymousUser``)."""

    user: User
