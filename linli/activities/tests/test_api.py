"""The activities API: the week, organising, sign-up paths, attendance, the room week, feeds.

Each endpoint's permission matrix (allowed, forbidden, other community), its
errors with their fields, 409s naming the conflict, and the list endpoints'
query counts.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.activities import services
from linli.activities.models import Activity, Session, Signup
from linli.activities.tests.helpers import at, grandson, hall, make_activity, next_weekday, resident
from linli.activities.tests.test_feeds import feeds_routed, urlpatterns  # noqa: F401 - the routes
from linli.core.models import User
from linli.core.services import token_issue
from linli.site.testing import RACE_MARKS, Cast, make_cast, race

pytestmark = pytest.mark.django_db
API = "/api/v1/activities"


def api(user: User | None) -> Client:
    if user is None:
        return Client()
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")


def warm(user: User) -> Client:
    """A client whose token was used already (its first use is written down: one more query)."""
    client = api(user)
    client.get(f"{API}/kinds")
    return client


def post(user: User | None, url: str, body: Any = None) -> Any:
    data = body if isinstance(body, str) else json.dumps(body or {})
    return api(user).post(url, data, content_type="application/json")


def get(user: User | None, url: str, **params: Any) -> Any:
    return api(user).get(url, params)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def body_for(room_id: int, day: dt.date, **kw: Any) -> dict[str, Any]:
    return {
        "title": kw.pop("title", "红歌大家唱"),
        "kind": kw.pop("kind", "singing"),
        "room": room_id,
        "starts": iso(kw.pop("starts", at(day, 9))),
        "ends": iso(kw.pop("ends", at(day, 11))),
        "capacity": kw.pop("capacity", 20),
        **kw,
    }


def soon(cast: Cast, **kw: Any) -> Activity:
    """An activity starting within the hour, in a room open at all times (attendance may be taken)."""
    room = hall(cast, hours=False)
    starts = (timezone.now() + dt.timedelta(minutes=30)).replace(microsecond=0)
    return make_activity(cast, room, starts=starts, ends=starts + dt.timedelta(hours=1), **kw)


# --- the week's sessions --------------------------------------------------------------


def test_the_week_lists_sessions_with_places(cast: Cast) -> None:
    activity = make_activity(cast, capacity=2)
    services.signup_create(
        actor=cast.a.resident, activity_id=activity.pk, person_id=cast.a.person.pk
    )
    monday = next_weekday(0)
    r = get(cast.a.resident, f"{API}/sessions", **{"from": monday.isoformat()})
    assert r.status_code == 200, r.content
    [row] = r.json()
    assert row["activity"]["title"] == "红歌大家唱"
    assert row["places_left"] == 1 and row["waiting"] == 0
    assert row["room"]["center"]["name"] == cast.a.center.name
    # 兴业's resident sees their own community's week: not 百花's.
    assert get(cast.b.resident, f"{API}/sessions", **{"from": monday.isoformat()}).json() == []
    other = get(
        cast.b.resident, f"{API}/sessions", community=cast.a.center.pk, **{"from": str(monday)}
    )
    assert len(other.json()) == 1
    # A week that does not hold it.
    assert (
        get(cast.a.resident, f"{API}/sessions", **{"from": str(monday + dt.timedelta(1))}).json()
        == []
    )


def test_the_week_filters_by_audience_and_kind(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    make_activity(cast, room, title="少儿书法", kind="calligraphy", audience="children", day=day)
    make_activity(cast, room, title="长者生日会", kind="birthday", audience="elders",
                  starts=at(day, 14), ends=at(day, 16))  # fmt: skip
    make_activity(cast, room, title="亲子有约", kind="parent_child", audience="families",
                  starts=at(day, 17), ends=at(day, 18))  # fmt: skip
    frm = {"from": str(day)}

    def titles(**kw: Any) -> list[str]:
        r = get(cast.a.resident, f"{API}/sessions", **frm, **kw)
        assert r.status_code == 200, r.content
        return [x["activity"]["title"] for x in r.json()]

    assert titles() == ["少儿书法", "长者生日会", "亲子有约"]
    assert titles(audience="children") == ["少儿书法", "亲子有约"]
    assert titles(kind="birthday") == ["长者生日会"]
    bad = get(cast.a.resident, f"{API}/sessions", audience="martians")
    assert bad.status_code == 400 and "audience" in bad.json()["fields"]
    assert get(cast.a.resident, f"{API}/sessions", **{"from": "tomorrow"}).status_code == 400
    assert get(cast.a.resident, f"{API}/sessions", days=500).status_code == 400
    for far in ("9999-12-31", "0001-01-01", "0", "20261207"):
        assert get(cast.a.resident, f"{API}/sessions", **{"from": far}).status_code == 400
        assert get(cast.a.dispatcher, f"{API}/rooms/week", day=far).status_code == 400
    assert get(None, f"{API}/sessions").status_code == 401


def test_the_weeks_query_count_does_not_grow_with_sessions(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    make_activity(cast, room, day=day)
    client = warm(cast.a.resident)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(f"{API}/sessions", {"from": str(day)}).json()) == 1
    for hour in (12, 14, 16, 18):
        a = make_activity(cast, room, day=day, starts=at(day, hour), ends=at(day, hour + 1),
                          mode=Activity.Mode.DROP_IN, rrule="FREQ=DAILY;COUNT=3")  # fmt: skip
        services.signup_create(
            actor=cast.a.resident,
            activity_id=a.pk,
            person_id=cast.a.person.pk,
            session_id=a.sessions.first().pk,
        )
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(f"{API}/sessions", {"from": str(day)}).json()) == 13
    assert len(many) == len(few)


# --- one activity -----------------------------------------------------------------


def test_detail_shows_the_grandmothers_standing_and_her_actions(cast: Cast) -> None:
    activity = make_activity(cast, title="暑期阅读班", kind="reading", audience="children")
    child = grandson(cast)
    r = get(cast.a.resident, f"{API}/{activity.pk}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["places_left"] == 30 and body["waiting"] == 0
    assert body["actions"] == []
    assert [s["actions"] for s in body["sessions"]] == [[]]
    standing = {s["person"]["name"]: s for s in body["standing"]}
    grandmother = standing[cast.a.person.name]
    assert not grandmother["eligible"] and "儿童" in grandmother["reason"]
    assert grandmother["actions"] == []
    assert standing[child.name]["eligible"] and standing[child.name]["actions"] == ["signup"]
    assert body["feed"] == f"/activities/feeds/{activity.pk}.ics"
    # After signing up, the grandson holds a place with a code.
    post(cast.a.resident, f"{API}/{activity.pk}/signups", {"person": child.pk})
    after = {
        s["person"]["id"]: s
        for s in get(cast.a.resident, f"{API}/{activity.pk}").json()["standing"]
    }
    mine = after[child.pk]
    assert mine["signup"]["status"] == "confirmed" and len(mine["signup"]["code"]) == 6
    assert mine["actions"] == ["cancel_signup"]


def test_detail_actions_follow_the_organisers(cast: Cast) -> None:
    activity = make_activity(cast)
    everything = ["cancel", "capacity", "invite", "desk_signup", "sheet"]
    for user, expected in [
        (cast.a.dispatcher, everything),
        (cast.city, everything),
        (cast.a.school, ["cancel", "capacity", "invite", "sheet"]),
        (cast.a.leader, []),  # not their team's
        (cast.b.dispatcher, []),
        (cast.a.volunteer, []),
    ]:
        body = get(user, f"{API}/{activity.pk}").json()
        assert body["actions"] == expected, user
        session_actions = ["move", "cancel"] if "cancel" in expected else []
        assert body["sessions"][0]["actions"] == session_actions
    assert get(cast.a.resident, f"{API}/999999").status_code == 404
    assert get(cast.a.resident, f"{API}/99999999999999999999").status_code in (400, 404)


def test_a_drop_in_detail_answers_for_the_session_asked(cast: Cast) -> None:
    activity = make_activity(
        cast, mode=Activity.Mode.DROP_IN, rrule="FREQ=WEEKLY;COUNT=3", capacity=1
    )
    one, two, _ = activity.sessions.order_by("starts")
    services.signup_create(actor=cast.a.resident, activity_id=activity.pk,
                           person_id=cast.a.person.pk, session_id=two.pk)  # fmt: skip
    body = get(cast.a.resident, f"{API}/{activity.pk}", session=two.pk).json()
    assert body["places_left"] is None
    assert [(s["confirmed"], s["waiting"]) for s in body["sessions"]] == [(0, 0), (1, 0), (0, 0)]
    [me] = body["standing"]
    assert me["session"] == two.pk and me["signup"]["session"] == two.pk
    [first] = get(cast.a.resident, f"{API}/{activity.pk}").json()["standing"]
    assert first["session"] == one.pk and first["signup"] is None and first["actions"] == ["signup"]
    other = make_activity(cast, title="另一个", day=next_weekday(3))
    assert (
        get(cast.a.resident, f"{API}/{activity.pk}", session=other.sessions.get().pk).status_code
        == 404
    )


# --- organising -------------------------------------------------------------------


def test_a_series_is_created_and_a_clash_is_a_409_naming_it(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(5)
    r = post(cast.a.dispatcher, API, body_for(room.pk, day, mode="drop_in", rrule="FREQ=WEEKLY;COUNT=4",
                                              kind="music", title="周末音乐课堂", fee="5.00"))  # fmt: skip
    assert r.status_code == 201, r.content
    body = r.json()
    assert len(body["sessions"]) == 4 and body["fee"] == "5.00"
    assert body["actions"] == ["cancel", "capacity", "invite", "desk_signup", "sheet"]
    clash = post(cast.a.dispatcher, API, body_for(room.pk, day + dt.timedelta(14), title="消防安全讲座",
                                                  kind="fire_safety", starts=at(day + dt.timedelta(14), 10),
                                                  ends=at(day + dt.timedelta(14), 12)))  # fmt: skip
    assert clash.status_code == 409, clash.content
    err = clash.json()
    assert err["code"] == "conflict"
    assert "已被「周末音乐课堂」占用" in err["message"] and "starts" in err["fields"]
    assert Activity.objects.count() == 1


def test_a_series_clashing_in_several_sessions_counts_them(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    make_activity(cast, room, day=day, mode=Activity.Mode.DROP_IN, rrule="FREQ=WEEKLY;COUNT=3")
    r = post(cast.a.dispatcher, API, body_for(room.pk, day, mode="course", rrule="FREQ=DAILY;COUNT=8",
                                              title="暑期书法班", kind="calligraphy"))  # fmt: skip
    assert r.status_code == 409
    assert "2 场" in r.json()["message"]
    assert all("红歌大家唱" in m for m in r.json()["fields"]["starts"])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("a.dispatcher", 201),
        ("city", 201),
        ("a.school", 201),
        ("a.leader", 403),  # only for the team they lead
        ("a.resident", 403),
        ("a.volunteer", 403),
        ("b.dispatcher", 403),
    ],
)
def test_who_may_put_on_an_activity(cast: Cast, who: str, status: int) -> None:
    room = hall(cast)
    r = post(cast.all_users()[who], API, body_for(room.pk, next_weekday(1)))
    assert r.status_code == status, r.content
    if status == 403:
        assert r.json()["code"] == "forbidden" and r.json()["message"]


def test_a_leader_puts_on_their_teams_activity(cast: Cast) -> None:
    room = hall(cast)
    r = post(
        cast.a.leader,
        API,
        body_for(room.pk, next_weekday(1), organiser="team", team=cast.a.team.pk),
    )
    assert r.status_code == 201, r.content
    assert r.json()["team"]["id"] == cast.a.team.pk
    assert r.json()["organiser_name"] == cast.a.team.name


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starts": "2030-07-07T09:00:00"}, "starts"),  # naive
        ({"ends": "2030-07-07T09:00:00+08:00", "starts": "2030-07-07T10:00:00+08:00"}, "ends"),
        ({"starts": "9999-12-31T23:00:00+08:00"}, "starts"),
        ({"mode": "drop_in", "rrule": "FREQ=SOMETIMES"}, "rrule"),
        ({"mode": "drop_in", "rrule": "FREQ=WEEKLY"}, "rrule"),  # never ends
        ({"mode": "drop_in", "rrule": "FREQ=DAILY;COUNT=100000"}, "rrule"),
        ({"mode": "drop_in", "rrule": "FREQ=YEARLY;INTERVAL=1000;COUNT=400"}, "rrule"),
        ({"rrule": "FREQ=DAILY;COUNT=2"}, "rrule"),  # a one-off has no rule
        ({"capacity": 0}, "capacity"),
        ({"capacity": 61}, "capacity"),  # more than the room holds
        ({"capacity": 10**30}, "capacity"),
        ({"capacity": "12"}, "capacity"),
        ({"title": "   "}, "title"),
        ({"title": "红\x00歌"}, "title"),
        ({"title": "长" * 101}, "title"),
        ({"kind": "juggling"}, "kind"),
        ({"room": 99999999}, "room"),
        ({"audience": "band"}, "min_age"),
        ({"audience": "band", "min_age": 10, "max_age": 5}, "max_age"),
        ({"min_age": 500}, "min_age"),
        ({"fee": "abc"}, "fee"),
        ({"fee": -1}, "fee"),
        ({"fee": 1e300}, "fee"),
        ({"mode": "sometimes"}, "mode"),
        ({"team": 99999999}, "team"),
        ({"signup_opens": "2030-07-02T09:00:00+08:00", "signup_closes": "2030-07-01T09:00:00+08:00"},
         "signup_closes"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(
    cast: Cast, change: dict[str, Any], field: str
) -> None:
    room = hall(cast)
    body = {**body_for(room.pk, next_weekday(1)), **change}
    r = post(cast.a.dispatcher, API, body)
    assert r.status_code == 400, r.content
    assert field in r.json()["fields"], r.json()
    assert r.json()["code"] == "invalid"
    assert not Activity.objects.exists()


def test_junk_bodies_are_4xx(cast: Cast) -> None:
    assert post(cast.a.dispatcher, API, "not json").status_code in (400, 415)
    assert post(cast.a.dispatcher, API, "[]").status_code == 400
    assert post(cast.a.dispatcher, API, {}).status_code == 400
    assert post(None, API, {}).status_code == 401


def test_the_plan_answers_each_session_free_or_why_not(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    make_activity(cast, room, day=day + dt.timedelta(7))
    r = post(cast.a.dispatcher, f"{API}/plan", {"room": room.pk, "starts": iso(at(day, 10)),
                                                 "ends": iso(at(day, 12)), "rrule": "FREQ=WEEKLY;COUNT=3"})  # fmt: skip
    assert r.status_code == 200, r.content
    assert [p["free"] for p in r.json()] == [True, False, True]
    assert "红歌大家唱" in r.json()[1]["reason"] and r.json()[0]["reason"] == ""
    late = post(cast.a.dispatcher, f"{API}/plan",
                {"room": room.pk, "starts": iso(at(day, 21)), "ends": iso(at(day, 22))})  # fmt: skip
    assert not late.json()[0]["free"] and "不开放" in late.json()[0]["reason"]
    assert post(cast.a.resident, f"{API}/plan", {"room": room.pk, "starts": iso(at(day, 10)),
                                                  "ends": iso(at(day, 12))}).status_code == 403  # fmt: skip
    assert post(cast.b.dispatcher, f"{API}/plan", {"room": room.pk, "starts": iso(at(day, 10)),
                                                    "ends": iso(at(day, 12))}).status_code == 403  # fmt: skip
    junk = post(cast.a.dispatcher, f"{API}/plan", {"room": room.pk, "starts": iso(at(day, 10)),
                                                    "ends": iso(at(day, 12)), "rrule": "FREQ=;;"})  # fmt: skip
    assert junk.status_code == 400 and "rrule" in junk.json()["fields"]
    assert not Activity.objects.filter(title="").exists()
    assert Session.objects.count() == 1


def test_moving_a_session_into_another_is_a_409_and_the_series_stays(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    series = make_activity(
        cast, room, day=day, mode=Activity.Mode.DROP_IN, rrule="FREQ=WEEKLY;COUNT=3"
    )
    talk = make_activity(cast, room, title="防溺水讲座", kind="drowning", day=day,
                         starts=at(day, 14), ends=at(day, 15))  # fmt: skip
    first = series.sessions.order_by("starts").first()
    r = post(cast.a.dispatcher, f"{API}/sessions/{first.pk}/move", {"starts": iso(at(day, 14))})
    assert r.status_code == 409 and "防溺水讲座" in r.json()["message"]
    moved = post(cast.a.dispatcher, f"{API}/sessions/{first.pk}/move", {"starts": iso(at(day, 16))})
    assert moved.status_code == 200, moved.content
    sessions = {s["id"]: s for s in moved.json()["sessions"]}
    assert sessions[first.pk]["sequence"] == 1
    assert timezone.localtime(dt.datetime.fromisoformat(sessions[first.pk]["ends"])).hour == 18
    assert [s["sequence"] for s in moved.json()["sessions"]].count(0) == 2
    assert (
        post(
            cast.a.resident, f"{API}/sessions/{first.pk}/move", {"starts": iso(at(day, 17))}
        ).status_code
        == 403
    )
    assert (
        post(
            cast.b.dispatcher, f"{API}/sessions/{first.pk}/move", {"starts": iso(at(day, 17))}
        ).status_code
        == 404  # another community: as if there were none
    )
    assert post(cast.a.dispatcher, f"{API}/sessions/999999/move", {}).status_code == 404
    naive = post(
        cast.a.dispatcher, f"{API}/sessions/{first.pk}/move", {"starts": "2030-01-01T10:00:00"}
    )
    assert naive.status_code == 400 and "starts" in naive.json()["fields"]
    assert talk.sessions.get().scheduled


def test_cancelling_a_session_then_the_activity(cast: Cast) -> None:
    activity = make_activity(cast, mode=Activity.Mode.DROP_IN, rrule="FREQ=WEEKLY;COUNT=2")
    one, two = activity.sessions.order_by("starts")
    assert (
        post(cast.a.dispatcher, f"{API}/sessions/{one.pk}/cancel", {"reason": " "}).status_code
        == 400
    )
    assert (
        post(cast.a.resident, f"{API}/sessions/{one.pk}/cancel", {"reason": "台风"}).status_code
        == 403
    )
    r = post(cast.a.dispatcher, f"{API}/sessions/{one.pk}/cancel", {"reason": "台风"})
    assert r.status_code == 200, r.content
    by_id = {s["id"]: s for s in r.json()["sessions"]}
    assert by_id[one.pk]["status"] == "cancelled" and by_id[one.pk]["cancel_reason"] == "台风"
    assert by_id[one.pk]["actions"] == [] and by_id[two.pk]["status"] == "scheduled"
    again = post(cast.a.dispatcher, f"{API}/sessions/{one.pk}/cancel", {"reason": "台风"})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert (
        post(cast.b.dispatcher, f"{API}/{activity.pk}/cancel", {"reason": "x"}).status_code == 404
    )
    done = post(cast.a.dispatcher, f"{API}/{activity.pk}/cancel", {"reason": "场地维修"})
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    assert "cancel" not in done.json()["actions"]
    assert (
        post(cast.a.dispatcher, f"{API}/{activity.pk}/cancel", {"reason": "x"}).status_code == 409
    )


def test_more_places_promote_the_line_in_order(cast: Cast) -> None:
    activity = make_activity(cast, capacity=1)
    people = [resident(cast, f"老人{i}", 70) for i in range(3)]
    for p in people:
        assert (
            post(cast.a.dispatcher, f"{API}/{activity.pk}/signups", {"person": p.pk}).status_code
            == 201
        )
    assert get(cast.a.dispatcher, f"{API}/{activity.pk}").json()["waiting"] == 2
    assert (
        post(cast.a.resident, f"{API}/{activity.pk}/capacity", {"capacity": 2}).status_code == 403
    )
    assert (
        post(cast.a.dispatcher, f"{API}/{activity.pk}/capacity", {"capacity": 0}).status_code == 400
    )
    big = post(cast.a.dispatcher, f"{API}/{activity.pk}/capacity", {"capacity": 61})
    assert big.status_code == 400 and "capacity" in big.json()["fields"]
    r = post(cast.a.dispatcher, f"{API}/{activity.pk}/capacity", {"capacity": 2})
    assert r.status_code == 200 and (r.json()["places_left"], r.json()["waiting"]) == (0, 1)
    statuses = dict(Signup.objects.values_list("person__name", "status"))
    assert statuses == {"老人0": "confirmed", "老人1": "confirmed", "老人2": "waitlisted"}


# --- sign-up ----------------------------------------------------------------------


def test_the_three_sign_up_paths(cast: Cast) -> None:
    activity = make_activity(cast, title="亲子有约", kind="parent_child", audience="families")
    child = grandson(cast)
    elder = resident(cast, "甘奶奶", 85)
    me = post(cast.a.resident, f"{API}/{activity.pk}/signups", {"person": cast.a.person.pk})
    ward = post(cast.a.resident, f"{API}/{activity.pk}/signups", {"person": child.pk})
    desk = post(cast.a.dispatcher, f"{API}/{activity.pk}/signups", {"person": elder.pk})
    assert [r.status_code for r in (me, ward, desk)] == [201, 201, 201]
    assert [r.json()["channel"] for r in (me, ward, desk)] == ["self", "guardian", "desk"]
    assert desk.json()["code"] and desk.json()["status"] == "confirmed"
    assert desk.json()["next_session"]["id"] == activity.sessions.get().pk
    # Nobody else's: a neighbour's grandson, or the desk of another community.
    stranger = post(cast.b.resident, f"{API}/{activity.pk}/signups", {"person": child.pk})
    assert stranger.status_code == 403 and stranger.json()["code"] == "forbidden"
    other_desk = post(cast.b.dispatcher, f"{API}/{activity.pk}/signups", {"person": elder.pk})
    assert other_desk.status_code == 403
    twice = post(cast.a.dispatcher, f"{API}/{activity.pk}/signups", {"person": child.pk})
    assert twice.status_code == 409 and child.name in twice.json()["message"]
    nobody = post(cast.a.dispatcher, f"{API}/{activity.pk}/signups", {"person": 99999999})
    assert nobody.status_code == 400 and "person" in nobody.json()["fields"]
    assert (
        post(cast.a.dispatcher, f"{API}/99999999/signups", {"person": elder.pk}).status_code == 404
    )


def test_eligibility_the_window_and_the_session_are_reasons(cast: Cast) -> None:
    kids = make_activity(cast, title="少儿武术", kind="martial_arts", audience="children")
    old = post(cast.a.resident, f"{API}/{kids.pk}/signups", {"person": cast.a.person.pk})
    assert old.status_code == 400 and "person" in old.json()["fields"]
    assert "儿童" in old.json()["fields"]["person"][0]
    later = make_activity(cast, title="红歌", day=next_weekday(2),
                          signup_opens=timezone.now() + dt.timedelta(days=1))  # fmt: skip
    closed = post(cast.a.resident, f"{API}/{later.pk}/signups", {"person": cast.a.person.pk})
    assert closed.status_code == 409 and "报名" in closed.json()["message"]
    drop_in = make_activity(cast, title="戏曲放映", kind="opera", day=next_weekday(3),
                            mode=Activity.Mode.DROP_IN, rrule="FREQ=DAILY;COUNT=2")  # fmt: skip
    which = post(cast.a.resident, f"{API}/{drop_in.pk}/signups", {"person": cast.a.person.pk})
    assert which.status_code == 400 and "session" in which.json()["fields"]
    whole = post(cast.a.resident, f"{API}/{later.pk}/signups",
                 {"person": cast.a.person.pk, "session": later.sessions.get().pk})  # fmt: skip
    assert whole.status_code in (400, 409)


def test_a_full_activity_waitlists_and_a_cancellation_promotes(cast: Cast) -> None:
    activity = make_activity(cast, capacity=1)
    elder = resident(cast, "甘奶奶", 85)
    first = post(cast.a.resident, f"{API}/{activity.pk}/signups", {"person": cast.a.person.pk})
    second = post(cast.a.dispatcher, f"{API}/{activity.pk}/signups", {"person": elder.pk})
    assert second.json()["status"] == "waitlisted" and second.json()["position"] == 1
    # Someone else's sign-up is not there for a stranger.
    assert post(cast.b.resident, f"{API}/signups/{first.json()['id']}/cancel").status_code == 404
    assert post(cast.b.dispatcher, f"{API}/signups/{first.json()['id']}/cancel").status_code == 404
    gone = post(cast.a.resident, f"{API}/signups/{first.json()['id']}/cancel")
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"
    assert Signup.objects.get(pk=second.json()["id"]).status == "confirmed"
    assert post(cast.a.resident, f"{API}/signups/{first.json()['id']}/cancel").status_code == 409
    assert post(cast.a.resident, f"{API}/signups/99999999/cancel").status_code == 404


def test_my_sign_ups_with_codes_and_places_in_line_in_constant_queries(cast: Cast) -> None:
    room = hall(cast)
    child = grandson(cast)
    day = next_weekday(0)
    full = make_activity(cast, room, title="少儿书法", kind="calligraphy", capacity=1, day=day,
                         audience="children")  # fmt: skip
    services.signup_create(actor=cast.a.dispatcher, activity_id=full.pk,
                           person_id=resident(cast, "别人家孩子", 9).pk)  # fmt: skip
    services.signup_create(actor=cast.a.resident, activity_id=full.pk, person_id=child.pk)
    client = warm(cast.a.resident)
    with CaptureQueriesContext(connection) as few:
        r = client.get(f"{API}/signups")
    [row] = r.json()
    assert row["person"]["name"] == child.name and row["status"] == "waitlisted"
    assert row["position"] == 2 - 1 and row["code"]
    for hour in (13, 15, 17):
        a = make_activity(cast, room, title=f"活动{hour}", day=day, starts=at(day, hour),
                          ends=at(day, hour + 1), mode=Activity.Mode.DROP_IN, rrule="FREQ=DAILY;COUNT=2")  # fmt: skip
        services.signup_create(actor=cast.a.resident, activity_id=a.pk,
                               person_id=cast.a.person.pk, session_id=a.sessions.first().pk)  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        rows = client.get(f"{API}/signups").json()
    assert len(rows) == 4 and all(r["code"] for r in rows)
    assert len(many) == len(few)
    assert get(cast.b.resident, f"{API}/signups").json() == []


# --- attendance -------------------------------------------------------------------


def test_the_sheet_is_the_organisers_and_another_communitys_is_404(cast: Cast) -> None:
    activity = soon(cast)
    session = activity.sessions.get()
    services.signup_create(
        actor=cast.a.resident, activity_id=activity.pk, person_id=cast.a.person.pk
    )
    url = f"{API}/sessions/{session.pk}/sheet"
    for user, status in [
        (cast.a.dispatcher, 200),
        (cast.city, 200),
        (cast.a.school, 200),
        (cast.a.resident, 403),
        (cast.a.leader, 403),
        (cast.b.dispatcher, 404),
        (cast.b.resident, 404),
    ]:
        assert get(user, url).status_code == status, user
    rows = get(cast.a.dispatcher, url).json()["rows"]
    assert [(r["person"]["name"], r["status"]) for r in rows] == [(cast.a.person.name, None)]
    assert get(cast.a.dispatcher, f"{API}/sessions/99999999/sheet").status_code == 404


def test_attendance_ticks_and_the_door_code(cast: Cast) -> None:
    activity = soon(cast)
    session = activity.sessions.get()
    mine = services.signup_create(
        actor=cast.a.resident, activity_id=activity.pk, person_id=cast.a.person.pk
    )
    elder = resident(cast, "甘奶奶", 85)
    hers = services.signup_create(
        actor=cast.a.dispatcher, activity_id=activity.pk, person_id=elder.pk
    )
    tick = post(
        cast.a.dispatcher,
        f"{API}/sessions/{session.pk}/attendance",
        {"signup": mine.pk, "present": False},
    )
    assert tick.status_code == 200 and tick.json()["status"] == "no_show"
    door = post(
        cast.a.dispatcher, f"{API}/sessions/{session.pk}/checkin", {"code": hers.code.lower()}
    )
    assert door.status_code == 200 and door.json()["person"]["name"] == "甘奶奶"
    assert door.json()["status"] == "present"
    wrong = post(cast.a.dispatcher, f"{API}/sessions/{session.pk}/checkin", {"code": "ZZZZZZ"})
    assert wrong.status_code == 400 and "code" in wrong.json()["fields"]
    blank = post(cast.a.dispatcher, f"{API}/sessions/{session.pk}/checkin", {"code": " "})
    assert blank.status_code == 400 and "code" in blank.json()["fields"]
    assert (
        post(
            cast.a.resident, f"{API}/sessions/{session.pk}/checkin", {"code": hers.code}
        ).status_code
        == 403
    )
    assert post(cast.b.dispatcher, f"{API}/sessions/{session.pk}/attendance",
                {"signup": mine.pk}).status_code == 404  # fmt: skip
    nobody = post(
        cast.a.dispatcher, f"{API}/sessions/{session.pk}/attendance", {"signup": 99999999}
    )
    assert nobody.status_code == 400 and "signup" in nobody.json()["fields"]
    marks = {
        r["person"]["name"]: r["status"]
        for r in get(cast.a.dispatcher, f"{API}/sessions/{session.pk}/sheet").json()["rows"]
    }
    assert marks == {cast.a.person.name: "no_show", "甘奶奶": "present"}


def test_attendance_waits_until_two_hours_before(cast: Cast) -> None:
    activity = make_activity(cast)
    session = activity.sessions.get()
    mine = services.signup_create(
        actor=cast.a.resident, activity_id=activity.pk, person_id=cast.a.person.pk
    )
    if session.starts - timezone.now() > dt.timedelta(hours=2):
        r = post(cast.a.dispatcher, f"{API}/sessions/{session.pk}/attendance", {"signup": mine.pk})
        assert r.status_code == 409 and "两小时" in r.json()["message"]
        assert (
            "attendance"
            not in get(cast.a.dispatcher, f"{API}/{activity.pk}").json()["sessions"][0]["actions"]
        )


# --- a community's rooms ----------------------------------------------------------


def test_the_room_week_for_the_community_and_the_city(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    make_activity(cast, room, day=day)
    url = f"{API}/rooms/week"
    r = get(cast.a.dispatcher, url, day=str(day))
    assert r.status_code == 200, r.content
    rooms = {w["room"]["name"]: w for w in r.json()["rooms"]}
    assert set(rooms) == {"长者食堂", "多功能厅"}
    [held] = rooms["多功能厅"]["days"][0]
    assert held["title"] == "红歌大家唱" and held["kind"] == "session" and held["session"]
    assert get(cast.city, url, day=str(day), community=cast.a.center.pk).status_code == 200
    assert get(cast.city, url).status_code == 400
    assert get(cast.b.dispatcher, url, community=cast.a.center.pk).status_code == 404
    assert get(cast.a.resident, url).status_code == 403
    assert get(cast.a.resident, url, community=cast.a.center.pk).status_code == 403
    assert get(cast.a.dispatcher, url, community=cast.city_center.pk).status_code == 404
    assert get(cast.a.dispatcher, url, community=99999999).status_code == 404


def test_the_room_weeks_query_count_does_not_grow(cast: Cast) -> None:
    room = hall(cast)
    day = next_weekday(0)
    make_activity(cast, room, day=day)
    client = warm(cast.a.dispatcher)
    with CaptureQueriesContext(connection) as few:
        client.get(f"{API}/rooms/week", {"day": str(day)})
    make_activity(cast, room, day=day, title="书法", mode=Activity.Mode.DROP_IN,
                  starts=at(day, 14), ends=at(day, 16), rrule="FREQ=DAILY;COUNT=6")  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        body = client.get(f"{API}/rooms/week", {"day": str(day)}).json()
    assert sum(len(d) for w in body["rooms"] for d in w["days"]) == 7
    assert len(many) == len(few)


# --- 长者生日会 ----------------------------------------------------------------------


def test_birthday_invitations(cast: Cast) -> None:
    day = next_weekday(4)
    party = make_activity(cast, title="长者生日会", kind="birthday", audience="elders", day=day)
    born = day.replace(year=day.year - 75, day=1)
    elder = resident(cast, "甘奶奶", 75, birth_date=born)
    url = f"{API}/{party.pk}/invitations"
    assert post(cast.a.resident, url, {}).status_code == 403
    assert post(cast.a.dispatcher, url, {"min_age": 70}).status_code == 400
    r = post(cast.a.dispatcher, url, {})
    assert r.status_code == 200, r.content
    assert {"id": elder.pk, "name": "甘奶奶"} in r.json()["by_phone"]
    again = post(cast.a.dispatcher, url, {})
    assert again.json()["already"] >= 1 and again.json()["by_phone"] == []


# --- the personal feed ------------------------------------------------------------


def test_the_personal_feed_url_and_its_rotation(cast: Cast) -> None:
    r = get(cast.a.resident, f"{API}/feed")
    assert r.status_code == 200
    old = r.json()["url"]
    assert old.startswith("http://testserver/activities/feeds/me/") and old.endswith(".ics")
    assert get(cast.a.resident, f"{API}/feed").json()["url"] == old
    assert Client().get(old).status_code == 200
    new = post(cast.a.resident, f"{API}/feed/rotate").json()["url"]
    assert (
        new != old and Client().get(old).status_code == 404 and Client().get(new).status_code == 200
    )
    assert get(cast.b.resident, f"{API}/feed").json()["url"] != new
    assert get(None, f"{API}/feed").status_code == 401


# --- the OpenAPI ------------------------------------------------------------------


def test_the_endpoints_are_in_the_openapi_with_the_error_shape() -> None:
    schema = Client().get("/api/openapi.json").json()
    paths = [p for p in schema["paths"] if p.startswith("/api/v1/activities")]
    assert len(paths) >= 15
    create = schema["paths"]["/api/v1/activities"]["post"]
    assert create["tags"] == ["activities"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(create["responses"])
    assert create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ErrorOut"
    )


JUNK: list[Any] = [
    {},
    [],
    "null",
    {"starts": "2030-01-01T10:00:00"},
    {"starts": "9999-12-31T23:59:59+14:00", "ends": "0001-01-01T00:00:00-12:00"},
    {"room": 2**70, "capacity": -(2**70), "signup": 2**63, "person": 2**63 - 1},
    {"reason": "\x00", "code": "\x00", "rrule": "\x00"},
    {"reason": "\ud800", "code": "é" * 17, "rrule": "FREQ=DAILY;UNTIL=99991231"},
    {"capacity": 1.5, "present": "yes", "min_age": True, "person": "1", "session": {}},
    {"capacity": 10**6, "fee": "NaN", "rrule": "FREQ=MINUTELY;COUNT=400", "mode": "drop_in"},
]


def test_junk_on_real_objects_is_never_a_5xx(cast: Cast) -> None:
    activity = make_activity(cast, mode=Activity.Mode.DROP_IN, rrule="FREQ=WEEKLY;COUNT=2")
    session = activity.sessions.first()
    signup = services.signup_create(
        actor=cast.a.resident,
        activity_id=activity.pk,
        person_id=cast.a.person.pk,
        session_id=session.pk,
    )
    urls = [
        API,
        f"{API}/plan",
        f"{API}/{activity.pk}/cancel",
        f"{API}/{activity.pk}/capacity",
        f"{API}/{activity.pk}/signups",
        f"{API}/{activity.pk}/invitations",
        f"{API}/sessions/{session.pk}/move",
        f"{API}/sessions/{session.pk}/cancel",
        f"{API}/sessions/{session.pk}/attendance",
        f"{API}/sessions/{session.pk}/checkin",
        f"{API}/signups/{signup.pk}/cancel",
    ]
    client = api(cast.a.dispatcher)
    for url in urls:
        for body in JUNK:
            data = body if isinstance(body, str) else json.dumps(body)
            r = client.post(url, data, content_type="application/json")
            assert r.status_code < 500, (url, body, r.content)
            assert set(r.json()) >= {"code", "message", "fields"} or r.status_code < 300
    for params in ({"session": 2**63}, {"session": "x"}, {"session": -1}):
        assert client.get(f"{API}/{activity.pk}", params).status_code in (400, 404)


def test_the_details_query_count_does_not_grow_with_sessions(cast: Cast) -> None:
    room = hall(cast)
    short = make_activity(cast, room, mode=Activity.Mode.DROP_IN, rrule="FREQ=WEEKLY;COUNT=2")
    long = make_activity(cast, room, title="戏曲放映", kind="opera", mode=Activity.Mode.DROP_IN,
                         starts=at(next_weekday(0), 14), ends=at(next_weekday(0), 16),
                         rrule="FREQ=DAILY;COUNT=20")  # fmt: skip
    client = warm(cast.a.dispatcher)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(f"{API}/{short.pk}").json()["sessions"]) == 2
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(f"{API}/{long.pk}").json()["sessions"]) == 20
    assert len(many) == len(few)


# --- races on PostgreSQL ----------------------------------------------------------


@RACE_MARKS[0]
@RACE_MARKS[1]
def test_twenty_organisers_racing_for_one_room_one_wins_the_rest_get_a_409() -> None:
    cast = make_cast()
    room = hall(cast)
    day = next_weekday(2)
    token = token_issue(user=cast.a.dispatcher)

    def create(i: int) -> Any:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        body = body_for(room.pk, day, title=f"讲座{i}", starts=at(day, 9, i), ends=at(day, 11, i))
        return client.post(API, json.dumps(body), content_type="application/json")

    results = race([functools.partial(create, i) for i in range(20)])
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 19, [getattr(r, "content", r) for r in results]
    winner = next(r.json()["title"] for r in results if r.status_code == 201)
    for r in results:
        if r.status_code == 409:
            assert f"已被「{winner}」占用" in r.json()["message"]
    assert Session.objects.count() == 1


@RACE_MARKS[0]
@RACE_MARKS[1]
def test_a_hundred_racing_for_the_last_three_places_three_win_the_rest_wait() -> None:
    # A hundred threads released at once; forty hold a connection at a time (the
    # server takes a hundred, and the other test worker may be racing too).
    gate = threading.BoundedSemaphore(40)
    cast = make_cast()
    activity = make_activity(cast, capacity=3)
    people = [resident(cast, f"居民{i}", 65) for i in range(100)]
    token = token_issue(user=cast.a.dispatcher)

    def sign(pk: int) -> Any:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        with gate:
            return client.post(
                f"{API}/{activity.pk}/signups",
                json.dumps({"person": pk}),
                content_type="application/json",
            )

    results = race([functools.partial(sign, p.pk) for p in people])
    assert all(getattr(r, "status_code", 500) == 201 for r in results), results
    statuses = [r.json()["status"] for r in results]
    assert statuses.count("confirmed") == 3 and statuses.count("waitlisted") == 97
    line = sorted(r.json()["position"] for r in results if r.json()["status"] == "waitlisted")
    assert line == list(range(1, 98))
    # A cancellation promotes the first in line.
    first_in_line = next(r.json() for r in results if r.json()["position"] == 1)
    a_place = next(r.json() for r in results if r.json()["status"] == "confirmed")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.post(f"{API}/signups/{a_place['id']}/cancel").status_code == 200
    assert Signup.objects.get(pk=first_in_line["id"]).status == "confirmed"
