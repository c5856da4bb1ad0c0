# No "from __future__ import annotations": django-ninja reads these annotations at run time.
from ninja import Schema


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
