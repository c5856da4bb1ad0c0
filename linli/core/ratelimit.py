"""Rate limits over Django's cache: a fixed window counted per key.

``@rate_limited("order_place", rate=…, key=by_user)`` on an API endpoint
answers 429 in the one error shape once a caller has used up the window. The
cache is Redis in production (``REDIS_URL``), so every web process counts
together; without it each process counts alone (the local-memory cache). A
cache that is down lets requests through (logged): an outage of the limiter
must not stop residents from ordering.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from linli.core.errors import AppError

log = logging.getLogger("linli.ratelimit")

F = TypeVar("F", bound=Callable[..., Any])

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    default_message = _("请求太频繁，请稍后再试。")


def parse_rate(rate: str) -> tuple[int, int]:
    """``"30/m"`` → (30, 60): so many requests per so many seconds."""
    count, _sep, period = rate.partition("/")
    if not count.strip().isdigit() or period.strip() not in PERIODS:
        raise ValueError(f"rate must look like 30/m (s, m, h or d), not {rate!r}")
    return int(count), PERIODS[period.strip()]


def client_ip(request: HttpRequest) -> str:
    """The client's address: with ``LINLI_PROXY_COUNT`` trusted proxies in
    front, the entry they appended to ``X-Forwarded-For``; else the peer."""
    proxies = int(settings.LINLI_PROXY_COUNT)
    if proxies > 0:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))


def by_user(request: HttpRequest) -> str:
    return f"user:{request.user.pk}"


def by_ip(request: HttpRequest) -> str:
    return f"ip:{client_ip(request)}"


def hit(scope: str, key: str, rate: str) -> int | None:
    """Count one request; the seconds to wait when over the limit, else None."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    cache_key = f"rl:{scope}:{key}:{window}"
    try:
        used = _count(cache_key, period + 1)
    except Exception:
        log.exception("rate limit cache unavailable; letting %s through", scope)
        return None
    if used > limit:
        return max(1, int((window + 1) * period - now + 0.999))
    return None


def _count(cache_key: str, timeout: int) -> int:
    """Add one to the window's count and return it."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # One round trip: open the window (SET NX with its expiry) and count,
        # in one MULTI. Django's add() + incr() would take three.
        redis_key = backend.make_and_validate_key(cache_key)
        client = backend._cache.get_client(redis_key, write=True)
        pipe = client.pipeline(transaction=True)
        pipe.set(redis_key, 0, ex=timeout, nx=True)
        pipe.incr(redis_key)
        return int(pipe.execute()[1])
    try:
        cache.add(cache_key, 0, timeout=timeout)
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr: this request opens the window
        cache.set(cache_key, 1, timeout=timeout)
        return 1


def rate_limited(
    scope: str, *, rate: str | Callable[[], str], key: Callable[[HttpRequest], str]
) -> Callable[[F], F]:
    """Refuse calls over ``rate`` per ``key(request)`` with :class:`TooManyRequests`.

    ``rate`` may be a callable (read from settings at call time). The wrapped
    function keeps its signature, so django-ninja still reads its parameters.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            wait = hit(scope, key(request), rate() if callable(rate) else rate)
            if wait is not None:
                raise TooManyRequests(_("请求太频繁，请 %(n)s 秒后再试。") % {"n": wait}, fields={})
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def setting(name: str) -> Callable[[], str]:
    """A rate read from ``settings.<name>`` at call time (tests may change it)."""
    return lambda: str(getattr(settings, name))


#: Orders placed through the API, per account (``LINLI_RATE_ORDER_PLACE``).
limit_order_place = rate_limited("order_place", rate=setting("LINLI_RATE_ORDER_PLACE"), key=by_user)
