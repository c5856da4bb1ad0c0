# No "from __future__ import annotations": django-ninja reads these annotations at run time.
import datetime as dt
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, Field

from linli.core.boundary import DATETIME_MAX, DATETIME_MIN, datetime_problem


def _sane(value: dt.datetime) -> dt.datetime:
    if problem := datetime_problem(value):
        raise ValueError(problem)
    return value


# A datetime with an offset, between 1900 and 2200: every datetime the API reads.
SaneDateTime = Annotated[
    dt.datetime,
    AfterValidator(_sane),
    Field(
        description=f"ISO 8601 with an offset, from {DATETIME_MIN:%Y} to {DATETIME_MAX:%Y}.",
        json_schema_extra={"format": "date-time"},
    ),
]


class CommunityRef(Schema):
    id: int
    code: str
    name: str


class TeamRef(Schema):
    id: int
    name: str
    kind: str


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]
