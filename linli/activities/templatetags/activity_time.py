"""Times of sessions as the pages say them: "12-07 周一 09:00–11:00"."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

register = template.Library()

WEEKDAYS = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]


@register.filter
def weekday(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return str(WEEKDAYS[value.weekday()])


@register.filter
def day(value: dt.date | dt.datetime | None) -> str:
    """ "12-07 周一", with the year when it is not this year's."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    shown = f"{value:%m-%d}" if value.year == timezone.localdate().year else f"{value:%Y-%m-%d}"
    return f"{shown} {weekday(value)}"


@register.filter
def hours(session: object) -> str:
    """ "09:00–11:00" of anything with ``starts`` and ``ends``."""
    a = timezone.localtime(session.starts)  # type: ignore[attr-defined]
    b = timezone.localtime(session.ends)  # type: ignore[attr-defined]
    return f"{a:%H:%M}–{b:%H:%M}"


@register.filter
def span(session: object) -> str:
    """ "12-07 周一 09:00–11:00"."""
    return f"{day(session.starts)} {hours(session)}"  # type: ignore[attr-defined]


@register.filter
def iso(value: dt.date) -> str:
    return value.isoformat()
