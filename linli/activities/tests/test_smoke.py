from __future__ import annotations

import pytest

from linli.activities import services
from linli.activities.models import Activity, Signup
from linli.activities.tests.helpers import grandson, hall, make_activity
from linli.core.errors import Conflict
from linli.site.testing import Cast


def test_series_and_conflict_and_signup(cast: Cast) -> None:
    room = hall(cast)
    series = make_activity(
        cast,
        room,
        mode=Activity.Mode.COURSE,
        kind="reading",
        title="暑期阅读班",
        audience="children",
        rrule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6",
        capacity=2,
    )
    assert series.sessions.count() == 6
    with pytest.raises(Conflict) as err:
        make_activity(cast, room, title="撞车")
    assert "暑期阅读班" in err.value.fields["starts"][0]
    child = grandson(cast)
    s = services.signup_create(actor=cast.a.resident, activity_id=series.pk, person_id=child.pk)
    assert s.status == Signup.Status.CONFIRMED and s.channel == Signup.Channel.GUARDIAN
