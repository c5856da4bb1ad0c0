"""The room calendar: one service decides whether a room is free."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from linli.activities.tests.helpers import at, hall, next_weekday
from linli.core.errors import Conflict, InvalidInput
from linli.network import services
from linli.network.models import Occupancy, OpeningHours, Room
from linli.site.testing import ON_POSTGRES, Cast

pytestmark = pytest.mark.django_db


def occupy(
    room: Room,
    starts: dt.datetime,
    ends: dt.datetime,
    title: str = "议事会",
    kind: str = Occupancy.Kind.BOOKING,
) -> Occupancy:
    return services.room_occupy(room_id=room.pk, starts=starts, ends=ends, kind=kind, title=title)


def test_overlapping_intervals_conflict_and_name_the_holder(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(1)
    occupy(room, at(day, 9), at(day, 11), title="红歌大家唱")
    with pytest.raises(Conflict) as err:
        occupy(room, at(day, 10), at(day, 12))
    assert "红歌大家唱" in err.value.message
    assert err.value.fields == {"starts": [err.value.message]}
    assert Occupancy.objects.count() == 1


def test_touching_intervals_do_not_overlap(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(1)
    occupy(room, at(day, 9), at(day, 11))
    occupy(room, at(day, 11), at(day, 12))
    assert Occupancy.objects.count() == 2


def test_another_room_is_free_at_the_same_time(cast: Cast) -> None:
    day = next_weekday(1)
    occupy(hall(cast), at(day, 9), at(day, 11))
    occupy(hall(cast, "b"), at(day, 9), at(day, 11))
    assert Occupancy.objects.count() == 2


def test_a_released_interval_frees_the_room(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(1)
    first = occupy(room, at(day, 9), at(day, 11))
    services.room_release([first])
    occupy(room, at(day, 9), at(day, 11))
    assert Occupancy.objects.filter(released_at__isnull=True).count() == 1


def test_outside_opening_hours_is_refused_with_the_hours(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(2)
    with pytest.raises(Conflict) as err:
        occupy(room, at(day, 20), at(day, 22))
    assert "08:00–21:00" in err.value.message
    assert not Occupancy.objects.exists()


def test_a_center_without_hours_is_open_at_any_time(cast: Cast) -> None:
    room = hall(cast, hours=False)
    day = next_weekday(2)
    occupy(room, at(day, 6), at(day, 23))


def test_a_session_inside_a_split_day_must_fit_one_opening(cast: Cast) -> None:
    room = hall(cast, hours=False)
    day = next_weekday(3)
    OpeningHours.objects.create(center=room.center, weekday=3, opens=dt.time(8), closes=dt.time(12))
    OpeningHours.objects.create(
        center=room.center, weekday=3, opens=dt.time(14), closes=dt.time(18)
    )
    occupy(room, at(day, 14), at(day, 16))
    with pytest.raises(Conflict):
        occupy(room, at(day, 11), at(day, 15))  # over the lunch break


def test_bad_times_are_invalid_not_conflicts(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(1)
    with pytest.raises(InvalidInput) as err:
        occupy(room, at(day, 11), at(day, 9))
    assert "ends" in err.value.fields
    with pytest.raises(InvalidInput):
        occupy(room, dt.datetime(2030, 1, 1, 9), dt.datetime(2030, 1, 1, 10))


def test_a_series_is_all_or_nothing_and_names_each_conflict(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    occupy(room, at(day, 9), at(day, 10), title="议事会")
    spans = [
        (at(day + dt.timedelta(7 * i), 9), at(day + dt.timedelta(7 * i), 11)) for i in range(4)
    ]
    with pytest.raises(Conflict) as err:
        services.room_occupy_many(room_id=room.pk, spans=spans, kind="session", title="书法")
    assert "议事会" in err.value.fields["starts"][0]
    assert Occupancy.objects.count() == 1


def test_moving_an_interval_checks_the_new_time_but_not_itself(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(1)
    a = occupy(room, at(day, 9), at(day, 11))
    occupy(room, at(day, 14), at(day, 16), title="棋艺")
    services.room_move(a, starts=at(day, 10), ends=at(day, 12))  # overlaps its old self only
    assert (a.starts, a.ends) == (at(day, 10), at(day, 12))
    with pytest.raises(Conflict) as err:
        services.room_move(a, starts=at(day, 15), ends=at(day, 17))
    assert "棋艺" in err.value.message
    a.refresh_from_db()
    assert a.starts == at(day, 10)


def test_a_closure_blocks_the_room_and_releases_what_it_covers(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(4)
    booked = occupy(room, at(day, 9), at(day, 11))
    services.closure_create(
        actor=cast.a.dispatcher,
        center_id=room.center_id,
        room_id=None,
        starts=at(day, 0),
        ends=at(day + dt.timedelta(1), 0),
        reason="设备检修",
    )
    booked.refresh_from_db()
    assert booked.released_at is not None
    with pytest.raises(Conflict) as err:
        occupy(room, at(day, 14), at(day, 15))
    assert "设备检修" in err.value.message
    # every room of the center is closed, the canteen too
    assert Occupancy.objects.filter(kind="closure").count() == room.center.rooms.count()


@pytest.mark.skipif(not ON_POSTGRES, reason="the exclusion constraint is PostgreSQL's")
def test_the_database_refuses_an_overlap_written_around_the_service(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(1)
    occupy(room, at(day, 9), at(day, 11))
    with pytest.raises(IntegrityError), transaction.atomic():
        Occupancy.objects.create(
            room=room, kind="booking", title="绕过", starts=at(day, 10), ends=at(day, 12)
        )
