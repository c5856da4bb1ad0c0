"""Telling people things: write the outbox now, deliver later, in the reader's language.

``notify`` records one ``Notification`` per recipient in the caller's
transaction (so a message exists exactly when the change it reports does),
and one ``Delivery`` per sending channel; after the commit a job per delivery
(``linli.notify.tasks.deliver``) sends it. ``delivery_attempt`` is that job's
body: claim, render, send, record, retry with backoff.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext

from linli.core.errors import NotFound
from linli.notify import channels
from linli.notify.models import Delivery, Notification

if TYPE_CHECKING:
    from linli.core.models import User

log = logging.getLogger(__name__)

Param = str | int | float | bool | None | dict[str, str]


def each_language(fn: Callable[[], object]) -> dict[str, str]:
    """``fn()`` in every language of the site, e.g. a data name: ``{"zh-hans": …, "en": …}``."""
    out = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            out[code] = str(fn())
    return out


def notify(
    recipients: Iterable[User],
    kind: str,
    message: str,
    params: Mapping[str, Param] | None = None,
    link: str = "",
) -> None:
    """Tell people something. Call inside the transaction of the change it reports.

    ``message`` is the Chinese msgid (marked with ``gettext_noop`` where it is
    written) and ``params`` its values, JSON-serialisable; a dict
    ``{language: text}`` (``each_language``) is picked for each reader. The
    text is rendered when it is read or sent, in the reader's language.
    """
    if not isinstance(params, Mapping | None):
        raise TypeError("notify(recipients, kind, msgid, params, link): params is a mapping")
    params = dict(params or {})
    people = list({r.pk: r for r in recipients}.values())
    if not people:
        return
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(
            recipient=r,
            kind=kind,
            message=str(message)[:500],
            params=params,
            link=link,
            created_at=now,
        )
        for r in people
    )
    configured = channels.configured()
    for channel in configured:
        if channel.immediate:
            for row in rows:
                channel.deliver(outgoing(row))
    sending = [c.name for c in configured if not c.immediate]
    if not sending:
        return
    deliveries = Delivery.objects.bulk_create(
        Delivery(notification=row, channel=name, next_attempt_at=now)
        for row in rows
        for name in sending
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _enqueue(ids))


def _enqueue(ids: list[int]) -> None:
    from linli.notify.tasks import deliver

    for pk in ids:
        try:
            deliver.enqueue(pk)
        except Exception:  # the periodic sweep of due deliveries picks it up
            log.exception("could not enqueue delivery %s", pk)


# --- rendering ------------------------------------------------------------------


def _pick(value: Param, language: str) -> object:
    if isinstance(value, dict):
        return (
            value.get(language)
            or value.get(settings.LANGUAGE_CODE)
            or next(iter(value.values()), "")
        )
    return value


def render(message: str, params: Mapping[str, Param] | None, language: str) -> str:
    """``gettext(message) % params`` in ``language``.

    No params (``{}``): the translation alone, no formatting (as gettext does).
    ``None``: ``message`` is plain text, shown as written.
    """
    if params is None:
        return message
    values = {k: _pick(v, language) for k, v in params.items()}
    with translation.override(language):
        text = gettext(message)
    try:
        return text % values if values else text
    except (KeyError, ValueError, TypeError):
        # A translation that does not fit its params must not lose the message.
        log.warning("notification text %r does not fit its params", message)
        try:
            return message % values
        except (KeyError, ValueError, TypeError):
            return message


def outgoing(n: Notification) -> channels.Outgoing:
    language = n.recipient.language or settings.LANGUAGE_CODE
    return channels.Outgoing(
        notification_id=n.pk,
        recipient=n.recipient,
        kind=n.kind,
        text=render(n.message, n.params, language),
        link=n.link,
        language=language,
    )


# --- delivery -------------------------------------------------------------------


def _backoff(attempt: int) -> dt.timedelta:
    base = settings.LINLI_NOTIFY_RETRY_BACKOFF
    return dt.timedelta(
        seconds=min(base * 2 ** (attempt - 1), settings.LINLI_NOTIFY_RETRY_MAX_WAIT)
    )


def delivery_attempt(delivery_id: int, now: dt.datetime | None = None) -> str:
    """Try to send one delivery once; what happened: sent, retry, failed or skipped.

    The claim is ``UPDATE … WHERE attempts = <as read> AND due AND not
    finished``: of two workers that read the same row, one UPDATE touches
    it and sends, the other touches nothing and skips. A sent or given-up
    delivery is never claimed again. A claim is a lease
    (``LINLI_NOTIFY_LEASE``, longer than any channel's timeout): only a
    worker that died while sending leaves its delivery to be tried again.
    """
    now = now or timezone.now()
    try:
        d = Delivery.objects.select_related("notification__recipient").get(pk=delivery_id)
    except Delivery.DoesNotExist:
        return "skipped"
    active = [Delivery.Status.PENDING, Delivery.Status.SENDING]
    if d.status not in active or d.next_attempt_at > now:
        return "skipped"
    claimed = Delivery.objects.filter(
        pk=d.pk, attempts=d.attempts, status__in=active, next_attempt_at__lte=now
    ).update(
        status=Delivery.Status.SENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + dt.timedelta(seconds=settings.LINLI_NOTIFY_LEASE),
    )
    if claimed != 1:
        return "skipped"
    attempt = d.attempts + 1
    mine = Delivery.objects.filter(pk=d.pk, attempts=attempt, status=Delivery.Status.SENDING)
    try:
        channel = channels.named(d.channel)
        channel.deliver(outgoing(d.notification))
    except Exception as exc:  # noqa: BLE001 - any failure of a channel is retried
        error = f"{type(exc).__name__}: {exc}"[:500]
        if attempt >= settings.LINLI_NOTIFY_MAX_ATTEMPTS:
            mine.update(status=Delivery.Status.FAILED, last_error=error)
            log.error("delivery %s gave up after %s attempts: %s", d.pk, attempt, error)
            return "failed"
        next_at = timezone.now() + _backoff(attempt)
        mine.update(status=Delivery.Status.PENDING, next_attempt_at=next_at, last_error=error)
        log.warning(
            "delivery %s failed (attempt %s), again at %s: %s", d.pk, attempt, next_at, error
        )
        _enqueue_retry(d.pk, next_at)
        return "retry"
    mine.update(status=Delivery.Status.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def _enqueue_retry(pk: int, at: dt.datetime) -> None:
    from linli.notify.tasks import deliver

    try:
        if deliver.get_backend().supports_defer:
            deliver.using(run_after=at).enqueue(pk)
    except Exception:  # the periodic sweep of due deliveries picks it up
        log.exception("could not enqueue the retry of delivery %s", pk)


def deliveries_due(now: dt.datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Every delivery that is due (a lost job, a retry, a lapsed lease), tried once."""
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    for pk in ids:
        counts[delivery_attempt(pk, now)] += 1
    return counts


# --- the inbox ------------------------------------------------------------------


def notification_read(*, actor: User, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read (again is fine). Another's is NotFound."""
    n = Notification.objects.filter(pk=notification_id, recipient=actor).first()
    if n is None:
        raise NotFound()
    if n.read_at is None:
        n.read_at = timezone.now()
        # Conditional: a second click keeps the first time.
        Notification.objects.filter(pk=n.pk, read_at__isnull=True).update(read_at=n.read_at)
    return n


def notifications_read_all(*, actor: User) -> int:
    """Mark every unread notification of the actor read; how many were."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
