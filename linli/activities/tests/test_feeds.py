"""The iCalendar feeds: they parse back, in Asia/Shanghai, with cancellations and secrets kept."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.test import Client
from django.urls import NoReverseMatch, include, path, reverse
from django.utils import timezone

from linli.activities import feed_urls, feeds, services
from linli.activities import urls as activity_urls
from linli.activities.models import Activity, Feed
from linli.activities.tests.helpers import at, grandson, hall, make_activity, next_weekday
from linli.core.models import AuditLog
from linli.orders import services as orders
from linli.site.testing import Cast

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _root_with_feeds() -> list[Any]:
    """The site's routes with the feeds under the activities namespace (as the pages include them)."""
    from linli import urls as root

    out: list[Any] = []
    for p in root.urlpatterns:
        if getattr(p, "namespace", None) == "activities":
            out.append(
                path(
                    "activities/",
                    include(
                        (activity_urls.urlpatterns + feed_urls.urlpatterns, "activities"),
                        namespace="activities",
                    ),
                )
            )
        else:
            out.append(p)
    return out


urlpatterns = _root_with_feeds()


@pytest.fixture(autouse=True)
def feeds_routed(settings: Any) -> None:
    """Until the pages' urls.py includes feed_urls, route the feeds through this module."""
    try:
        reverse("activities:feed_room", args=[1])
    except NoReverseMatch:
        settings.ROOT_URLCONF = __name__


def fetch(url: str, status: int = 200) -> icalendar.Calendar:
    r = Client().get(url)
    assert r.status_code == status, r.content[:300]
    assert r["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(r.content)


def when(event: icalendar.Event) -> tuple[dt.datetime, dt.datetime]:
    """An event's start and end, as the timed (not all-day) datetimes they must be."""
    start, end = event.start, event.end
    assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
    return start, end


def course(cast: Cast, **kw: Any) -> Activity:
    first = next_weekday(0)
    return make_activity(
        cast,
        title="暑期书法班",
        kind="calligraphy",
        mode=Activity.Mode.COURSE,
        rrule=f"FREQ=DAILY;BYDAY=MO,TU,WE;UNTIL={first + dt.timedelta(days=2):%Y%m%d}T235959",
        day=first,
        **kw,
    )


def test_room_feed_parses_back_in_shanghai_time_with_its_timezone(cast: Cast) -> None:
    activity = course(cast)
    cal = fetch(feeds.room_path(activity.room))
    assert [tz.tz_name for tz in cal.timezones] == ["Asia/Shanghai"]
    events = sorted(cal.events, key=lambda e: e.start)
    assert len(events) == 3
    first = activity.sessions.order_by("starts").first()
    assert events[0].start == at(next_weekday(0), 9)
    start, end = when(events[0])
    assert start.tzinfo == SHANGHAI
    assert (start.hour, end.hour) == (9, 11)
    assert str(events[0]["UID"]) == f"session-{first.pk}@linli"
    assert events[0]["LOCATION"] == f"多功能厅，{cast.a.center.name}"
    assert events[0]["SUMMARY"] == "暑期书法班"
    assert events[0].get("STATUS") == "CONFIRMED"
    raw = Client().get(feeds.room_path(activity.room)).content.decode()
    assert "DTSTART;TZID=Asia/Shanghai:" in raw and "BEGIN:VTIMEZONE" in raw


def test_a_cancelled_and_a_moved_session_are_marked(cast: Cast) -> None:
    activity = course(cast)
    one, two, _three = activity.sessions.order_by("starts")
    services.session_cancel(actor=cast.a.dispatcher, session_id=one.pk, reason="台风")
    new_start = at(two.date, 14)
    services.session_move(
        actor=cast.a.dispatcher, session_id=two.pk, starts=new_start, ends=at(two.date, 16)
    )
    cal = fetch(feeds.activity_path(activity))
    by_uid = {str(e["UID"]): e for e in cal.events}
    cancelled = by_uid[f"session-{one.pk}@linli"]
    assert cancelled["STATUS"] == "CANCELLED" and cancelled["SEQUENCE"] == 1
    moved = by_uid[f"session-{two.pk}@linli"]
    assert moved["STATUS"] == "CONFIRMED" and moved["SEQUENCE"] == 1
    assert when(moved)[0] == new_start and when(moved)[0].hour == 14


def test_public_feeds_name_nobody(cast: Cast) -> None:
    activity = course(cast, audience="children")
    child = grandson(cast)
    services.signup_create(actor=cast.a.resident, activity_id=activity.pk, person_id=child.pk)
    for url in (feeds.activity_path(activity), feeds.room_path(activity.room)):
        body = Client().get(url).content.decode()
        assert child.name not in body and cast.a.person.name not in body


def test_unknown_feeds_are_404(cast: Cast) -> None:
    assert Client().get("/activities/feeds/999999.ics").status_code == 404
    assert Client().get("/activities/feeds/rooms/99999999999999999999999.ics").status_code == 404
    assert Client().get("/activities/feeds/me/nope.ics").status_code == 404
    assert Client().post(feeds.room_path(hall(cast))).status_code == 405


def test_personal_feed_has_the_wards_sessions_and_a_rotation_revokes_it(cast: Cast) -> None:
    activity = course(cast, audience="children")
    child = grandson(cast)
    services.signup_create(actor=cast.a.resident, activity_id=activity.pk, person_id=child.pk)
    other = make_activity(cast, title="防溺水讲座", day=next_weekday(2))
    old = feeds.feed_url(cast.a.resident)
    assert old.startswith("/activities/feeds/me/")
    cal = fetch(old)
    summaries = sorted(str(e["SUMMARY"]) for e in cal.events)
    assert summaries == ["暑期书法班（曾小宝）"] * 3
    assert other.title not in Client().get(old).content.decode()
    feeds.feed_rotate(actor=cast.a.resident)
    new = feeds.feed_url(cast.a.resident)
    assert new != old
    assert Client().get(old).status_code == 404
    assert len(fetch(new).events) == 3
    assert AuditLog.objects.filter(
        actor=cast.a.resident, target_type="activities.feed", field="secret"
    ).exists()
    assert Feed.objects.filter(user=cast.a.resident).count() == 1


def test_personal_feed_shows_a_members_accepted_slot_in_its_window(cast: Cast) -> None:
    day = timezone.localdate() + dt.timedelta(days=2)
    start, end = at(day, 9, 30), at(day, 11)
    timed = orders.order_place(
        actor=cast.a.resident,
        item="home_repair",
        urgency="scheduled",
        window_start=start,
        window_end=end,
    )
    untimed = orders.order_place(actor=cast.a.resident, item="home_repair")
    for o in (timed, untimed):
        orders.order_dispatch(actor=cast.a.dispatcher, order_id=o.pk, member_id=cast.a.member.pk)
        orders.order_accept(actor=cast.a.volunteer, order_id=o.pk)
    cal = fetch(feeds.feed_url(cast.a.volunteer))
    [event] = cal.events
    assert str(event["UID"]) == f"order-{timed.pk}-slot-1@linli"
    assert when(event) == (start, end)
    assert (when(event)[0].hour, when(event)[0].minute) == (9, 30)
    assert event["SUMMARY"] == "服务：家政维修"
    assert (
        cast.a.person.address not in Client().get(feeds.feed_url(cast.a.volunteer)).content.decode()
    )


def test_an_inactive_users_feed_is_gone(cast: Cast) -> None:
    url = feeds.feed_url(cast.a.resident)
    cast.a.resident.is_active = False
    cast.a.resident.save(update_fields=["is_active"])
    assert Client().get(url).status_code == 404


def test_the_site_routes_the_feeds() -> None:
    """The pages' urls.py includes feed_urls: the API's feed links resolve on the real site."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve("/activities/feeds/rooms/1.ics", urlconf="linli.urls")
    except Resolver404:
        pytest.fail("linli/activities/urls.py must include feed_urls.urlpatterns")
    assert match.view_name == "activities:feed_room"
