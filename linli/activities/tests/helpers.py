"""Activities for tests: a hall with opening hours, an activity put on through the service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from linli.activities import services
from linli.activities.models import Activity, Audience
from linli.network.models import OpeningHours, Room
from linli.people.models import Guardianship, Resident
from linli.site.testing import Cast

TZ = timezone.get_fixed_timezone(8 * 60)


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    """Local (Asia/Shanghai) time on ``day``."""
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=timezone.get_current_timezone())


def next_weekday(weekday: int, after: dt.date | None = None) -> dt.date:
    """The next ``weekday`` (0 = Monday) strictly after ``after`` (default today)."""
    day = (after or timezone.localdate()) + dt.timedelta(days=1)
    while day.weekday() != weekday:
        day += dt.timedelta(days=1)
    return day


def hall(cast: Cast, community: str = "a", capacity: int = 60, hours: bool = True) -> Room:
    """A 多功能厅 in the community's center, open 08:00–21:00 every day."""
    center = getattr(cast, community).center
    room = Room.objects.create(
        center=center, name="多功能厅", kind=Room.Kind.HALL, capacity=capacity
    )
    if hours and not OpeningHours.objects.filter(center=center).exists():
        OpeningHours.objects.bulk_create(
            OpeningHours(center=center, weekday=d, opens=dt.time(8), closes=dt.time(21))
            for d in range(7)
        )
    return room


def make_activity(cast: Cast, room: Room | None = None, **kw: Any) -> Activity:
    """An activity put on by the community's dispatcher; next Monday 09:00–11:00 by default."""
    room = room or hall(cast)
    day = kw.pop("day", None) or next_weekday(0)
    actor = kw.pop("actor", cast.a.dispatcher)
    data = services.ActivityInput(
        title=kw.pop("title", "红歌大家唱"),
        kind=kw.pop("kind", "singing"),
        room=room.pk,
        starts=kw.pop("starts", at(day, 9)),
        ends=kw.pop("ends", at(day, 11)),
        capacity=kw.pop("capacity", 30),
        mode=kw.pop("mode", Activity.Mode.ONE_OFF),
        audience=kw.pop("audience", Audience.EVERYONE),
        **kw,
    )
    return services.activity_create(actor=actor, data=data)


def grandson(cast: Cast, age: int = 8) -> Resident:
    """A child of community a whose guardian is a.person (the grandmother's account)."""
    today = timezone.localdate()
    child = Resident.objects.create(
        name="曾小宝",
        gender=Resident.Gender.MALE,
        birth_date=today.replace(year=today.year - age) - dt.timedelta(days=30),
        community=cast.a.center,
    )
    assert cast.a.person is not None
    Guardianship.objects.create(
        ward=child, guardian=cast.a.person, relation=Guardianship.Relation.GRANDPARENT
    )
    return child


def resident(cast: Cast, name: str, age: int, community: str = "a", **kw: Any) -> Resident:
    today = timezone.localdate()
    return Resident.objects.create(
        name=name,
        gender=kw.pop("gender", Resident.Gender.FEMALE),
        birth_date=kw.pop(
            "birth_date", today.replace(year=today.year - age) - dt.timedelta(days=40)
        ),
        community=getattr(cast, community).center,
        **kw,
    )
