"""Organising, signing up, attendance and birthday invitations, through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.activities import selectors, services
from linli.activities.models import Activity, Attendance, Invitation, Session, Signup
from linli.activities.tests.helpers import at, grandson, hall, make_activity, next_weekday, resident
from linli.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from linli.core.models import User
from linli.network import services as calendar
from linli.notify.models import Notification
from linli.people.models import Contact, Guardianship, Resident
from linli.site.testing import Cast

pytestmark = pytest.mark.django_db


def sign(
    cast: Cast,
    activity: Activity,
    person: Resident | None,
    actor: User | None = None,
    session: Session | None = None,
) -> Signup:
    assert person is not None
    return services.signup_create(
        actor=actor or cast.a.dispatcher,
        activity_id=activity.pk,
        person_id=person.pk,
        session_id=session.pk if session else None,
    )


# --- organising ----------------------------------------------------------------------


def test_a_weekday_series_is_materialised_on_the_room_calendar(cast: Cast) -> None:
    first = next_weekday(0)
    until = first + dt.timedelta(days=13)
    activity = make_activity(
        cast,
        mode=Activity.Mode.COURSE,
        rrule=f"FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL={until:%Y%m%d}T235959",
    )
    sessions = list(activity.sessions.order_by("starts"))
    assert len(sessions) == 10
    assert all(timezone.localtime(s.starts).hour == 9 for s in sessions)
    assert all(s.occupancy.room_id == activity.room_id and s.occupancy.held for s in sessions)


def test_a_rule_without_an_end_is_refused(cast: Cast) -> None:
    with pytest.raises(InvalidInput) as err:
        make_activity(cast, mode=Activity.Mode.DROP_IN, rrule="FREQ=WEEKLY;BYDAY=SA")
    assert "rrule" in err.value.fields
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    "rule", ["FREQ=SOMETIMES", "DTSTART:1;FREQ", "FREQ=DAILY;COUNT=100000", "\x00"]
)
def test_junk_rules_are_invalid_input(cast: Cast, rule: str) -> None:
    with pytest.raises(InvalidInput):
        make_activity(cast, mode=Activity.Mode.DROP_IN, rrule=rule)


def test_a_one_off_has_no_rule_and_capacity_fits_the_room(cast: Cast) -> None:
    room = hall(cast, capacity=20)
    with pytest.raises(InvalidInput) as err:
        make_activity(cast, room, rrule="FREQ=DAILY;COUNT=2")
    assert "rrule" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        make_activity(cast, room, capacity=21)
    assert "20" in err.value.fields["capacity"][0]


def test_a_series_overlapping_a_one_off_is_refused_whole(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(5)
    make_activity(
        cast,
        room,
        title="消防安全讲座",
        day=day + dt.timedelta(7),
        starts=at(day + dt.timedelta(7), 15),
        ends=at(day + dt.timedelta(7), 16),
    )
    with pytest.raises(Conflict) as err:
        make_activity(
            cast,
            room,
            title="周末音乐课堂",
            mode=Activity.Mode.DROP_IN,
            starts=at(day, 15),
            ends=at(day, 17),
            rrule="FREQ=WEEKLY;COUNT=4",
        )
    assert "消防安全讲座" in err.value.fields["starts"][0]
    assert Activity.objects.count() == 1


def test_only_organisers_of_the_community_organise(cast: Cast) -> None:
    room = hall(cast)
    for user in (cast.a.resident, cast.a.volunteer, cast.b.dispatcher):
        with pytest.raises(Forbidden):
            make_activity(cast, room, actor=user)
    with pytest.raises(Forbidden):  # a leader only for the team they lead
        make_activity(cast, room, actor=cast.a.leader)
    make_activity(cast, room, actor=cast.a.leader, organiser="team", team=cast.a.team.pk)
    make_activity(cast, room, actor=cast.city, day=next_weekday(3))


def test_moving_one_session_leaves_the_others_and_tells_the_people(cast: Cast) -> None:
    activity = make_activity(cast, mode=Activity.Mode.COURSE, rrule="FREQ=WEEKLY;COUNT=3")
    sign(cast, activity, cast.a.person, actor=cast.a.resident)
    first, second, third = activity.sessions.order_by("starts")
    moved = services.session_move(
        actor=cast.a.dispatcher, session_id=second.pk, starts=second.starts + dt.timedelta(hours=5)
    )
    assert moved.sequence == 1 and moved.ends - moved.starts == dt.timedelta(hours=2)
    first.refresh_from_db()
    third.refresh_from_db()
    assert (first.sequence, third.sequence) == (0, 0)
    assert (
        Notification.objects.filter(recipient=cast.a.resident, kind="activity_moved").count() == 1
    )
    with pytest.raises(Conflict):  # onto the third session's time? no: onto the first's
        services.session_move(actor=cast.a.dispatcher, session_id=third.pk, starts=first.starts)


def test_cancelling_one_session_frees_its_room_only(cast: Cast) -> None:
    activity = make_activity(cast, mode=Activity.Mode.DROP_IN, rrule="FREQ=DAILY;COUNT=3")
    one = activity.sessions.order_by("starts")[1]
    signup = sign(cast, activity, cast.a.person, actor=cast.a.resident, session=one)
    services.session_cancel(actor=cast.a.dispatcher, session_id=one.pk, reason="老师生病")
    one.refresh_from_db()
    signup.refresh_from_db()
    assert one.status == Session.Status.CANCELLED and not one.occupancy.held
    assert signup.status == Signup.Status.CANCELLED
    assert activity.sessions.filter(status="scheduled").count() == 2
    assert Notification.objects.filter(
        recipient=cast.a.resident, kind="activity_cancelled"
    ).exists()
    make_activity(cast, activity.room, title="补位", starts=one.starts, ends=one.ends)


def test_a_closure_cancels_the_sessions_it_covers_and_tells_everyone(cast: Cast) -> None:
    activity = make_activity(cast, mode=Activity.Mode.COURSE, rrule="FREQ=DAILY;COUNT=5")
    sign(cast, activity, cast.a.person, actor=cast.a.resident)
    third = activity.sessions.order_by("starts")[2]
    day = third.date
    calendar.closure_create(
        actor=cast.a.dispatcher,
        center_id=activity.room.center_id,
        room_id=activity.room_id,
        starts=at(day, 0),
        ends=at(day + dt.timedelta(1), 0),
        reason="停电检修",
    )
    third.refresh_from_db()
    assert third.status == Session.Status.CANCELLED and "停电检修" in third.cancel_reason
    assert activity.sessions.filter(status="scheduled").count() == 4
    note = Notification.objects.get(recipient=cast.a.resident, kind="activity_cancelled")
    assert (note.params or {})["title"] == activity.title


def test_cancelling_an_activity_cancels_its_sign_ups(cast: Cast) -> None:
    activity = make_activity(cast)
    signup = sign(cast, activity, cast.a.person, actor=cast.a.resident)
    services.activity_cancel(actor=cast.a.dispatcher, activity_id=activity.pk, reason="天气原因")
    signup.refresh_from_db()
    assert signup.status == Signup.Status.CANCELLED
    assert not activity.sessions.get().occupancy.held
    with pytest.raises(Conflict):
        sign(cast, activity, cast.a.person, actor=cast.a.resident)


# --- sign-up -------------------------------------------------------------------------


def test_places_then_a_waiting_list_then_promotion_in_order(cast: Cast) -> None:
    activity = make_activity(cast, capacity=2)
    people = [resident(cast, f"居民{i}", 70) for i in range(5)]
    signups = [sign(cast, activity, p) for p in people]
    assert [s.status for s in signups] == ["confirmed"] * 2 + ["waitlisted"] * 3
    assert [services.waitlist_position(s) for s in signups] == [None, None, 1, 2, 3]
    services.signup_cancel(actor=cast.a.dispatcher, signup_id=signups[0].pk)
    for s in signups:
        s.refresh_from_db()
    assert [s.status for s in signups] == [
        "cancelled",
        "confirmed",
        "confirmed",
        "waitlisted",
        "waitlisted",
    ]
    assert services.waitlist_position(signups[3]) == 1
    # a waiting sign-up cancelled promotes nobody
    services.signup_cancel(actor=cast.a.dispatcher, signup_id=signups[3].pk)
    signups[4].refresh_from_db()
    assert signups[4].status == "waitlisted" and services.waitlist_position(signups[4]) == 1


def test_more_places_promote_from_the_line(cast: Cast) -> None:
    activity = make_activity(cast, capacity=1)
    a, b, c = (sign(cast, activity, resident(cast, f"居民{i}", 70)) for i in range(3))
    services.activity_capacity_change(actor=cast.a.dispatcher, activity_id=activity.pk, capacity=3)
    b.refresh_from_db()
    c.refresh_from_db()
    assert (b.status, c.status) == ("confirmed", "confirmed")
    assert Notification.objects.filter(kind="activity_promoted").count() == 0  # no accounts to tell


def test_nobody_is_signed_up_twice(cast: Cast) -> None:
    activity = make_activity(cast)
    sign(cast, activity, cast.a.person, actor=cast.a.resident)
    with pytest.raises(Conflict) as err:
        sign(cast, activity, cast.a.person, actor=cast.a.resident)
    assert cast.a.person.name in err.value.message
    assert Signup.objects.count() == 1


def test_age_is_judged_on_the_session_date(cast: Cast) -> None:
    day = next_weekday(0, timezone.localdate() + dt.timedelta(days=20))
    activity = make_activity(cast, audience="children", kind="reading", day=day)
    # 14 today, 15 by the session: outside 0–14
    turning = resident(
        cast, "小明", 14, birth_date=day.replace(year=day.year - 15) - dt.timedelta(days=1)
    )
    with pytest.raises(InvalidInput) as err:
        sign(cast, activity, turning)
    assert "15" in err.value.fields["person"][0]
    grandma = cast.a.person
    with pytest.raises(InvalidInput):
        sign(cast, activity, grandma, actor=cast.a.resident)
    sign(cast, activity, resident(cast, "小红", 9))


def test_a_band_audience_checks_both_ends(cast: Cast) -> None:
    activity = make_activity(cast, audience="band", min_age=6, max_age=12)
    sign(cast, activity, resident(cast, "小六", 6))
    with pytest.raises(InvalidInput):
        sign(cast, activity, resident(cast, "小五", 5))
    with pytest.raises(InvalidInput):
        make_activity(cast, audience="band", min_age=12, max_age=6, day=next_weekday(2))


def test_a_guardian_signs_up_her_grandson_and_nobody_else(cast: Cast) -> None:
    activity = make_activity(cast, audience="children", kind="reading")
    child = grandson(cast)
    s = sign(cast, activity, child, actor=cast.a.resident)
    assert (s.channel, s.signed_up_by) == (Signup.Channel.GUARDIAN, cast.a.resident)
    other = resident(cast, "邻居家孩子", 8)
    with pytest.raises(Forbidden):
        sign(cast, activity, other, actor=cast.a.resident)
    standings = selectors.standings(cast.a.resident, activity, None)
    assert [(st.person, st.signup, st.eligible) for st in standings] == [
        (cast.a.person, None, False),
        (child, s, True),
    ]


def test_the_desk_signs_up_an_elder_without_a_phone(cast: Cast) -> None:
    activity = make_activity(cast, audience="elders")
    elder = resident(cast, "黄奶奶", 86)
    s = sign(cast, activity, elder, actor=cast.a.dispatcher)
    assert s.channel == Signup.Channel.DESK
    with pytest.raises(Forbidden):
        sign(cast, activity, resident(cast, "李爷爷", 82), actor=cast.b.dispatcher)
    with pytest.raises(Forbidden):
        sign(cast, activity, resident(cast, "王爷爷", 82), actor=cast.a.volunteer)


def test_the_window_opens_and_closes(cast: Cast) -> None:
    now = timezone.now()
    later = make_activity(cast, signup_opens=now + dt.timedelta(days=1))
    with pytest.raises(Conflict) as err:
        sign(cast, later, cast.a.person, actor=cast.a.resident)
    assert "开始" in err.value.message
    closed = make_activity(
        cast,
        signup_closes=now - dt.timedelta(minutes=1),
        day=next_weekday(3),
        signup_opens=now - dt.timedelta(days=2),
    )
    with pytest.raises(Conflict) as err:
        sign(cast, closed, cast.a.person, actor=cast.a.resident)
    assert "截止" in err.value.message


def test_a_drop_in_series_is_signed_up_per_session(cast: Cast) -> None:
    activity = make_activity(
        cast, mode=Activity.Mode.DROP_IN, rrule="FREQ=DAILY;COUNT=3", capacity=1
    )
    one, two, _three = activity.sessions.order_by("starts")
    with pytest.raises(InvalidInput) as err:
        sign(cast, activity, cast.a.person, actor=cast.a.resident)
    assert "session" in err.value.fields
    sign(cast, activity, cast.a.person, actor=cast.a.resident, session=one)
    sign(cast, activity, cast.a.person, actor=cast.a.resident, session=two)
    other = sign(cast, activity, resident(cast, "邻居", 70), session=one)
    assert other.status == Signup.Status.WAITLISTED


def test_another_community_cannot_cancel_a_sign_up(cast: Cast) -> None:
    activity = make_activity(cast)
    signup = sign(cast, activity, cast.a.person, actor=cast.a.resident)
    with pytest.raises((Forbidden, NotFound)):
        services.signup_cancel(actor=cast.b.resident, signup_id=signup.pk)
    services.signup_cancel(actor=cast.a.resident, signup_id=signup.pk)
    with pytest.raises(Conflict):
        services.signup_cancel(actor=cast.a.resident, signup_id=signup.pk)


# --- attendance ----------------------------------------------------------------------


def _today_activity(cast: Cast) -> Activity:
    now = timezone.localtime()
    starts = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    room = hall(cast, hours=False)
    return make_activity(cast, room, starts=starts, ends=starts + dt.timedelta(hours=1))


def test_attendance_is_a_contact_and_undoing_it_takes_it_back(cast: Cast) -> None:
    activity = _today_activity(cast)
    signup = sign(cast, activity, cast.a.person, actor=cast.a.resident)
    session = activity.sessions.get()
    services.attendance_record(
        actor=cast.a.dispatcher, session_id=session.pk, signup_id=signup.pk, present=True
    )
    services.attendance_record(
        actor=cast.a.dispatcher, session_id=session.pk, signup_id=signup.pk, present=True
    )
    contact = Contact.objects.get(resident=cast.a.person)
    assert (contact.kind, contact.at) == (Contact.Kind.ACTIVITY, session.starts)
    services.attendance_record(
        actor=cast.a.dispatcher, session_id=session.pk, signup_id=signup.pk, present=False
    )
    assert not Contact.objects.exists()
    assert Attendance.objects.get().status == Attendance.Status.NO_SHOW
    rate = selectors.attendance_rate(activity=activity)
    assert (rate.present, rate.no_show, rate.rate) == (0, 1, 0.0)


def test_check_in_by_code_at_the_door(cast: Cast) -> None:
    activity = _today_activity(cast)
    signup = sign(cast, activity, cast.a.person, actor=cast.a.resident)
    session = activity.sessions.get()
    with pytest.raises(InvalidInput):
        services.checkin_by_code(actor=cast.a.dispatcher, session_id=session.pk, code="ZZZZZZ")
    services.checkin_by_code(
        actor=cast.a.dispatcher, session_id=session.pk, code=signup.code.lower()
    )
    assert Attendance.objects.get().status == Attendance.Status.PRESENT
    with pytest.raises(Forbidden):
        services.checkin_by_code(actor=cast.a.resident, session_id=session.pk, code=signup.code)


def test_attendance_waits_for_the_day(cast: Cast) -> None:
    activity = make_activity(cast, day=next_weekday(0, timezone.localdate() + dt.timedelta(days=3)))
    signup = sign(cast, activity, cast.a.person, actor=cast.a.resident)
    with pytest.raises(Conflict):
        services.attendance_record(
            actor=cast.a.dispatcher,
            session_id=activity.sessions.get().pk,
            signup_id=signup.pk,
            present=True,
        )


# --- 长者生日会 ----------------------------------------------------------------------


def test_birthday_party_invites_the_month_s_elders_once(cast: Cast) -> None:
    day = next_weekday(2, timezone.localdate() + dt.timedelta(days=3))
    party = make_activity(cast, kind="birthday", title="长者生日会", audience="elders", day=day)
    born = lambda age, d=10: day.replace(year=day.year - age, day=d)  # noqa: E731
    with_account = cast.a.person
    assert with_account is not None
    with_account.birth_date = born(82, 1)
    with_account.save(update_fields=["birth_date"])
    ward = resident(cast, "黄奶奶", 0, birth_date=born(88))
    Guardianship.objects.create(ward=ward, guardian=with_account, relation="relative")
    resident(cast, "独居的李爷爷", 0, birth_date=born(75))
    resident(cast, "太年轻", 0, birth_date=born(59))
    resident(
        cast, "别的月份", 0, birth_date=(day + dt.timedelta(days=40)).replace(year=day.year - 70)
    )
    resident(cast, "别的社区", 0, birth_date=born(70), community="b")

    done = services.birthday_invite(actor=cast.a.dispatcher, activity_id=party.pk)
    assert {i.person.name for i in done.sent} == {with_account.name, "黄奶奶", "独居的李爷爷"}
    assert [p.name for p in done.by_phone] == ["独居的李爷爷"]
    # the grandmother hears of her own party and of her ward's
    assert (
        Notification.objects.filter(recipient=cast.a.resident, kind="activity_invitation").count()
        == 2
    )
    again = services.birthday_invite(actor=cast.a.dispatcher, activity_id=party.pk)
    assert (again.sent, again.already) == ([], 3)
    assert Invitation.objects.count() == 3
    eighty = services.birthday_people(cast.a.center.pk, day, 80)
    assert {p.name for p in eighty} == {with_account.name, "黄奶奶"}
