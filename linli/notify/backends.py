"""Pluggable notification delivery.

``settings.LINLI_NOTIFY_BACKENDS`` lists dotted paths of backends; each gets
every message. The outbox writes in the caller's transaction, so a message
exists exactly when the change it reports does; the others deliver after the
commit. No SMS provider is built in: ``SmsBackend`` takes one from
``settings.LINLI_SMS_PROVIDER`` (a class implementing ``SmsProvider``).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from linli.core.models import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    recipient: User
    kind: str
    text: str
    link: str = ""


class Backend(Protocol):
    def send(self, messages: list[Message]) -> None: ...


class OutboxBackend:
    def send(self, messages: list[Message]) -> None:
        from linli.notify.models import Notification

        Notification.objects.bulk_create(
            Notification(recipient=m.recipient, kind=m.kind, text=m.text[:500], link=m.link)
            for m in messages
        )


class ConsoleBackend:
    def send(self, messages: list[Message]) -> None:
        def write() -> None:
            for m in messages:
                print(f"[notify] {m.recipient.username}: {m.text}", file=sys.stdout, flush=True)

        transaction.on_commit(write)


class SmsProvider(Protocol):
    """What an SMS gateway adapter implements."""

    def send_sms(self, phone: str, text: str) -> None: ...


class SmsBackend:
    """Texts people who have a phone on their resident record, after commit."""

    def __init__(self) -> None:
        path = getattr(settings, "LINLI_SMS_PROVIDER", "")
        self.provider: SmsProvider | None = import_string(path)() if path else None

    def send(self, messages: list[Message]) -> None:
        if self.provider is None:
            return
        provider = self.provider

        def deliver() -> None:
            from linli.people.models import Resident

            phones = dict(
                Resident.objects.filter(account__in=[m.recipient for m in messages])
                .exclude(phone="")
                .values_list("account_id", "phone")
            )
            for m in messages:
                phone = phones.get(m.recipient.pk)
                if phone:
                    try:
                        provider.send_sms(phone, m.text)
                    except Exception:  # a gateway failure must not undo the change it reports
                        log.exception("SMS to user %s failed", m.recipient.pk)

        transaction.on_commit(deliver)


def backends() -> list[Backend]:
    return [import_string(path)() for path in settings.LINLI_NOTIFY_BACKENDS]
