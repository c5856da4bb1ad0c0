"""``{{ at|when }}``: an order's date and time, with the year when it is not this year's."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def when(value: dt.datetime | None) -> str:
    """ "05-01 09:00" this year, "2027-05-01 09:00" in any other, in the local time zone."""
    if not value:
        return ""
    local = timezone.localtime(value)
    this_year = timezone.localdate().year
    return date_format(local, "m-d H:i" if local.year == this_year else "Y-m-d H:i")
