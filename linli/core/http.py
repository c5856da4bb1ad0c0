"""Request types for type checking."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from linli.core.models import User


class AuthedRequest(HttpRequest):
    """A request whose user has signed in: what a ``@login_required`` view or an
    API endpoint behind the bearer token receives (``request.user`` is a
    :class:`User`, never ``AnonymousUser``).

    ``htmx`` is set on every request by django-htmx's ``HtmxMiddleware``."""

    user: User
    htmx: HtmxDetails
