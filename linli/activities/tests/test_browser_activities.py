"""Activities in Chromium: a grandmother signs her grandson up for a summer class on her phone;
an organiser sees the room calendar answer while choosing times; the rooms' week at two widths."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from linli.activities.models import Activity, Audience, Signup
from linli.activities.tests.helpers import grandson, hall, make_activity, next_weekday
from linli.site.testing import Cast, browser_log_in
from linli.site.tests.test_browser_elders import MEASURE, SECONDARY

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "activities-test-pw"
PHONE, DESKTOP = 390, 1366


def log_in(browser: Any, live_server: Any, user: Any, width: int) -> tuple[Any, Any]:
    user.set_password(PASSWORD)
    user.save()
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    browser_log_in(page, live_server.url, user.username, PASSWORD)
    return context, page


def baseline(page: Any) -> list[str]:
    """The elder-friendly baseline of linli.css, measured: text sizes and target boxes."""
    found = page.evaluate(MEASURE, [SECONDARY + ", .helptext"])
    return [f"text {t}" for t in found["small"]] + [f"target {t}" for t in found["targets"]]


def summer_class(cast: Cast) -> Activity:
    first = next_weekday(0)
    until = first + dt.timedelta(days=11)
    return make_activity(
        cast,
        room=hall(cast, capacity=40),
        title="暑期阅读班",
        kind="reading",
        mode=Activity.Mode.COURSE,
        audience=Audience.CHILDREN,
        capacity=20,
        description="每天上午读一本好书，老师带着孩子们讲故事、做手工。",
        rrule=f"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL={until:%Y%m%d}T235959",
    )


def test_grandmother_signs_up_her_grandson_on_her_phone(
    live_server: Any, browser: Any, screenshot: Any, cast: Cast
) -> None:
    activity = summer_class(cast)
    make_activity(cast, title="红歌大家唱", day=next_weekday(2))  # for everyone, the same week
    child = grandson(cast)
    context, page = log_in(browser, live_server, cast.a.resident, PHONE)

    page.locator(".nav a", has_text="活动").click()
    page.wait_for_url("**/activities/")
    # The class starts next Monday: the next week.
    page.get_by_role("link", name="下一周 →").click()
    page.wait_for_url(re.compile(r".*week=.*"))
    page.select_option("select[name=audience]", "children")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r".*audience=children.*"))
    card = page.locator(".act-card", has_text="暑期阅读班").first
    assert "剩 20 个名额" in card.inner_text() and "免费" in card.inner_text()
    assert page.locator(".act-card", has_text="红歌大家唱").count() > 0  # everyone's, too
    screenshot(page, "activities-1-week-390")
    assert baseline(page) == []

    card.click()
    page.wait_for_url(f"**/activities/{activity.pk}/")
    rows = page.locator(".person-row")
    assert "这个活动面向儿童" in rows.filter(has_text="曾庆宝").inner_text()
    screenshot(page, "activities-2-detail-390")
    assert baseline(page) == []
    page.get_by_role("button", name="为 曾小宝 报名").click()
    page.wait_for_url(f"**/activities/{activity.pk}/")
    assert "曾小宝 报名成功" in page.locator(".messages").inner_text()
    assert "已报名" in rows.filter(has_text="曾小宝").inner_text()
    screenshot(page, "activities-3-signed-up-390")
    assert baseline(page) == []
    signup = Signup.objects.get(person=child)
    assert signup.channel == Signup.Channel.GUARDIAN

    page.get_by_role("link", name="我的报名（签到码）").click()
    page.wait_for_url("**/activities/mine/")
    ticket = page.locator("section.signup", has_text="暑期阅读班")
    assert "曾小宝" in ticket.inner_text() and signup.code in ticket.inner_text()
    assert ticket.locator(".qr svg").count() == 1
    box = ticket.locator(".qr svg").bounding_box()
    assert box is not None and box["width"] >= 150
    screenshot(page, "activities-4-mine-390")
    assert baseline(page) == []
    context.close()


def test_organiser_sees_the_conflict_while_choosing_times(
    live_server: Any, browser: Any, screenshot: Any, cast: Cast
) -> None:
    room = hall(cast)
    monday = next_weekday(0)
    make_activity(cast, room=room, day=monday + dt.timedelta(days=7), title="红歌大家唱")
    context, page = log_in(browser, live_server, cast.a.dispatcher, DESKTOP)
    page.goto(f"{live_server.url}/activities/new/")
    page.fill("#id_title", "周一书法班")
    page.select_option("#id_kind", "calligraphy")
    page.locator("label.choice", has_text="课程").click()
    page.select_option("#id_room", str(room.pk))
    page.fill("#id_day", monday.isoformat())
    page.fill("#id_start", "10:00")
    page.fill("#id_end", "12:00")
    page.locator("label", has_text="周一").first.click()
    page.fill("#id_until", (monday + dt.timedelta(days=21)).isoformat())
    page.locator("#id_until").dispatch_event("change")
    page.locator("#plan .plan li.taken").wait_for()
    plan = page.locator("#plan").inner_text()
    assert plan.count("✓ 空闲") == 3 and plan.count("✗ 冲突") == 1
    assert "已被「红歌大家唱」占用" in plan
    screenshot(page, f"activities-5-new-conflict-{DESKTOP}")
    assert baseline(page) == []
    page.set_viewport_size({"width": PHONE, "height": 900})
    screenshot(page, f"activities-5-new-conflict-{PHONE}")
    assert baseline(page) == []
    # Sent as it is: refused, the reason at the start time, nothing saved.
    page.fill("#id_capacity", "20")
    page.get_by_role("button", name="排进功能室").click()
    page.locator(".errorlist", has_text="红歌大家唱").first.wait_for()
    assert Activity.objects.count() == 1
    context.close()


def test_rooms_week_at_phone_and_desktop(
    live_server: Any, browser: Any, screenshot: Any, cast: Cast
) -> None:
    from linli.activities.tests.helpers import at
    from linli.network import services as calendar

    room = hall(cast)
    monday = next_weekday(0)
    make_activity(cast, room=room, day=monday, title="红歌大家唱")
    make_activity(
        cast,
        room=room,
        day=monday + dt.timedelta(days=2),
        title="防溺水安全课",
        kind="drowning",
        starts=at(monday + dt.timedelta(days=2), 15),
        ends=at(monday + dt.timedelta(days=2), 16, 30),
    )
    calendar.closure_create(
        actor=cast.a.dispatcher,
        center_id=cast.a.center.pk,
        room_id=room.pk,
        starts=at(monday + dt.timedelta(days=4), 8),
        ends=at(monday + dt.timedelta(days=4), 21),
        reason="电路检修",
    )
    context, page = log_in(browser, live_server, cast.a.dispatcher, DESKTOP)
    page.goto(f"{live_server.url}/activities/rooms/?week={monday.isoformat()}")
    week = page.locator(".room-week", has_text="多功能厅")
    assert "红歌大家唱" in week.inner_text() and "电路检修" in week.inner_text()
    screenshot(page, f"activities-6-rooms-{DESKTOP}")
    assert baseline(page) == []
    page.set_viewport_size({"width": PHONE, "height": 900})
    screenshot(page, f"activities-6-rooms-{PHONE}")
    assert baseline(page) == []
    week.get_by_role("link", name=re.compile("防溺水安全课")).click()
    page.wait_for_url(re.compile(r".*/activities/\d+/$"))
    context.close()


def test_organiser_takes_attendance_with_big_buttons(
    live_server: Any, browser: Any, screenshot: Any, cast: Cast
) -> None:
    from django.utils import timezone

    from linli.activities import services
    from linli.activities.tests.helpers import resident
    from linli.people.models import Contact

    room = hall(cast, hours=False)
    starts = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    activity = make_activity(
        cast,
        room=room,
        title="牛娘戏日播剧场",
        kind="opera",
        starts=starts,
        ends=starts + dt.timedelta(hours=2),
    )
    session = activity.sessions.get()
    people = [resident(cast, name, 72) for name in ("龙婆婆", "韦公公", "黎阿姨")]
    signups = [
        services.signup_create(actor=cast.a.dispatcher, activity_id=activity.pk, person_id=p.pk)
        for p in people
    ]
    context, page = log_in(browser, live_server, cast.a.dispatcher, PHONE)
    page.goto(f"{live_server.url}/activities/{activity.pk}/")
    assert "龙婆婆" in page.locator("#manage").inner_text()
    screenshot(page, "activities-7-detail-organiser-390")
    assert baseline(page) == []
    page.get_by_role("link", name="签到表").first.click()
    page.wait_for_url(f"**/activities/sessions/{session.pk}/sheet/")
    row = page.locator(f"#sheet-{signups[0].pk}")
    row.get_by_role("button", name="到", exact=True).click()
    page.locator(f"#sheet-{signups[0].pk} button[aria-pressed=true]").wait_for()
    row = page.locator(f"#sheet-{signups[1].pk}")
    row.get_by_role("button", name="未到").click()
    page.locator(f"#sheet-{signups[1].pk} button.no[aria-pressed=true]").wait_for()
    # The third comes to the door with the code.
    page.fill("#id_code", signups[2].code.lower())
    page.get_by_role("button", name="签到", exact=True).click()
    page.locator(".messages", has_text="黎阿姨 签到成功").wait_for()
    assert Contact.objects.filter(kind=Contact.Kind.ACTIVITY).count() == 2
    screenshot(page, "activities-8-sheet-390")
    assert baseline(page) == []
    context.close()


def test_birthday_party_invitations(
    live_server: Any, browser: Any, screenshot: Any, cast: Cast
) -> None:
    from linli.activities.tests.helpers import resident
    from linli.site.testing import make_user

    day = next_weekday(2)
    activity = make_activity(cast, title="长者生日会", kind="birthday", day=day)
    born = day.replace(day=1)
    resident(cast, "龙婆婆", 86, birth_date=born.replace(year=day.year - 86))
    elder = resident(cast, "韦公公", 66, birth_date=born.replace(year=day.year - 66))
    elder.account = make_user("weigg", "resident", cast.a.center)
    elder.save()
    context, page = log_in(browser, live_server, cast.a.dispatcher, PHONE)
    page.goto(f"{live_server.url}/activities/{activity.pk}/")
    page.get_by_role("link", name="长者生日会：邀请本月寿星").click()
    page.get_by_role("button", name="发出邀请（2 位）").click()
    page.locator(".messages", has_text="已发出 1 份邀请").wait_for()
    assert "龙婆婆" in page.locator("section", has_text="需要电话邀请").inner_text()
    screenshot(page, "activities-9-birthday-390")
    assert baseline(page) == []
    context.close()


def test_english_pages_fit_a_phone(
    live_server: Any, browser: Any, screenshot: Any, cast: Cast
) -> None:
    activity = summer_class(cast)
    session = activity.sessions.order_by("starts").first()
    assert session is not None
    context, page = log_in(browser, live_server, cast.a.dispatcher, PHONE)
    page.click("form.lang button[value=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    for name, path in (
        ("week", "/activities/"),
        ("detail", f"/activities/{activity.pk}/"),
        ("new", "/activities/new/"),
        ("rooms", f"/activities/rooms/?week={next_weekday(0).isoformat()}"),
        ("sheet", f"/activities/sessions/{session.pk}/sheet/"),
    ):
        page.goto(live_server.url + path)
        screenshot(page, f"activities-en-{name}-390")
        assert baseline(page) == [], name
    context.close()
