"""Age groups, always derived from the birth date and today's local date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class AgeGroup:
    code: str
    label: Promise
    min_age: int
    max_age: int | None  # inclusive; None for open-ended


SMALL_CHILD = AgeGroup("small_child", _("幼儿（0–6岁）"), 0, 6)
CHILD = AgeGroup("child", _("儿童（0–14岁）"), 0, 14)
ELDERLY = AgeGroup("elderly", _("老年人（60岁及以上）"), 60, None)
AGED = AgeGroup("aged", _("高龄老人（80岁及以上）"), 80, None)
GROUPS = (SMALL_CHILD, CHILD, ELDERLY, AGED)
BY_CODE = {g.code: g for g in GROUPS}


def today() -> dt.date:
    return timezone.localdate()


def age_on(birth_date: dt.date, on: dt.date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def _years_before(on: dt.date, years: int) -> dt.date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February in a year that has none
        return on.replace(year=on.year - years, day=28)


def birth_date_q(group: AgeGroup, on: dt.date | None = None, field: str = "birth_date") -> Q:
    """A filter selecting people in ``group`` on the given day (default today)."""
    on = on or today()
    # age >= n  ⟺  born on or before the day n years ago
    q = Q(**{f"{field}__lte": _years_before(on, group.min_age)})
    if group.max_age is not None:
        # age <= n  ⟺  born after the day n+1 years ago
        q &= Q(**{f"{field}__gt": _years_before(on, group.max_age + 1)})
    return q


def groups_for(birth_date: dt.date | None, on: dt.date | None = None) -> list[AgeGroup]:
    if birth_date is None:
        return []
    age = age_on(birth_date, on or today())
    return [g for g in GROUPS if age >= g.min_age and (g.max_age is None or age <= g.max_age)]
