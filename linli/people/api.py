# No "from __future__ import annotations": django-ninja reads these annotations at run time.
from typing import Annotated, Any

from django.core.validators import BaseValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import StrictFloat

from linli.core.errors import InvalidInput
from linli.core.http import AuthedRequest
from linli.core.pagination import LazyMap
from linli.core.schemas import API_POST, CommunityRef, IsoDate, OneOf, errors
from linli.network.models import Center
from linli.people import ages
from linli.people.models import CareTag, Resident
from linli.people.selectors import MASKABLE, MaskedResident, resident_get, resident_list
from linli.people.services import resident_register, resident_reveal

router = Router(tags=["residents"])


class ResidentFilters(Schema):
    q: str = ""
    age_group: Annotated[str, OneOf(ages.BY_CODE, blank=True)] = Field(
        "", description="Residents of this age group today (an unknown one is a 400)."
    )
    tag: str = Field("", description="A care tag code.")


class ResidentOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: str
    age: int
    age_groups: list[str]
    community: CommunityRef
    phone: str
    id_number: str
    address: str
    care_tags: list[str]


def resident_out(r: Resident) -> dict[str, object]:
    masked = MaskedResident(r)
    today = ages.today()
    return {
        "id": r.pk,
        "name": r.name,
        "gender": r.gender,
        "birth_date": r.birth_date.isoformat(),
        "age": ages.age_on(r.birth_date, today),
        "age_groups": [g.code for g in r.age_groups(today)],
        "community": r.community,
        "phone": masked.phone,
        "id_number": masked.id_number,
        "address": masked.address,
        "care_tags": [t.code for t in r.care_tags.all()],
    }


@router.get("/residents", response={200: list[ResidentOut], **errors(400, 401, 403)})
@paginate(LimitOffsetPagination)
def residents(request: AuthedRequest, filters: Query[ResidentFilters]) -> list[dict[str, object]]:
    """Residents of the caller's community (all, for the city), contact data masked.

    ``q`` matches the name, pinyin initials (``zqb``) or the phone's last four digits.
    """
    qs = resident_list(request.user, q=filters.q, age_group=filters.age_group, tag=filters.tag)
    return LazyMap(qs, resident_out)  # type: ignore[return-value]


@router.get(
    "/residents/{resident_id}",
    response={200: ResidentOut, **errors(400, 401, 403, 404)},
)
def resident(request: AuthedRequest, resident_id: int) -> dict[str, object]:
    return resident_out(resident_get(request.user, resident_id))


class RevealIn(Schema):
    field: Annotated[str, OneOf(MASKABLE)]


class RevealOut(Schema):
    field: str
    value: str


@router.post(
    "/residents/{resident_id}/reveal",
    response={200: RevealOut, **errors(*API_POST, 401, 403, 404)},
)
def reveal(request: AuthedRequest, resident_id: int, payload: RevealIn) -> dict[str, str]:
    """Show one masked field (phone, id_number or address) in full; the view is audited."""
    value = resident_reveal(
        actor=request.user, resident_id=resident_id, field=payload.field, request=request
    )
    return {"field": payload.field, "value": value}


# The schema's limits are read off the model's fields, never restated; the
# model's validators (ID checksum, phone, birth date) run in the service.
def _field(name: str) -> models.Field[Any, Any]:
    field = Resident._meta.get_field(name)
    assert isinstance(field, models.Field)  # a column of the model, not a reverse relation
    return field


def _max(name: str) -> int | None:
    return _field(name).max_length


def _bound(name: str, kind: type[BaseValidator]) -> float | None:
    for v in _field(name).validators:
        if isinstance(v, kind):
            return v.limit_value
    return None


class ResidentIn(Schema):
    name: str = Field(min_length=1, max_length=_max("name"))
    gender: Annotated[str, OneOf(Resident.Gender.values)] = Field(max_length=_max("gender"))
    birth_date: IsoDate
    id_number: str = Field("", max_length=_max("id_number"))
    phone: str = Field("", max_length=_max("phone"))
    community: str = Field("", description="Community code; the city only (default: yours).")
    address: str = Field("", max_length=_max("address"))
    lat: StrictFloat | None = Field(
        None, ge=_bound("lat", MinValueValidator), le=_bound("lat", MaxValueValidator)
    )
    lon: StrictFloat | None = Field(
        None, ge=_bound("lon", MinValueValidator), le=_bound("lon", MaxValueValidator)
    )
    care_tags: list[str] = Field(default_factory=list, description="Care tag codes.")


@router.post(
    "/residents",
    response={201: ResidentOut, **errors(*API_POST, 401, 403)},
)
def register(request: AuthedRequest, payload: ResidentIn) -> Status[dict[str, object]]:
    """Register a resident (dispatchers in their community, the city anywhere)."""
    data: dict[str, Any] = payload.dict()
    code = data.pop("community")
    community = None
    if code:
        community = Center.objects.filter(code=code, kind=Center.Kind.COMMUNITY).first()
        if community is None:
            raise InvalidInput(fields={"community": _("社区编码不存在。")})
    codes = data.pop("care_tags")
    tags = list(CareTag.objects.filter(code__in=codes))
    if len(tags) != len(set(codes)):
        raise InvalidInput(fields={"care_tags": _("没有这个关爱标签。")})
    data |= {"community": community, "care_tags": tags}
    resident = resident_register(actor=request.user, data=data, request=request)
    return Status(201, resident_out(resident))
