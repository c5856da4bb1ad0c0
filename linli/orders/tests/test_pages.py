"""The order pages: permission matrix, every form's happy and error path, query counts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.orders import rollups, services
from linli.orders.catalog import install_optional_items
from linli.orders.models import FollowUp, Order, OrderStatus, SlotStatus
from linli.people.models import Guardianship, Resident
from linli.site.testing import client_for, make_user
from linli.teams.models import Member, Skill

ROLES = ["a.resident", "a.volunteer", "a.leader", "a.dispatcher", "a.school", "city"]


def place(cast, actor=None, **kw) -> Order:
    return services.order_place(
        actor=actor or cast.a.resident, item=kw.pop("item", "home_repair"), **kw
    )


def dispatched(cast, **kw) -> Order:
    order = place(cast, **kw)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    return order


def completed(cast) -> Order:
    order = dispatched(cast)
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    services.order_start(actor=cast.a.volunteer, order_id=order.pk)
    services.order_complete(actor=cast.a.volunteer, order_id=order.pk, note="已换好水龙头")
    return order


def text(response) -> str:
    return response.content.decode()


def post(user, name: str, order: Order, data: dict | None = None, **extra):
    return client_for(user).post(reverse(name, args=[order.pk]), data or {}, **extra)


# --- the permission matrix ---------------------------------------------------------

# page → roles of community A (and the city) that may open it; the others get 403
PAGES = {
    "orders:mine": set(ROLES),
    "orders:tasks": {"a.volunteer", "a.leader"},
    "orders:queue": {"a.leader", "a.dispatcher", "city"},
    "orders:phone": {"a.dispatcher", "city"},
    "orders:follow_ups": {"a.dispatcher", "city"},
}


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("who", ROLES)
def test_page_matrix(cast, page, who):
    response = client_for(cast.all_users()[who]).get(reverse(page))
    assert response.status_code == (200 if who in PAGES[page] else 403)


@pytest.mark.parametrize("who", ROLES)
def test_place_page_matrix(cast, who):
    """Only an account with its own resident record orders from the app; staff use the phone page."""
    response = client_for(cast.all_users()[who]).get(reverse("orders:place", args=["home_repair"]))
    assert response.status_code == (200 if who == "a.resident" else 403)


@pytest.mark.parametrize(
    "who, expected",
    [
        ("a.resident", 200),
        ("a.dispatcher", 200),
        ("a.leader", 200),
        ("city", 200),
        ("a.volunteer", 404),  # no slot on it
        ("a.school", 404),
        ("b.dispatcher", 404),  # other community: as if it did not exist
        ("b.leader", 404),
        ("b.resident", 404),
        ("b.volunteer", 404),
    ],
)
def test_detail_matrix(cast, who, expected):
    order = place(cast)
    response = client_for(cast.all_users()[who]).get(reverse("orders:detail", args=[order.pk]))
    assert response.status_code == expected


def test_member_sees_order_once_dispatched_to_them(cast):
    order = dispatched(cast)
    response = client_for(cast.a.volunteer).get(reverse("orders:detail", args=[order.pk]))
    assert response.status_code == 200
    assert "接单" in text(response)
    assert (
        client_for(cast.b.volunteer).get(reverse("orders:detail", args=[order.pk])).status_code
        == 404
    )


def test_member_may_see_but_not_cancel(cast):
    order = dispatched(cast)
    response = post(cast.a.volunteer, "orders:cancel", order, {"reason": "x"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED


def test_unknown_order_is_404(cast):
    assert (
        client_for(cast.a.dispatcher).get(reverse("orders:detail", args=[999999])).status_code
        == 404
    )


@pytest.mark.parametrize(
    "name, args",
    [
        ("orders:mine", []),
        ("orders:tasks", []),
        ("orders:queue", []),
        ("orders:phone", []),
        ("orders:follow_ups", []),
        ("orders:place", ["home_repair"]),
        ("orders:detail", [1]),
    ],
)
def test_pages_need_login(cast, name, args):
    response = Client().get(reverse(name, args=args))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize(
    "name",
    ["cancel", "rate", "dispatch", "reject", "follow_up", "accept", "decline", "start", "complete"],
)
def test_actions_need_login_and_post(cast, name):
    order = place(cast)
    url = reverse(f"orders:{name}", args=[order.pk])
    assert reverse("login") in Client().post(url)["Location"]
    assert client_for(cast.a.dispatcher).get(url).status_code == 405


@pytest.mark.parametrize(
    "who, name, data, expected",
    [
        ("b.dispatcher", "dispatch", {"target": "m{member}"}, 404),
        ("b.dispatcher", "reject", {"reason": "x"}, 404),
        ("b.dispatcher", "cancel", {"reason": "x"}, 404),
        ("a.resident", "dispatch", {"target": "m{member}"}, 403),
        ("a.school", "dispatch", {"target": "m{member}"}, 404),  # cannot see it
        ("a.resident", "reject", {"reason": "x"}, 403),
        ("a.leader", "reject", {"reason": "x"}, 403),
        ("a.volunteer", "cancel", {"reason": "x"}, 404),
        ("b.volunteer", "accept", {}, 404),
        ("b.resident", "cancel", {}, 404),
    ],
)
def test_actions_refused_change_nothing(cast, who, name, data, expected):
    order = place(cast)
    data = {k: v.format(member=cast.a.member.pk) for k, v in data.items()}
    response = post(cast.all_users()[who], f"orders:{name}", order, data)
    assert response.status_code == expected
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    assert order.events.count() == 1


# --- 群众点单: the resident --------------------------------------------------------------


def test_three_taps_from_home_to_order_page(cast):
    client = client_for(cast.a.resident)
    home = client.get(reverse("home"))
    place_url = reverse("orders:place", args=["home_repair"])
    assert place_url in text(home)  # tap 1: the big 家政维修 button
    assert "家政维修" in text(home)

    page = client.get(place_url)
    assert page.status_code == 200
    html = text(page)
    assert cast.a.person.address in html  # prefilled
    assert re.search(r'<input[^>]*value="normal"[^>]*checked', html)  # urgency preselected
    assert not re.search(r'<input[^>]*value="urgent"[^>]*checked', html)
    key = page.context["key"]

    # tap 2 is optional typing; tap 3: 确认下单 with what the page sent
    response = client.post(
        place_url,
        {
            "resident": cast.a.person.pk,
            "address": cast.a.person.address,
            "urgency": "normal",
            "description": "",
            "idempotency_key": key,
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.pk])
    assert (order.resident, order.placed_as, order.channel) == (cast.a.person, "self", "app")
    assert order.urgency == "normal" and order.address == cast.a.person.address

    detail = client.get(response["Location"])
    assert "下单成功" in text(detail)
    assert "社区正在为您安排服务队员" in text(detail)
    assert "取消订单" in text(detail)


def test_double_tap_places_one_order(cast):
    client = client_for(cast.a.resident)
    url = reverse("orders:place", args=["home_repair"])
    data = {"urgency": "normal", "idempotency_key": "tap-tap"}
    client.post(url, data)
    client.post(url, data)
    assert Order.objects.count() == 1


def test_place_error_is_shown_and_places_nothing(cast):
    client = client_for(cast.a.resident)
    response = client.post(reverse("orders:place", args=["home_repair"]), {"urgency": "scheduled"})
    assert response.status_code == 400
    assert "预约服务需要填写期望时间" in text(response)
    assert not Order.objects.exists()

    response = client.post(
        reverse("orders:place", args=["home_repair"]),
        {"urgency": "normal", "description": "x" * 2001},
    )
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_scheduled_order_with_window(cast):
    start = timezone.localtime() + dt.timedelta(days=1)
    response = client_for(cast.a.resident).post(
        reverse("orders:place", args=["home_repair"]),
        {
            "urgency": "scheduled",
            "window_start": start.strftime("%Y-%m-%dT%H:%M"),
            "window_end": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.urgency == "scheduled" and order.window_start is not None


def test_guardian_chooses_who_it_is_for(cast):
    ward = Resident.objects.create(
        name="曾小宝",
        gender=Resident.Gender.MALE,
        birth_date=dt.date(2021, 5, 1),
        community=cast.a.center,
        address="岑溪市岑城镇百花社区百花路14号1栋101",
    )
    Guardianship.objects.create(ward=ward, guardian=cast.a.person, relation="grandparent")
    client = client_for(cast.a.resident)
    url = reverse("orders:place", args=["home_repair"])
    page = client.get(url)
    assert "为谁下单" in text(page) and "曾小宝" in text(page)
    page = client.get(url, {"for": ward.pk})
    assert ward.address in text(page)
    response = client.post(url, {"resident": ward.pk, "urgency": "normal"})
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.resident, order.placed_as, order.address) == (ward, "guardian", ward.address)
    mine = client.get(reverse("orders:mine"))
    assert "为 曾小宝" in text(mine)


def test_resident_cannot_order_for_a_stranger(cast):
    response = client_for(cast.a.resident).post(
        reverse("orders:place", args=["home_repair"]),
        {"resident": cast.b.person.pk, "urgency": "normal"},
    )
    assert response.status_code == 400
    assert "您只能为自己或您监护的家人下单" in text(response)
    assert not Order.objects.exists()


def test_item_of_another_community_is_404(cast):
    install_optional_items([cast.a.center, cast.b.center])
    client = client_for(cast.a.resident)
    assert client.get(reverse("orders:place", args=["birthday-baihua"])).status_code == 200
    assert client.get(reverse("orders:place", args=["birthday-xingye"])).status_code == 404
    assert client.get(reverse("orders:place", args=["nothing"])).status_code == 404


def test_resident_without_record_is_told_to_call(cast):
    lonely = make_user("lonely", "resident", cast.a.center)
    assert "联系社区工作人员" in text(client_for(lonely).get(reverse("home")))
    response = client_for(lonely).get(reverse("orders:place", args=["home_repair"]))
    assert response.status_code == 403


def test_my_orders_lists_own_orders_with_badges(cast):
    mine = place(cast)
    place(cast, actor=cast.b.resident)
    phone = services.order_place(
        actor=cast.a.dispatcher, item="home_repair", resident_id=cast.a.person.pk, channel="phone"
    )
    html = text(client_for(cast.a.resident).get(reverse("orders:mine")))
    assert f"#{mine.pk}" in html and f"#{phone.pk}" in html
    assert "badge s-submitted" in html
    assert Order.objects.filter(resident=cast.b.person).get().pk not in (mine.pk, phone.pk)
    dispatcher_mine = text(client_for(cast.a.dispatcher).get(reverse("orders:mine")))
    assert f"#{phone.pk}" not in dispatcher_mine  # placed for someone else, not theirs


def test_resident_cancels_before_service(cast):
    order = dispatched(cast)
    client = client_for(cast.a.resident)
    response = client.post(reverse("orders:cancel", args=[order.pk]), {"reason": ""})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert "订单已取消。" in text(client.get(response["Location"]))  # the message


def test_resident_cannot_cancel_in_service(cast):
    order = dispatched(cast)
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    services.order_start(actor=cast.a.volunteer, order_id=order.pk)
    detail = text(client_for(cast.a.resident).get(reverse("orders:detail", args=[order.pk])))
    assert "确认取消订单" not in detail
    response = post(cast.a.resident, "orders:cancel", order)
    assert response.status_code == 409
    assert "不能取消" in text(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_SERVICE


def test_rate_form_and_errors(cast):
    order = completed(cast)
    detail = text(client_for(cast.a.resident).get(reverse("orders:detail", args=[order.pk])))
    assert "为这次服务打分" in detail
    for label in ("非常不满意", "不满意", "一般", "满意", "非常满意", "已解决", "未解决"):
        assert label in detail

    response = post(cast.a.resident, "orders:rate", order, {"resolved": "yes"})
    assert response.status_code == 400
    assert "请选择满意度" in text(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED

    response = post(cast.a.resident, "orders:rate", order, {"resolved": "yes", "satisfaction": "9"})
    assert response.status_code == 400

    client = client_for(cast.a.resident)
    response = client.post(
        reverse("orders:rate", args=[order.pk]),
        {"resolved": "yes", "satisfaction": "5", "comment": "师傅很细心"},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.RATED and order.rating.satisfaction == 5
    detail = text(client.get(response["Location"]))
    assert "感谢您的评价！" in detail and "师傅很细心" in detail

    again = post(cast.a.resident, "orders:rate", order, {"resolved": "no", "satisfaction": "1"})
    assert again.status_code == 409
    assert "已经评价过了" in text(again)


def test_only_beneficiary_rates(cast):
    order = completed(cast)
    response = post(
        cast.a.dispatcher, "orders:rate", order, {"resolved": "yes", "satisfaction": "5"}
    )
    assert response.status_code == 403


# --- 服务队接单: the member ----------------------------------------------------------------


def test_tasks_page_shows_assigned_and_offered(cast):
    assigned = dispatched(cast)
    offered = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=offered.pk, team_id=cast.a.team.pk)
    html = text(client_for(cast.a.volunteer).get(reverse("orders:tasks")))
    assert f"#{assigned.pk}" in html and f"#{offered.pk}" in html
    assert "抢单" in html and "不能接" in html
    assert reverse("orders:accept", args=[offered.pk]) in html


def test_accept_start_complete_by_plain_post(cast):
    order = dispatched(cast)
    tasks = reverse("orders:tasks")
    r = post(cast.a.volunteer, "orders:accept", order, {"next": tasks})
    assert (r.status_code, r["Location"]) == (302, tasks)
    r = post(cast.a.volunteer, "orders:start", order)
    assert r["Location"] == reverse("orders:detail", args=[order.pk])
    r = post(cast.a.volunteer, "orders:complete", order, {"note": "已更换阀芯"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.slots.get().note == "已更换阀芯"
    history = text(client_for(cast.a.volunteer).get(tasks))
    assert "已更换阀芯" not in history and f"#{order.pk}" in history


def test_next_must_be_local(cast):
    order = dispatched(cast)
    r = post(cast.a.volunteer, "orders:accept", order, {"next": "https://evil.example/"})
    assert r["Location"] == reverse("orders:detail", args=[order.pk])


def test_accept_by_htmx_swaps_the_card(cast):
    order = dispatched(cast)
    r = post(cast.a.volunteer, "orders:accept", order, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = text(r)
    assert f'id="task-{order.pk}"' in html and "已接单" in html
    assert "开始服务" in html and "<html" not in html


def test_accept_twice_is_409_on_the_page(cast):
    order = dispatched(cast)
    post(cast.a.volunteer, "orders:accept", order)
    r = post(cast.a.volunteer, "orders:accept", order)
    assert r.status_code == 409
    assert "不能接单" in text(r)
    r = post(cast.a.volunteer, "orders:accept", order, HTTP_HX_REQUEST="true")
    assert r.status_code == 409 and f'id="task-{order.pk}"' in text(r)


def test_decline_needs_a_reason(cast):
    order = dispatched(cast)
    r = post(cast.a.volunteer, "orders:decline", order, {"reason": "  "})
    assert r.status_code == 400
    assert "请说明不能接单的原因" in text(r)
    assert order.slots.get().status == SlotStatus.ASSIGNED

    r = post(cast.a.volunteer, "orders:decline", order, {"reason": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and "请说明不能接单的原因" in text(r)
    assert order.slots.get().status == SlotStatus.ASSIGNED

    r = post(cast.a.volunteer, "orders:decline", order, {"reason": "今天在外地"})
    assert (r.status_code, r["Location"]) == (302, reverse("orders:tasks"))
    slot = order.slots.get()
    assert slot.status == SlotStatus.OPEN and slot.member is None
    timeline = text(client_for(cast.a.dispatcher).get(reverse("orders:detail", args=[order.pk])))
    assert "拒绝了接单" in timeline and "今天在外地" in timeline


def test_decline_by_htmx_leaves_a_notice(cast):
    order = dispatched(cast)
    r = post(
        cast.a.volunteer, "orders:decline", order, {"reason": "生病了"}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200
    assert "退回派单员" in text(r)


def test_start_before_accept_is_409(cast):
    order = dispatched(cast)
    r = post(cast.a.volunteer, "orders:start", order)
    assert r.status_code == 409
    assert order.slots.get().status == SlotStatus.ASSIGNED


# --- 集中派单: the dispatcher console -----------------------------------------------------


def test_dispatch_to_member_shows_load_and_cap(cast):
    order = place(cast)
    other = place(cast)
    services.order_dispatch(actor=cast.a.dispatcher, order_id=other.pk, member_id=cast.a.member.pk)
    page = text(client_for(cast.a.dispatcher).get(reverse("orders:detail", args=[order.pk])))
    assert f'value="m{cast.a.member.pk}"' in page
    assert "1/3 单" in page
    assert f'value="t{cast.a.team.pk}"' in page

    client = client_for(cast.a.dispatcher)
    r = client.post(reverse("orders:dispatch", args=[order.pk]), {"target": f"m{cast.a.member.pk}"})
    assert r.status_code == 302
    slot = order.slots.get()
    assert (slot.status, slot.member) == (SlotStatus.ASSIGNED, cast.a.member)
    detail = text(client.get(r["Location"]))
    assert "已派单给" in detail and f"派单给 {cast.a.volunteer.display_name}" in detail


def test_dispatch_to_member_without_skill_is_an_error(cast):
    order = place(cast)
    cook = Member.objects.create(
        team=cast.a.team,
        user=make_user("cook", "volunteer", cast.a.center, "厨师"),
        source="volunteer",
    )
    cook.skills.add(Skill.objects.get(code="daily_care"))
    page = text(client_for(cast.a.dispatcher).get(reverse("orders:detail", args=[order.pk])))
    assert f'value="m{cook.pk}"' not in page  # not offered in the select
    r = post(cast.a.dispatcher, "orders:dispatch", order, {"target": f"m{cook.pk}"})
    assert r.status_code == 400
    assert "没有“家政维修”技能" in text(r)
    assert order.slots.get().status == SlotStatus.OPEN
    assert order.events.count() == 1


def test_dispatch_to_full_member_is_409(cast):
    cast.a.member.max_concurrent = 1
    cast.a.member.save()
    dispatched(cast)
    order = place(cast)
    r = post(cast.a.dispatcher, "orders:dispatch", order, {"target": f"m{cast.a.member.pk}"})
    assert r.status_code == 409
    assert "达到上限" in text(r)
    assert order.slots.get().status == SlotStatus.OPEN


def test_dispatch_bad_target_is_400(cast):
    order = place(cast)
    for target in ("", "x1", "m", "m999999"):
        r = post(cast.a.dispatcher, "orders:dispatch", order, {"target": target})
        assert r.status_code == 400, target
    assert order.slots.get().status == SlotStatus.OPEN


def test_offer_to_team(cast):
    order = place(cast)
    r = post(cast.a.dispatcher, "orders:dispatch", order, {"target": f"t{cast.a.team.pk}"})
    assert r.status_code == 302
    assert order.slots.get().status == SlotStatus.OFFERED
    detail = text(client_for(cast.a.dispatcher).get(r["Location"]))
    assert f"发布抢单：{cast.a.team.name}" in detail


def test_leader_dispatches_to_own_team_only(cast):
    order = place(cast)
    page = text(client_for(cast.a.leader).get(reverse("orders:detail", args=[order.pk])))
    assert "确认驳回" not in page and "确认取消订单" not in page
    assert f'value="m{cast.a.member.pk}"' in page
    r = post(cast.a.leader, "orders:dispatch", order, {"target": f"m{cast.a.member.pk}"})
    assert r.status_code == 302
    assert order.slots.get().member == cast.a.member
    queue = text(client_for(cast.a.leader).get(reverse("orders:queue")))
    assert "电话代下单" not in queue and f"#{order.pk}" in queue


def test_reject_needs_reason(cast):
    order = place(cast)
    r = post(cast.a.dispatcher, "orders:reject", order, {"reason": ""})
    assert r.status_code == 400 and "请说明驳回的原因" in text(r)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    r = post(cast.a.dispatcher, "orders:reject", order, {"reason": "不在服务范围"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    resident_view = text(client_for(cast.a.resident).get(r["Location"]))
    assert "驳回了订单" in resident_view and "不在服务范围" in resident_view


def test_reject_after_accept_is_409(cast):
    order = dispatched(cast)
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    r = post(cast.a.dispatcher, "orders:reject", order, {"reason": "x"})
    assert r.status_code == 409
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED


def test_dispatcher_cancel_needs_reason(cast):
    order = dispatched(cast)
    r = post(cast.a.dispatcher, "orders:cancel", order, {"reason": ""})
    assert r.status_code == 400 and "请说明取消的原因" in text(r)
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED
    r = post(cast.a.dispatcher, "orders:cancel", order, {"reason": "居民来电取消"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_queue_filters_and_counts(cast):
    a1 = place(cast)
    a2 = dispatched(cast)
    urgent = place(cast, urgency="urgent")
    late = place(cast)
    Order.objects.filter(pk=late.pk).update(overdue=True)
    b = place(cast, actor=cast.b.resident)
    client = client_for(cast.a.dispatcher)
    html = text(client.get(reverse("orders:queue")))
    for o in (a1, a2, urgent, late):
        assert f"#{o.pk}<" in html
    assert f"#{b.pk}<" not in html
    assert "共 4 张订单" in html

    html = text(client.get(reverse("orders:queue"), {"status": "dispatched"}))
    assert f"#{a2.pk}<" in html and f"#{a1.pk}<" not in html
    html = text(client.get(reverse("orders:queue"), {"urgency": "urgent"}))
    assert f"#{urgent.pk}<" in html and f"#{a1.pk}<" not in html
    html = text(client.get(reverse("orders:queue"), {"overdue": "on", "status": "open"}))
    assert f"#{late.pk}<" in html and f"#{a1.pk}<" not in html
    html = text(client.get(reverse("orders:queue"), {"item": "health_clinic"}))
    assert "共 0 张订单" in html
    partial = client.get(reverse("orders:queue"), {"status": "submitted"}, HTTP_HX_REQUEST="true")
    assert "<html" not in text(partial) and f"#{a1.pk}<" in text(partial)
    # nonsense filters are ignored, not a 500
    assert client.get(reverse("orders:queue"), {"status": "nope", "page": "x"}).status_code == 200

    city = text(client_for(cast.city).get(reverse("orders:queue")))
    assert f"#{b.pk}<" in city and "共 5 张订单" in city
    city = text(client_for(cast.city).get(reverse("orders:queue"), {"community": cast.b.center.pk}))
    assert "共 1 张订单" in city


def test_queue_is_paginated(cast):
    for _ in range(27):
        place(cast)
    html = text(client_for(cast.a.dispatcher).get(reverse("orders:queue")))
    assert "第 1 / 2 页" in html


def test_phone_order_on_behalf_of_resident(cast):
    client = client_for(cast.a.dispatcher)
    url = reverse("orders:phone")
    for q in ("zqb", "曾庆", "1234"):
        html = text(client.get(url, {"q": q}))
        assert cast.a.person.name in html, q
        assert cast.a.person.phone not in html  # masked
    assert cast.b.person.name not in text(client.get(url, {"q": "gah"}))
    partial = client.get(url, {"q": "zqb"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="phone-results")
    assert "<html" not in text(partial) and cast.a.person.name in text(partial)

    page = client.get(url, {"resident": cast.a.person.pk})
    assert "家政维修" in text(page) and "提交订单" in text(page)
    r = client.post(
        url,
        {
            "resident": cast.a.person.pk,
            "item": "home_repair",
            "urgency": "urgent",
            "description": "电话：卫生间漏水",
            "channel": "phone",
        },
    )
    assert r.status_code == 302
    order = Order.objects.get()
    assert (order.placed_by, order.placed_as, order.channel, order.urgency) == (
        cast.a.dispatcher,
        "dispatcher",
        "phone",
        "urgent",
    )
    assert order.address == cast.a.person.address
    detail = text(client.get(r["Location"]))
    assert "代居民下单" in detail and "已为 曾庆宝 下单" in detail


def test_phone_order_errors(cast):
    client = client_for(cast.a.dispatcher)
    url = reverse("orders:phone")
    r = client.post(url, {"resident": cast.a.person.pk, "urgency": "normal", "channel": "desk"})
    assert r.status_code == 400  # no item chosen
    r = client.post(
        url,
        {
            "resident": cast.a.person.pk,
            "item": "home_repair",
            "urgency": "scheduled",
            "channel": "desk",
        },
    )
    assert r.status_code == 400 and "预约服务需要填写期望时间" in text(r)
    r = client.post(
        url,
        {
            "resident": cast.b.person.pk,
            "item": "home_repair",
            "urgency": "normal",
            "channel": "desk",
        },
    )
    assert r.status_code == 404  # another community's resident
    assert client.get(url, {"resident": cast.b.person.pk}).status_code == 404
    assert not Order.objects.exists()


def test_follow_up_list_and_close(cast):
    order = completed(cast)
    services.order_rate(
        actor=cast.a.resident, order_id=order.pk, resolved=False, satisfaction=2, comment="还在漏"
    )
    client = client_for(cast.a.dispatcher)
    html = text(client.get(reverse("orders:follow_ups")))
    assert f"#{order.pk}" in html and "还在漏" in html
    queue = text(client.get(reverse("orders:queue"), {"follow_up": "on"}))
    assert f"#{order.pk}<" in queue

    r = post(cast.a.dispatcher, "orders:follow_up", order, {"note": " "})
    assert r.status_code == 400 and "请填写回访记录" in text(r)
    assert FollowUp.objects.get().closed_at is None

    here = reverse("orders:follow_ups")
    r = post(
        cast.a.dispatcher, "orders:follow_up", order, {"note": "已上门复查，换了新管", "next": here}
    )
    assert (r.status_code, r["Location"]) == (302, here)
    assert FollowUp.objects.get().closed_at is not None
    html = text(client.get(here))
    assert "已上门复查" in html and "没有待回访的订单" in html
    r = post(cast.a.dispatcher, "orders:follow_up", order, {"note": "again"})
    assert r.status_code == 409
    assert post(cast.b.dispatcher, "orders:follow_up", order, {"note": "x"}).status_code == 404


def test_follow_up_error_from_the_list_stays_on_the_list(cast):
    """An empty note sent from the list shows the list again, the error at that order's form."""
    orders = []
    for _ in range(2):
        order = completed(cast)
        services.order_rate(
            actor=cast.a.resident, order_id=order.pk, resolved=False, satisfaction=1
        )
        orders.append(order)
    first, second = orders
    here = reverse("orders:follow_ups")
    r = post(cast.a.dispatcher, "orders:follow_up", second, {"note": "  ", "next": here})
    assert r.status_code == 400
    assert [t.name for t in r.templates][0] == "orders/follow_ups.html"
    html = text(r)
    assert html.count("请填写回访记录") == 1
    # The error sits in the second order's form, not the first's.
    form_of = {
        o.pk: html.split(f'id="follow-up-{o.pk}"', 1)[1].split("</form>", 1)[0] for o in orders
    }
    assert "请填写回访记录" in form_of[second.pk]
    assert 'aria-invalid="true"' in form_of[second.pk]
    assert "请填写回访记录" not in form_of[first.pk]
    assert not FollowUp.objects.filter(closed_at__isnull=False).exists()
    # Sent from the order page, the error is still shown there.
    r = post(cast.a.dispatcher, "orders:follow_up", second, {"note": ""})
    assert r.status_code == 400
    assert [t.name for t in r.templates][0] == "orders/detail.html"


def test_whole_timeline_reads_as_sentences(cast):
    order = completed(cast)
    services.order_rate(
        actor=cast.a.resident, order_id=order.pk, resolved=True, satisfaction=5, comment="很好"
    )
    html = text(client_for(cast.a.resident).get(reverse("orders:detail", args=[order.pk])))
    name = cast.a.volunteer.display_name
    for sentence in (
        "下单（手机）",
        f"派单给 {name}",
        "接了单",
        "开始了服务",
        "完成了服务",
        "已换好水龙头",
        "评价：5 分（非常满意），问题已解决",
        "很好",
    ):
        assert sentence in html, sentence
    assert "为这次服务打分" not in html


def test_timeline_reads_as_events_in_english(cast):
    order = completed(cast)
    services.order_rate(
        actor=cast.a.resident, order_id=order.pk, resolved=True, satisfaction=5, comment="很好"
    )
    page = client_for(cast.a.resident).get(
        reverse("orders:detail", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    html = text(page)
    name = cast.a.volunteer.display_name
    for sentence in (
        "placed the order (",
        f"dispatched it to {name}",
        "accepted",
        "started the service",
        "finished the service",
        "rated it 5 out of 5",
    ):
        assert sentence in html, sentence
    assert "Start service" not in html and "Accept<" not in html


# --- no N+1 -----------------------------------------------------------------------------


def _many(cast, n: int) -> None:
    cast.a.member.max_concurrent = 20
    cast.a.member.save()
    for i in range(n):
        order = place(cast, urgency="urgent" if i % 2 else "normal")
        if i % 3 == 0:
            services.order_dispatch(
                actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk
            )
        elif i % 3 == 1:
            services.order_dispatch(
                actor=cast.a.dispatcher, order_id=order.pk, team_id=cast.a.team.pk
            )


def _queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "who, page, params, most",
    [
        # Every page's top bar counts the unread notifications: one query each.
        # The console's indicators: a probe for stale rollup cells and one sum.
        ("a.dispatcher", "orders:queue", {}, 12),
        ("a.dispatcher", "orders:queue", {"status": "open", "urgency": "urgent"}, 12),
        ("city", "orders:queue", {}, 12),
        ("a.leader", "orders:queue", {}, 13),  # and the teams they lead, once
        ("a.resident", "orders:mine", {}, 11),
        ("a.volunteer", "orders:tasks", {}, 14),
    ],
)
def test_list_pages_do_not_grow_with_rows(cast, who, page, params, most):
    """The same number of queries for 3 orders and for 18: no N+1."""
    client = client_for(cast.all_users()[who])
    url = reverse(page)
    _many(cast, 3)
    rollups.refresh_stale()  # as the worker does: the indicators then read the rollup alone
    few = _queries(client, url, **params)
    _many(cast, 15)
    rollups.refresh_stale()
    many = _queries(client, url, **params)
    assert few == many <= most, (few, many)


def test_follow_ups_query_count(cast, django_assert_max_num_queries):
    for _ in range(4):
        order = completed(cast)
        services.order_rate(
            actor=cast.a.resident, order_id=order.pk, resolved=False, satisfaction=1
        )
    client = client_for(cast.a.dispatcher)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("orders:follow_ups")).status_code == 200


def test_console_shows_the_indicators_of_the_last_30_days(cast):
    from django.urls import reverse as _reverse

    from linli.orders import services as _services
    from linli.site.testing import client_for as _client_for

    order = _services.order_place(actor=cast.a.resident, item="home_repair")
    _services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    _services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    _services.order_start(actor=cast.a.volunteer, order_id=order.pk)
    _services.order_complete(actor=cast.a.volunteer, order_id=order.pk)
    _services.order_rate(actor=cast.a.resident, order_id=order.pk, resolved=True, satisfaction=5)
    html = _client_for(cast.a.dispatcher).get(_reverse("orders:queue")).content.decode()
    assert "响应率" in html and html.count("100%") == 3
    other = _client_for(cast.b.dispatcher).get(_reverse("orders:queue")).content.decode()
    assert "100%" not in other


@pytest.mark.django_db
def test_the_consoles_dispatch_button_is_the_dispatch_predicates(cast):
    """派单 where a slot is still open (a half-dispatched order too), 查看 elsewhere;
    a leader who leads no team gets no 派单 (the page's own status check gave one)."""
    from linli.orders.models import ServiceItem
    from linli.teams.models import Team

    ServiceItem.objects.create(
        code="repair_pair", name="双人维修", fixed=True, team_kind=Team.Kind.CONVENIENCE,
        skill=Skill.objects.get(code="home_repair"), members_needed=2,
    )  # fmt: skip
    half = services.order_place(actor=cast.a.resident, item="repair_pair")
    services.order_dispatch(actor=cast.a.dispatcher, order_id=half.pk, member_id=cast.a.member.pk)
    full = services.order_place(actor=cast.a.resident, item="home_repair")
    services.order_dispatch(actor=cast.a.dispatcher, order_id=full.pk, member_id=cast.a.member.pk)
    assert Order.objects.get(pk=half.pk).status == OrderStatus.SUBMITTED  # one slot still open

    def buttons(user):
        html = client_for(user).get(reverse("orders:queue"), {"status": "open"}).content.decode()
        return set(re.findall(r'href="/orders/(\d+)/#dispatch"', html))

    assert buttons(cast.a.dispatcher) == {str(half.pk)}
    assert buttons(cast.a.leader) == {str(half.pk)}
    Team.objects.filter(leader=cast.a.leader).update(leader=None)
    assert buttons(cast.a.leader) == set()


def test_sent_form_answers_with_its_order_only_to_its_sender(cast) -> None:
    from django.test import Client

    from linli.orders import services

    order = services.order_place(actor=cast.a.resident, item="home_repair", idempotency_key="k-1")
    mine = Client()
    mine.force_login(cast.a.resident)
    json = {"Accept": "application/json"}
    assert mine.get("/orders/sent/k-1/", headers=json).json() == {
        "order": order.pk,
        "url": f"/orders/{order.pk}/",
    }
    assert mine.get("/orders/sent/k-1/")["Location"] == f"/orders/{order.pk}/"
    assert mine.get("/orders/sent/other/", headers=json).status_code == 404
    # Another account's key tells nothing.
    other = Client()
    other.force_login(cast.b.resident)
    assert other.get("/orders/sent/k-1/", headers=json).status_code == 404
    # Sent again with the same key: the same order, no second one.
    response = mine.post(
        "/orders/new/home_repair/",
        {
            "resident": cast.a.person.pk,
            "address": "x路1号",
            "urgency": "normal",
            "idempotency_key": "k-1",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    assert services.Order.objects.filter(placed_by=cast.a.resident).count() == 1


def test_follow_up_reason_reads_in_the_readers_language(cast):
    order = completed(cast)
    services.order_rate(
        actor=cast.a.resident, order_id=order.pk, resolved=False, satisfaction=1, comment=""
    )
    client = client_for(cast.a.dispatcher)
    for url in (reverse("orders:follow_ups"), reverse("orders:detail", args=[order.pk])):
        en = text(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
        assert "满意度" not in en and "未解决" not in en, url
    zh = text(client.get(reverse("orders:follow_ups")))
    assert "未解决，满意度 1 分" in zh


def test_errors_a_resident_sees_are_plain_words(cast) -> None:
    """Django's own messages in plain Chinese: no "变量" (variable), no "字段" (field)."""
    from django.test import Client

    client = Client()
    client.force_login(cast.a.resident)
    response = client.post(
        "/orders/new/home_repair/",
        {"resident": cast.a.person.pk, "urgency": "normal", "description": "漏" * 2001},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "最多 2000 个字，现在是 2001 个字。" in html
    assert "变量" not in html and "字段" not in html
    missing = client.post("/orders/new/home_repair/", {"resident": cast.a.person.pk})
    assert (
        "请从选项中选择一项" in missing.content.decode()
        or "请填写这一项" in missing.content.decode()
    )
