"""Residents with real-looking, valid ID numbers for the admin and limits tests."""

from __future__ import annotations

import datetime as dt

from linli.people.models import Resident
from linli.people.validators import id_check_char


def valid_id(birth: dt.date, seq: int, region: str = "450481") -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


BIRTH_DATE = dt.date(1944, 3, 5)


def make_resident(community: object, birth_date: dt.date = BIRTH_DATE, **kw: object) -> Resident:
    values: dict[str, object] = {
        "name": "韦秀英",
        "gender": "F",
        "birth_date": birth_date,
        "id_number": valid_id(birth_date, 124),  # 4: even, a woman
        "phone": "13807745678",
        "address": "岑溪市岑城镇百花路18号3栋201",
        "community": community,
    }
    values.update(kw)
    return Resident.objects.create(**values)
