"""A decision with its reason: what the predicates of every app return.

An app decides "may this user do this to that, now?" in one function that
returns a :class:`Verdict`. The service raises it (``verdict.check(...)``);
pages and the API show the buttons and ``actions`` whose verdicts are
allowed. The two can therefore never disagree.

A refusal says why, translated, and what kind of refusal it is: about who
is asking (``forbidden``: a 403, or a 404 for someone who may not even see
the object), about the object's state (``conflict``: a 409), about the
input (``invalid``: a 400 on ``field``), or that the thing is not there
(``missing``: a 404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from linli.core.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound

Kind = Literal["forbidden", "conflict", "invalid", "missing"]


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    kind: Kind = "conflict"
    field: str = ""

    def __bool__(self) -> bool:
        return self.allowed

    def error(self, visible: Callable[[], bool] | None = None) -> AppError:
        """The error a service raises for this refusal.

        ``visible`` says whether the actor may see the object at all: a
        ``forbidden`` refusal to someone who may not is a 404, so that
        another community's record is indistinguishable from an absent one.
        """
        fields = {self.field: self.reason} if self.field else None
        if self.kind == "forbidden":
            if visible is not None and not visible():
                return NotFound()
            return Forbidden(self.reason or None)
        if self.kind == "missing":
            return NotFound(self.reason or None)
        if self.kind == "invalid":
            return InvalidInput(self.reason or None, fields=fields)
        return Conflict(self.reason or None, fields=fields)

    def check(self, visible: Callable[[], bool] | None = None) -> None:
        """Raise the refusal; nothing when allowed."""
        if not self.allowed:
            raise self.error(visible)


ALLOWED = Verdict(True)


def refuse(reason: str, kind: Kind = "conflict", field: str = "") -> Verdict:
    return Verdict(False, str(reason), kind, field)
