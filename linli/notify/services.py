from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from linli.notify.backends import Message, backends

if TYPE_CHECKING:
    from linli.core.models import User


def notify(recipients: Iterable[User], kind: str, text: str, link: str = "") -> None:
    """Tell people something. Call inside the transaction of the change it reports."""
    messages = [
        Message(recipient=r, kind=kind, text=str(text), link=link)
        for r in {r.pk: r for r in recipients}.values()
    ]
    if not messages:
        return
    for backend in backends():
        backend.send(messages)
