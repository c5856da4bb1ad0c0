# No "from __future__ import annotations": django-ninja reads these annotations at run time.
import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from linli.core.boundary import DATETIME_MAX, DATETIME_MIN, datetime_problem


def _sane(value: dt.datetime) -> dt.datetime:
    if problem := datetime_problem(value):
        raise ValueError(problem)
    return value


def _datetime_text(value: object) -> object:
    # Pydantic would read a number as seconds since 1970: the API takes text only.
    if not isinstance(value, str | dt.datetime):
        raise ValueError(_("请输入 ISO 8601 格式的日期时间。"))
    return value


def _date_text(value: object) -> object:
    if not isinstance(value, str | dt.date):
        raise ValueError(_("请输入 ISO 8601 格式的日期，例如 1944-03-05。"))
    return value


# A datetime with an offset, between 1900 and 2200: every datetime the API reads.
SaneDateTime = Annotated[
    dt.datetime,
    BeforeValidator(_datetime_text),
    AfterValidator(_sane),
    Field(
        description=f"ISO 8601 with an offset, from {DATETIME_MIN:%Y} to {DATETIME_MAX:%Y}.",
        json_schema_extra={"format": "date-time"},
    ),
]

# A date as ISO 8601 text (YYYY-MM-DD): every date the API reads.
IsoDate = Annotated[dt.date, BeforeValidator(_date_text)]


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


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error answers of an operation, for its ``response={...}``.

    Every operation can answer 400 (the input boundary refuses bad text in
    any query string), every POST 413 and 415 (a body over the limit, or not
    JSON): the callers list those with the rest (``API_POST`` has them).
    """
    return dict.fromkeys(statuses, ErrorOut)


#: What the input boundary alone answers to any POST: bad input, too large, not JSON.
API_POST = (400, 413, 415)


class OneOf:
    """``Annotated[str, OneOf(values)]``: a text field that takes one of
    ``values`` (or "" with ``blank``) -- an enum in the OpenAPI, and a 400
    naming the field for anything else."""

    def __init__(self, values: Iterable[str], *, blank: bool = False) -> None:
        self.values = [str(v) for v in values]
        self.allowed = ["", *self.values] if blank else self.values

    def check(self, value: str) -> str:
        if value not in self.allowed:
            raise ValueError(
                _("取值必须是 %(expected)s 之一。") % {"expected": ", ".join(self.values)}
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "enum": self.allowed}


class NotBlank:
    """``Annotated[str, NotBlank(message)]``: text that must not be empty or
    only spaces -- the rule of the services, which strip it. ``message`` says
    what is missing (the service's own words)."""

    def __init__(self, message: Promise | str = "") -> None:
        self.message = message

    def check(self, value: str) -> str:
        if not value.strip():
            raise ValueError(str(self.message or _("此字段为必填项。")))
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # For the OpenAPI only: the check above is the one rule (with Python's
        # idea of a space, as the services strip).
        return {**handler(schema), "minLength": 1, "pattern": r"\S"}
