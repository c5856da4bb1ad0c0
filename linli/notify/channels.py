"""Where notifications go: every channel implements ``Channel``.

``settings.LINLI_NOTIFY_CHANNELS`` lists the dotted paths of the channels in
use. An *immediate* channel delivers inside ``notify``'s transaction (the
inbox: the notification row is the delivery). Every other channel gets a
``Delivery`` row per notification and is sent by a job after the commit;
``deliver`` raises to fail, and the job tries again later.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from linli.core.models import User


@dataclass(frozen=True)
class Outgoing:
    """A notification as one recipient gets it: the text rendered in their language."""

    notification_id: int
    recipient: User
    kind: str
    text: str
    link: str
    language: str


class Channel(Protocol):
    name: ClassVar[str]
    immediate: ClassVar[bool]

    def deliver(self, message: Outgoing) -> None:
        """Send one message, or raise (the job keeps the error and retries)."""
        ...


class InboxChannel:
    """The inbox page and API: nothing to send, the row is there once it is written."""

    name = "inbox"
    immediate = True

    def deliver(self, message: Outgoing) -> None:
        return None


class ConsoleChannel:
    """One line on the worker's standard output (the demo's SMS)."""

    name = "console"
    immediate = False

    def deliver(self, message: Outgoing) -> None:
        print(f"[notify] {message.recipient.username}: {message.text}", file=sys.stdout, flush=True)


class WebhookError(Exception):
    pass


class WebhookChannel:
    """A JSON POST to ``LINLI_NOTIFY_WEBHOOK_URL`` (the city's SMS gateway).

    The body: ``{"id", "notification", "recipient": {"id", "username",
    "name"}, "phone", "kind", "text", "link", "language"}``; ``phone`` is the
    one on the recipient's resident record, or null. ``id`` (also the
    ``Idempotency-Key`` header) names the delivery, so a gateway can drop the
    rare repeat after a worker died mid-send. Anything but a 2xx within
    ``LINLI_NOTIFY_WEBHOOK_TIMEOUT`` seconds is a failure.
    """

    name = "webhook"
    immediate = False

    def deliver(self, message: Outgoing) -> None:
        url = settings.LINLI_NOTIFY_WEBHOOK_URL
        if not url:
            raise WebhookError("LINLI_NOTIFY_WEBHOOK_URL is not set")
        body = json.dumps(self.payload(message), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": f"linli-{message.notification_id}-{self.name}",
        }
        if settings.LINLI_NOTIFY_WEBHOOK_TOKEN:
            headers["Authorization"] = f"Bearer {settings.LINLI_NOTIFY_WEBHOOK_TOKEN}"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(  # noqa: S310 - the URL is the operator's setting
                request, timeout=settings.LINLI_NOTIFY_WEBHOOK_TIMEOUT
            ) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise WebhookError(f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise WebhookError(str(getattr(exc, "reason", exc))) from exc
        if not 200 <= status < 300:
            raise WebhookError(f"HTTP {status}")

    @staticmethod
    def payload(message: Outgoing) -> dict[str, object]:
        from linli.people.models import Resident

        user = message.recipient
        phone = (
            Resident.objects.filter(account=user)
            .exclude(phone="")
            .values_list("phone", flat=True)
            .first()
        )
        return {
            "id": f"linli-{message.notification_id}-webhook",
            "notification": message.notification_id,
            "recipient": {"id": user.pk, "username": user.username, "name": user.display_name},
            "phone": phone,
            "kind": message.kind,
            "text": message.text,
            "link": message.link,
            "language": message.language,
        }


def configured() -> list[Channel]:
    return [import_string(path)() for path in settings.LINLI_NOTIFY_CHANNELS]


def named(name: str) -> Channel:
    """The configured channel of that name (a delivery row keeps only the name)."""
    for channel in configured():
        if channel.name == name:
            return channel
    raise LookupError(f"no notification channel {name!r} in LINLI_NOTIFY_CHANNELS")
