# No "from __future__ import annotations": django-ninja reads these annotations at run time.
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from linli.core.pagination import LazyMap
from linli.core.schemas import CommunityRef, ErrorOut
from linli.people import ages
from linli.people.models import Resident
from linli.people.selectors import MaskedResident, resident_get, resident_list
from linli.people.services import resident_reveal

router = Router(tags=["residents"])


class ResidentFilters(Schema):
    q: str = ""
    age_group: str = ""
    tag: str = ""


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


@router.get("/residents", response={200: list[ResidentOut], 401: ErrorOut, 403: ErrorOut})
@paginate(LimitOffsetPagination)
def residents(request: HttpRequest, filters: Query[ResidentFilters]) -> list[dict[str, object]]:
    """Residents of the caller's community (all, for the city), contact data masked.

    ``q`` matches the name, pinyin initials (``zqb``) or the phone's last four digits.
    """
    qs = resident_list(request.user, q=filters.q, age_group=filters.age_group, tag=filters.tag)
    return LazyMap(qs, resident_out)  # type: ignore[return-value]


@router.get(
    "/residents/{resident_id}",
    response={200: ResidentOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def resident(request: HttpRequest, resident_id: int) -> dict[str, object]:
    return resident_out(resident_get(request.user, resident_id))


class RevealIn(Schema):
    field: str


class RevealOut(Schema):
    field: str
    value: str


@router.post(
    "/residents/{resident_id}/reveal",
    response={200: RevealOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def reveal(request: HttpRequest, resident_id: int, payload: RevealIn) -> dict[str, str]:
    """Show one masked field (phone, id_number or address) in full; the view is audited."""
    value = resident_reveal(
        actor=request.user, resident_id=resident_id, field=payload.field, request=request
    )
    return {"field": payload.field, "value": value}
