"""The activity pages: permission matrix, sign-up paths, organiser forms, the sheet, query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.activities import services
from linli.activities.forms import build_rrule
from linli.activities.models import Activity, Attendance, Audience, Invitation, Session, Signup
from linli.activities.tests.helpers import at, grandson, hall, make_activity, next_weekday, resident
from linli.network.models import Room
from linli.people.models import Contact
from linli.site.testing import Cast, client_for, make_user

pytestmark = pytest.mark.django_db

ROLES = ["a.resident", "a.volunteer", "a.leader", "a.dispatcher", "a.school", "city"]


def text(response: Any) -> str:
    return response.content.decode()


def summer_class(cast: Cast, room: Room | None = None, **kw: Any) -> Activity:
    """A summer reading class for children: a course of two weeks of weekdays."""
    first = next_weekday(0)
    until = first + dt.timedelta(days=11)
    return make_activity(
        cast,
        room=room,
        title=kw.pop("title", "暑期阅读班"),
        kind="reading",
        mode=Activity.Mode.COURSE,
        audience=Audience.CHILDREN,
        rrule=f"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL={until:%Y%m%d}T235959",
        **kw,
    )


def soon(cast: Cast, **kw: Any) -> Activity:
    """An activity starting in half an hour, in a room open at any time: attendance may be taken."""
    room = hall(cast, hours=False)
    starts = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    return make_activity(cast, room=room, starts=starts, ends=starts + dt.timedelta(hours=1), **kw)


# --- the permission matrix ------------------------------------------------------------

# page → who of community A (and the city) may open it; the others get 403
PAGES = {
    "activities:index": set(ROLES),
    "activities:mine": set(ROLES),
    "activities:manage": {"a.leader", "a.dispatcher", "a.school", "city"},
    "activities:new": {"a.leader", "a.dispatcher", "a.school", "city"},
    "activities:rooms": {"a.leader", "a.dispatcher", "a.school", "city"},
}


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("who", ROLES)
def test_page_matrix(cast: Cast, page: str, who: str) -> None:
    response = client_for(cast.all_users()[who]).get(reverse(page))
    assert response.status_code == (200 if who in PAGES[page] else 403)


@pytest.mark.parametrize(
    "name, args",
    [
        ("activities:index", []),
        ("activities:mine", []),
        ("activities:manage", []),
        ("activities:new", []),
        ("activities:rooms", []),
        ("activities:detail", [1]),
        ("activities:sheet", [1]),
        ("activities:checkin", ["ABC234"]),
    ],
)
def test_pages_need_login(cast: Cast, name: str, args: list[Any]) -> None:
    response = Client().get(reverse(name, args=args))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize(
    "who, expected",
    [
        ("a.dispatcher", 200),
        ("city", 200),
        ("a.school", 200),
        ("a.resident", 403),
        ("a.volunteer", 403),
        ("a.leader", 403),  # not their team's activity
        ("b.dispatcher", 404),  # other community: as if it did not exist
        ("b.resident", 404),
        ("b.school", 404),
    ],
)
def test_sheet_matrix(cast: Cast, who: str, expected: int) -> None:
    activity = make_activity(cast)
    session = activity.sessions.get()
    response = client_for(cast.all_users()[who]).get(reverse("activities:sheet", args=[session.pk]))
    assert response.status_code == expected


@pytest.mark.parametrize("who", ["b.dispatcher", "b.school", "b.leader"])
def test_other_community_may_not_change_an_activity(cast: Cast, who: str) -> None:
    activity = make_activity(cast)
    session = activity.sessions.get()
    client = client_for(cast.all_users()[who])
    assert (
        client.post(reverse("activities:cancel", args=[activity.pk]), {"reason": "x"}).status_code
        == 404
    )
    assert (
        client.post(
            reverse("activities:session_cancel", args=[session.pk]), {"reason": "x"}
        ).status_code
        == 404
    )
    assert (
        client.post(reverse("activities:capacity", args=[activity.pk]), {"capacity": 5}).status_code
        == 404
    )
    activity.refresh_from_db()
    assert activity.status == Activity.Status.OPEN and activity.capacity == 30


def test_resident_sees_no_organiser_tools_nor_names(cast: Cast) -> None:
    activity = make_activity(cast)
    other = resident(cast, "龙小梅", 70, account=None)
    services.signup_create(actor=cast.a.dispatcher, activity_id=activity.pk, person_id=other.pk)
    page = text(client_for(cast.a.resident).get(reverse("activities:detail", args=[activity.pk])))
    assert "龙小梅" not in page
    assert "签到表" not in page and "取消整个活动" not in page
    staff = text(
        client_for(cast.a.dispatcher).get(reverse("activities:detail", args=[activity.pk]))
    )
    assert "龙小梅" in staff and "签到表" in staff


def test_pages_show_no_phone_nor_address(cast: Cast) -> None:
    activity = make_activity(cast)
    person = cast.a.person
    assert person is not None
    services.signup_create(actor=cast.a.resident, activity_id=activity.pk, person_id=person.pk)
    for user in (cast.a.resident, cast.a.dispatcher):
        client = client_for(user)
        for url in (
            reverse("activities:detail", args=[activity.pk]) + "?q=曾",
            reverse("activities:mine"),
            reverse("activities:sheet", args=[activity.sessions.get().pk]),
        ):
            page = text(client.get(url))
            assert person.phone not in page and person.address not in page
            assert person.id_number not in page


# --- residents: the week's list ------------------------------------------------------


def test_index_lists_this_weeks_sessions_with_places_and_fee(cast: Cast) -> None:
    day = next_weekday(0)
    make_activity(cast, title="红歌大家唱", day=day, capacity=2)
    make_activity(
        cast,
        title="书法班",
        kind="calligraphy",
        day=day,
        fee="10",
        starts=at(day, 14),
        ends=at(day, 16),
    )
    page = text(
        client_for(cast.a.resident).get(reverse("activities:index"), {"week": day.isoformat()})
    )
    assert "红歌大家唱" in page and "书法班" in page
    assert "剩 2 个名额" in page and "免费" in page and "10.00 元" in page
    assert "多功能厅" in page


def test_index_filters_by_kind_and_audience_and_moves_by_week(cast: Cast) -> None:
    day = next_weekday(0)
    make_activity(cast, title="百花合唱", day=day)
    summer_class(cast, room=hall(cast, capacity=40))
    client = client_for(cast.a.resident)
    page = text(
        client.get(reverse("activities:index"), {"week": day.isoformat(), "kind": "reading"})
    )
    assert "暑期阅读班" in page and "百花合唱" not in page
    page = text(
        client.get(reverse("activities:index"), {"week": day.isoformat(), "audience": "elders"})
    )
    # The singing is for everyone, so it is for elders too; the children's class is not.
    assert "百花合唱" in page and "暑期阅读班" not in page
    later = text(
        client.get(reverse("activities:index"), {"week": (day + dt.timedelta(days=21)).isoformat()})
    )
    assert "百花合唱" not in later and "这一周附近没有活动" in later


def test_index_shows_waiting_list_when_full(cast: Cast) -> None:
    day = next_weekday(0)
    activity = make_activity(cast, day=day, capacity=1)
    person = resident(cast, "龙小梅", 70)
    services.signup_create(actor=cast.a.dispatcher, activity_id=activity.pk, person_id=person.pk)
    page = text(
        client_for(cast.a.resident).get(reverse("activities:index"), {"week": day.isoformat()})
    )
    assert "已满，可候补" in page


def test_other_communitys_activity_is_not_near_me(cast: Cast) -> None:
    day = next_weekday(0)
    make_activity(cast, room=hall(cast, "b"), title="兴业戏曲", actor=cast.b.dispatcher, day=day)
    page = text(
        client_for(cast.a.resident).get(reverse("activities:index"), {"week": day.isoformat()})
    )
    assert "兴业戏曲" not in page


def _index_queries(client: Client, day: dt.date) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("activities:index"), {"week": day.isoformat()}).status_code == 200
    return len(ctx.captured_queries)


def test_index_queries_do_not_grow_with_activities(cast: Cast) -> None:
    day = next_weekday(0)
    room = hall(cast)
    make_activity(cast, room=room, day=day)
    client = client_for(cast.a.resident)
    one = _index_queries(client, day)
    for i in range(6):
        a = make_activity(
            cast, room=room, day=day, title=f"活动{i}", starts=at(day, 12 + i), ends=at(day, 13 + i)
        )
        services.signup_create(
            actor=cast.a.dispatcher,
            activity_id=a.pk,
            person_id=resident(cast, f"居民{i}", 65).pk,
        )
    summer_class(cast, room=hall(cast, capacity=40))
    assert _index_queries(client, day) == one


# --- sign-up: oneself, the guardian, the desk -----------------------------------------


def test_resident_signs_up_and_cancels_through_the_page(cast: Cast) -> None:
    activity = make_activity(cast)
    person = cast.a.person
    assert person is not None
    client = client_for(cast.a.resident)
    page = text(client.get(reverse("activities:detail", args=[activity.pk])))
    assert "为 曾庆宝 报名" in page
    response = client.post(reverse("activities:signup", args=[activity.pk]), {"person": person.pk})
    assert response.status_code == 302
    signup = Signup.objects.get(activity=activity, person=person)
    assert signup.status == Signup.Status.CONFIRMED and signup.channel == Signup.Channel.SELF
    page = text(client.get(response["Location"]))
    assert "报名成功" in page and "已报名" in page and "取消报名" in page
    response = client.post(reverse("activities:signup_cancel", args=[signup.pk]))
    assert response.status_code == 302
    signup.refresh_from_db()
    assert signup.status == Signup.Status.CANCELLED


def test_grandmother_signs_up_her_grandson_for_a_summer_class(cast: Cast) -> None:
    activity = summer_class(cast)
    child = grandson(cast)
    client = client_for(cast.a.resident)
    page = text(client.get(reverse("activities:detail", args=[activity.pk])))
    # She herself is too old for it, with the reason; he may.
    assert "为 曾小宝 报名" in page and "这个活动面向儿童" in page
    response = client.post(reverse("activities:signup", args=[activity.pk]), {"person": child.pk})
    assert response.status_code == 302
    signup = Signup.objects.get(person=child)
    assert signup.channel == Signup.Channel.GUARDIAN and signup.session is None
    mine = text(client.get(reverse("activities:mine")))
    assert "暑期阅读班" in mine and "曾小宝" in mine and signup.code in mine and "<svg" in mine


def test_ineligible_person_is_refused_with_the_reason_and_nothing_saved(cast: Cast) -> None:
    activity = summer_class(cast)
    person = cast.a.person
    assert person is not None
    response = client_for(cast.a.resident).post(
        reverse("activities:signup", args=[activity.pk]), {"person": person.pk}
    )
    assert response.status_code == 400
    assert "这个活动面向儿童" in text(response)
    assert not Signup.objects.exists()


def test_one_may_not_sign_up_a_stranger(cast: Cast) -> None:
    activity = make_activity(cast)
    stranger = resident(cast, "龙小梅", 70)
    response = client_for(cast.a.resident).post(
        reverse("activities:signup", args=[activity.pk]), {"person": stranger.pk}
    )
    assert response.status_code == 403
    assert not Signup.objects.exists()


def test_a_full_activity_puts_one_on_the_waiting_list_with_the_position(cast: Cast) -> None:
    activity = make_activity(cast, capacity=1)
    services.signup_create(
        actor=cast.a.dispatcher, activity_id=activity.pk, person_id=resident(cast, "甲", 70).pk
    )
    person = cast.a.person
    assert person is not None
    client = client_for(cast.a.resident)
    response = client.post(
        reverse("activities:signup", args=[activity.pk]), {"person": person.pk}, follow=True
    )
    page = text(response)
    assert "已进入候补，排第 1 位" in page and "候补第 1 位" in page
    assert Signup.objects.get(person=person).status == Signup.Status.WAITLISTED


def test_drop_in_series_signs_up_per_session(cast: Cast) -> None:
    first = next_weekday(5)
    activity = make_activity(
        cast,
        day=first,
        mode=Activity.Mode.DROP_IN,
        rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=3",
        starts=at(first, 15),
        ends=at(first, 17),
    )
    second = activity.sessions.order_by("starts")[1]
    person = cast.a.person
    assert person is not None
    client = client_for(cast.a.resident)
    page = text(
        client.get(reverse("activities:detail", args=[activity.pk]), {"session": second.pk})
    )
    assert "按场报名" in page and "报这一场" in page
    response = client.post(
        reverse("activities:signup", args=[activity.pk]),
        {"person": person.pk, "session": second.pk},
    )
    assert response.status_code == 302 and f"session={second.pk}" in response["Location"]
    assert Signup.objects.get(person=person).session == second


def test_desk_finds_and_signs_up_a_resident_without_a_phone(cast: Cast) -> None:
    activity = make_activity(cast, audience=Audience.ELDERS)
    elder = resident(cast, "龙婆婆", 85, phone="13807719999")
    client = client_for(cast.a.dispatcher)
    url = reverse("activities:detail", args=[activity.pk])
    assert "工作人员代报名" in text(client.get(url))
    results = client.get(url, {"q": "龙婆"}, HTTP_HX_REQUEST="true")
    assert "龙婆婆" in text(results) and "代报名" in text(results)
    assert "13807719999" not in text(results)
    response = client.post(reverse("activities:signup", args=[activity.pk]), {"person": elder.pk})
    assert response.status_code == 302
    signup = Signup.objects.get(person=elder)
    assert signup.channel == Signup.Channel.DESK and signup.signed_up_by == cast.a.dispatcher


def test_desk_search_stays_in_the_activitys_community(cast: Cast) -> None:
    activity = make_activity(cast)
    resident(cast, "龙婆婆", 85, community="b")
    page = text(
        client_for(cast.city).get(
            reverse("activities:detail", args=[activity.pk]), {"q": "龙婆"}, HTTP_HX_REQUEST="true"
        )
    )
    assert "龙婆婆" not in page


@pytest.mark.parametrize("who", ["a.school", "a.resident", "b.dispatcher"])
def test_no_desk_for_others(cast: Cast, who: str) -> None:
    activity = make_activity(cast)
    page = text(
        client_for(cast.all_users()[who]).get(reverse("activities:detail", args=[activity.pk]))
    )
    assert "工作人员代报名" not in page


def test_b_dispatcher_may_not_sign_up_for_community_a(cast: Cast) -> None:
    activity = make_activity(cast)
    elder = resident(cast, "龙婆婆", 85)
    response = client_for(cast.b.dispatcher).post(
        reverse("activities:signup", args=[activity.pk]), {"person": elder.pk}
    )
    assert response.status_code == 403
    assert not Signup.objects.exists()


# --- organisers: new activity, conflicts, changes -------------------------------------


def new_data(room: Room, day: dt.date, **kw: Any) -> dict[str, Any]:
    data = {
        "title": "周末音乐课堂",
        "kind": "music",
        "mode": "one_off",
        "room": room.pk,
        "day": day.isoformat(),
        "start": "15:00",
        "end": "17:00",
        "capacity": 20,
        "audience": "everyone",
        "organiser": "community",
        "fee": "0",
    }
    data.update(kw)
    return data


def test_build_rrule() -> None:
    assert build_rrule(["SA"], dt.date(2026, 8, 29)) == "FREQ=WEEKLY;BYDAY=SA;UNTIL=20260829T235959"
    assert build_rrule(["TU", "MO"], None, "") == "FREQ=WEEKLY;BYDAY=MO,TU"
    assert build_rrule([], dt.date(2026, 8, 29)) == "FREQ=DAILY;UNTIL=20260829T235959"
    assert build_rrule([], None) == ""
    assert build_rrule(["MO"], None, "FREQ=DAILY;COUNT=3") == "FREQ=DAILY;COUNT=3"


def test_dispatcher_creates_a_weekly_series_from_weekdays(cast: Cast) -> None:
    room = hall(cast)
    first = next_weekday(5)
    until = first + dt.timedelta(days=14)
    response = client_for(cast.a.dispatcher).post(
        reverse("activities:new"),
        new_data(room, first, mode="drop_in", weekdays=["SA"], until=until.isoformat()),
    )
    assert response.status_code == 302, text(response)
    activity = Activity.objects.get()
    assert activity.rrule == f"FREQ=WEEKLY;BYDAY=SA;UNTIL={until:%Y%m%d}T235959"
    assert activity.sessions.count() == 3
    assert all(timezone.localtime(s.starts).hour == 15 for s in activity.sessions.all())


def test_new_form_errors_at_their_fields_and_nothing_saved(cast: Cast) -> None:
    room = hall(cast, capacity=10)
    response = client_for(cast.a.dispatcher).post(
        reverse("activities:new"),
        new_data(room, next_weekday(0), capacity=50, start="18:00", end="17:00"),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "end" in form.errors  # the end before the start
    assert "capacity" in form.errors  # more than the room holds
    assert not Activity.objects.exists() and not Session.objects.exists()


def test_new_form_shows_a_conflict_at_the_time_and_saves_nothing(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    make_activity(cast, room=room, day=day)  # 09:00–11:00
    response = client_for(cast.a.dispatcher).post(
        reverse("activities:new"), new_data(room, day, start="10:00", end="12:00")
    )
    assert response.status_code == 409
    assert "红歌大家唱" in " ".join(response.context["form"].errors["start"])
    assert Activity.objects.count() == 1
    assert "✗ 冲突" in text(response)


def test_bad_rule_is_shown_at_the_rule(cast: Cast) -> None:
    room = hall(cast)
    response = client_for(cast.a.dispatcher).post(
        reverse("activities:new"),
        new_data(room, next_weekday(0), mode="drop_in", rrule="FREQ=WEEKLY;BYDAY=SA"),
    )
    assert response.status_code == 400
    assert "rrule" in response.context["form"].errors
    assert not Activity.objects.exists()


def test_plan_endpoint_gives_each_session_free_or_its_conflict(cast: Cast) -> None:
    room = hall(cast)
    monday = next_weekday(0)
    make_activity(cast, room=room, day=monday + dt.timedelta(days=7))
    response = client_for(cast.a.dispatcher).get(
        reverse("activities:plan"),
        {
            "room": str(room.pk),
            "day": monday.isoformat(),
            "start": "09:30",
            "end": "10:30",
            "weekdays": ["MO"],
            "until": (monday + dt.timedelta(days=14)).isoformat(),
        },
        HTTP_HX_REQUEST="true",
    )
    page = text(response)
    assert response.status_code == 200
    assert page.count("✓ 空闲") == 2 and page.count("✗ 冲突") == 1
    assert "已被「红歌大家唱」占用" in page


def test_plan_endpoint_names_closed_hours_and_waits_for_the_times(cast: Cast) -> None:
    room = hall(cast)
    client = client_for(cast.a.dispatcher)
    late = client.get(
        reverse("activities:plan"),
        {
            "room": str(room.pk),
            "day": next_weekday(0).isoformat(),
            "start": "21:00",
            "end": "22:00",
        },
    )
    assert "不开放" in text(late)
    half = client.get(reverse("activities:plan"), {"room": room.pk})
    assert "选好功能室、日期和时间后" in text(half)


def test_plan_endpoint_refuses_another_communitys_room(cast: Cast) -> None:
    room = hall(cast, "b")
    page = text(
        client_for(cast.a.dispatcher).get(
            reverse("activities:plan"),
            {
                "room": str(room.pk),
                "day": next_weekday(0).isoformat(),
                "start": "09:00",
                "end": "10:00",
            },
        )
    )
    assert "空闲" not in page
    assert client_for(cast.a.resident).get(reverse("activities:plan")).status_code == 403


def test_organiser_cancels_one_session_and_the_rest_stay(cast: Cast) -> None:
    activity = summer_class(cast)
    first = activity.sessions.order_by("starts").first()
    assert first is not None
    client = client_for(cast.a.dispatcher)
    response = client.post(
        reverse("activities:session_cancel", args=[first.pk]), {"reason": "暴雨"}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == Session.Status.CANCELLED
    assert activity.sessions.filter(status=Session.Status.SCHEDULED).count() == 9
    page = text(client.get(reverse("activities:detail", args=[activity.pk])))
    assert "暴雨" in page and "已取消" in page


def test_cancel_needs_a_reason(cast: Cast) -> None:
    activity = make_activity(cast)
    response = client_for(cast.a.dispatcher).post(
        reverse("activities:cancel", args=[activity.pk]), {"reason": ""}
    )
    assert response.status_code == 400
    activity.refresh_from_db()
    assert activity.status == Activity.Status.OPEN


def test_organiser_moves_a_session_and_a_conflict_is_refused(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    activity = make_activity(cast, room=room, day=day)
    make_activity(cast, room=room, day=day, title="书法", starts=at(day, 14), ends=at(day, 16))
    session = activity.sessions.get()
    client = client_for(cast.a.dispatcher)
    url = reverse("activities:session_move", args=[session.pk])
    bad = client.post(url, {"day": day.isoformat(), "start": "15:00", "end": "17:00"})
    assert bad.status_code == 409 and "书法" in text(bad)
    good = client.post(url, {"day": day.isoformat(), "start": "17:00", "end": "19:00"})
    assert good.status_code == 302
    session.refresh_from_db()
    assert timezone.localtime(session.starts).hour == 17


def test_capacity_change_promotes_from_the_waiting_list(cast: Cast) -> None:
    activity = make_activity(cast, capacity=1)
    people = [resident(cast, n, 70) for n in ("甲", "乙")]
    for p in people:
        services.signup_create(actor=cast.a.dispatcher, activity_id=activity.pk, person_id=p.pk)
    client = client_for(cast.a.dispatcher)
    url = reverse("activities:capacity", args=[activity.pk])
    assert client.post(url, {"capacity": 2}).status_code == 302
    assert Signup.objects.filter(status=Signup.Status.CONFIRMED).count() == 2
    too_many = client.post(url, {"capacity": 999})
    assert too_many.status_code == 400 and "功能室的容纳人数" in text(too_many)


def test_leader_organises_for_their_team_only(cast: Cast) -> None:
    room = hall(cast)
    client = client_for(cast.a.leader)
    assert cast.a.team is not None
    page = text(client.get(reverse("activities:new")))
    assert cast.a.team.name in page
    response = client.post(
        reverse("activities:new"),
        new_data(room, next_weekday(0), organiser="community", team=""),
    )
    assert response.status_code == 403
    response = client.post(
        reverse("activities:new"),
        new_data(room, next_weekday(0), organiser="team", team=cast.a.team.pk),
    )
    assert response.status_code == 302
    assert Activity.objects.get().team == cast.a.team


def test_manage_lists_the_communitys_activities(cast: Cast) -> None:
    make_activity(cast, title="百花红歌")
    make_activity(cast, room=hall(cast, "b"), title="兴业戏曲", actor=cast.b.dispatcher)
    page = text(client_for(cast.a.dispatcher).get(reverse("activities:manage")))
    assert "百花红歌" in page and "兴业戏曲" not in page


# --- attendance -----------------------------------------------------------------------


def test_sheet_marks_present_and_no_show_and_records_a_contact(cast: Cast) -> None:
    activity = soon(cast)
    session = activity.sessions.get()
    person = cast.a.person
    assert person is not None
    signup = services.signup_create(
        actor=cast.a.resident, activity_id=activity.pk, person_id=person.pk
    )
    client = client_for(cast.a.dispatcher)
    page = text(client.get(reverse("activities:sheet", args=[session.pk])))
    assert "曾庆宝" in page and "应到 1 人" in page
    url = reverse("activities:mark", args=[session.pk])
    row = client.post(url, {"signup": signup.pk, "present": "1"}, HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and 'aria-pressed="true"' in text(row)
    assert Attendance.objects.get().status == Attendance.Status.PRESENT
    assert Contact.objects.filter(resident=person, kind=Contact.Kind.ACTIVITY).count() == 1
    client.post(url, {"signup": signup.pk, "present": "0"}, HTTP_HX_REQUEST="true")
    assert Attendance.objects.get().status == Attendance.Status.NO_SHOW
    assert not Contact.objects.filter(resident=person, kind=Contact.Kind.ACTIVITY).exists()


def test_sheet_too_early_says_so(cast: Cast) -> None:
    activity = make_activity(cast)
    session = activity.sessions.get()
    person = cast.a.person
    assert person is not None
    signup = services.signup_create(
        actor=cast.a.resident, activity_id=activity.pk, person_id=person.pk
    )
    client = client_for(cast.a.dispatcher)
    assert "活动开始前两小时内才能签到" in text(
        client.get(reverse("activities:sheet", args=[session.pk]))
    )
    row = client.post(
        reverse("activities:mark", args=[session.pk]),
        {"signup": signup.pk, "present": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert row.status_code == 409 and not Attendance.objects.exists()


def test_code_at_the_door_checks_in(cast: Cast) -> None:
    activity = soon(cast)
    session = activity.sessions.get()
    person = cast.a.person
    assert person is not None
    signup = services.signup_create(
        actor=cast.a.resident, activity_id=activity.pk, person_id=person.pk
    )
    client = client_for(cast.a.dispatcher)
    url = reverse("activities:checkin_session", args=[session.pk])
    bad = client.post(url, {"code": "ZZZZZZ"})
    assert bad.status_code == 400 and "签到码不对" in text(bad)
    response = client.post(url, {"code": signup.code.lower()}, follow=True)
    assert "签到成功" in text(response)
    assert Attendance.objects.get().status == Attendance.Status.PRESENT


def test_the_qr_link_offers_todays_session_to_the_organiser(cast: Cast) -> None:
    activity = soon(cast)
    session = activity.sessions.get()
    person = cast.a.person
    assert person is not None
    signup = services.signup_create(
        actor=cast.a.resident, activity_id=activity.pk, person_id=person.pk
    )
    url = reverse("activities:checkin", args=[signup.code])
    page = text(client_for(cast.a.dispatcher).get(url))
    assert "曾庆宝" in page and reverse("activities:checkin_session", args=[session.pk]) in page
    assert not Attendance.objects.exists()  # opening the link changes nothing
    # The resident who opens their own code is told to show it; another community: 404.
    own = text(client_for(cast.a.resident).get(url))
    assert "给工作人员扫描" in own and "曾庆宝" not in own
    assert client_for(cast.b.dispatcher).get(url).status_code == 404


def test_attendance_rate_on_the_detail_page(cast: Cast) -> None:
    activity = soon(cast)
    session = activity.sessions.get()
    a, b = resident(cast, "甲", 70), resident(cast, "乙", 70)
    for p, present in ((a, True), (b, False)):
        s = services.signup_create(actor=cast.a.dispatcher, activity_id=activity.pk, person_id=p.pk)
        services.attendance_record(
            actor=cast.a.dispatcher, session_id=session.pk, signup_id=s.pk, present=present
        )
    page = text(client_for(cast.a.dispatcher).get(reverse("activities:detail", args=[activity.pk])))
    assert "50%" in page and "到场率" in page


# --- the rooms' week ------------------------------------------------------------------


def test_rooms_week_shows_sessions_and_closures(cast: Cast) -> None:
    from linli.network import services as calendar

    room = hall(cast)
    day = next_weekday(0)
    activity = make_activity(cast, room=room, day=day)
    calendar.closure_create(
        center_id=cast.a.center.pk,
        room_id=room.pk,
        starts=at(day + dt.timedelta(days=2), 8),
        ends=at(day + dt.timedelta(days=2), 21),
        reason="电路检修",
        actor=cast.a.dispatcher,
    )
    page = text(
        client_for(cast.a.dispatcher).get(reverse("activities:rooms"), {"week": day.isoformat()})
    )
    assert "红歌大家唱" in page and reverse("activities:detail", args=[activity.pk]) in page
    assert "电路检修" in page and "长者食堂" in page
    other = text(
        client_for(cast.b.dispatcher).get(reverse("activities:rooms"), {"week": day.isoformat()})
    )
    assert "红歌大家唱" not in other


def _rooms_queries(client: Client, day: dt.date) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("activities:rooms"), {"week": day.isoformat()}).status_code == 200
    return len(ctx.captured_queries)


def test_rooms_week_queries_do_not_grow_with_activities(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    make_activity(cast, room=room, day=day)
    client = client_for(cast.a.dispatcher)
    one = _rooms_queries(client, day)
    for i in range(5):
        make_activity(
            cast,
            room=room,
            day=day + dt.timedelta(days=i % 3),
            title=f"活动{i}",
            starts=at(day + dt.timedelta(days=i % 3), 12 + i),
            ends=at(day + dt.timedelta(days=i % 3), 13 + i),
        )
    summer_class(cast, room=hall(cast, capacity=40))
    assert _rooms_queries(client, day) == one


def test_city_picks_the_community(cast: Cast) -> None:
    day = next_weekday(0)
    make_activity(cast, room=hall(cast, "b"), title="兴业戏曲", actor=cast.b.dispatcher, day=day)
    page = text(
        client_for(cast.city).get(
            reverse("activities:rooms"),
            {"week": day.isoformat(), "community": str(cast.b.center.pk)},
        )
    )
    assert "兴业戏曲" in page


# --- 长者生日会 -----------------------------------------------------------------------


def test_birthday_page_invites_and_lists_who_to_phone(cast: Cast) -> None:
    day = next_weekday(2)
    activity = make_activity(cast, title="十二月长者生日会", kind="birthday", day=day)
    # Born in the party's month (not today's): 82 and 65 then.
    born = day.replace(year=day.year - 82, day=1)
    resident(cast, "龙婆婆", 82, birth_date=born)
    reachable = resident(cast, "韦公公", 65, birth_date=born.replace(year=day.year - 65))
    reachable.account = make_user("weigg", "resident", cast.a.center)
    reachable.save()
    client = client_for(cast.a.dispatcher)
    url = reverse("activities:birthday", args=[activity.pk])
    page = text(client.get(url))
    assert "龙婆婆" in page and "韦公公" in page and "发出邀请（2 位）" in page
    page80 = text(client.get(url, {"min_age": 80}))
    assert "龙婆婆" in page80 and "韦公公" not in page80
    response = client.post(url, {"min_age": 60}, follow=True)
    page = text(response)
    assert "需要电话邀请（1 位）" in page and "已发出 1 份邀请" in page
    assert Invitation.objects.count() == 2
    assert client_for(cast.b.dispatcher).get(url).status_code == 404
    assert client_for(cast.a.resident).get(url).status_code == 403


def test_birthday_page_only_for_birthday_parties(cast: Cast) -> None:
    activity = make_activity(cast)
    response = client_for(cast.a.dispatcher).get(reverse("activities:birthday", args=[activity.pk]))
    assert response.status_code == 404


# --- languages ------------------------------------------------------------------------


def test_pages_render_in_english(cast: Cast) -> None:
    activity = summer_class(cast)
    grandson(cast)
    client = client_for(cast.a.dispatcher)
    client.cookies["django_language"] = "en"
    session = activity.sessions.order_by("starts").first()
    assert session is not None
    for url in (
        reverse("activities:index"),
        reverse("activities:detail", args=[activity.pk]),
        reverse("activities:mine"),
        reverse("activities:manage"),
        reverse("activities:new"),
        reverse("activities:rooms"),
        reverse("activities:sheet", args=[session.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'lang="en"' in text(response)
