"""The whole point-order cycle in three browsers: resident, dispatcher, volunteer.

群众点单 → 集中派单 → 服务队接单 → 群众评单, each through the pages, each person
logged in through the login form, with screenshots at phone and desktop widths.
"""

from __future__ import annotations

import re

import pytest

from linli.orders.models import Order, OrderStatus
from linli.site.testing import browser_log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "browser-test-pw"
PHONE, DESKTOP = 390, 1280


def log_in(browser, live_server, user, name: str, width: int):
    user.first_name = name
    user.set_password(PASSWORD)
    user.save()
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    browser_log_in(page, live_server.url, user.username, PASSWORD)
    return context, page


def timeline(page) -> str:
    return page.locator(".timeline").inner_text()


def both_widths(page, screenshot, name: str) -> None:
    """The dispatcher's console: a desktop first, and it must still fit a phone."""
    screenshot(page, f"{name}-{DESKTOP}")
    page.set_viewport_size({"width": PHONE, "height": 900})
    screenshot(page, f"{name}-{PHONE}")
    page.set_viewport_size({"width": DESKTOP, "height": 900})


def test_order_dispatch_accept_complete_rate(live_server, browser, screenshot, cast):
    url = live_server.url
    resident_ctx, resident = log_in(browser, live_server, cast.a.resident, "曾庆宝", PHONE)
    dispatcher_ctx, dispatcher = log_in(browser, live_server, cast.a.dispatcher, "黄小燕", DESKTOP)
    volunteer_ctx, volunteer = log_in(browser, live_server, cast.a.volunteer, "李师傅", PHONE)

    # 群众点单: three taps from the home page.
    resident.locator(".service-btn", has_text="家政维修").wait_for()
    screenshot(resident, "orders-1-home-resident-390")
    resident.locator(".service-btn", has_text="家政维修").click()
    resident.wait_for_url("**/orders/new/home_repair/")
    assert resident.input_value("#id_address") == cast.a.person.address
    assert resident.is_checked("input[name=urgency][value=normal]")
    resident.fill("#id_description", "厨房水龙头漏水，关不紧")
    screenshot(resident, "orders-2-place-390")
    resident.get_by_role("button", name="确认下单").click()
    resident.wait_for_url(re.compile(r".*/orders/\d+/$"))
    order = Order.objects.get()
    assert order.status == OrderStatus.SUBMITTED and order.placed_as == "self"
    assert "下单成功" in resident.locator(".messages").inner_text()
    assert "曾庆宝 · 居民 下单（手机）" in timeline(resident)
    screenshot(resident, "orders-3-submitted-resident-390")

    # 集中派单: the dispatcher finds it in the console and dispatches it to the volunteer.
    dispatcher.goto(f"{url}/orders/console/")
    row = dispatcher.locator("table.queue tbody tr", has_text=f"#{order.pk}")
    assert "待派单" in row.inner_text()
    both_widths(dispatcher, screenshot, "orders-4-queue")
    row.get_by_role("link", name="派单").click()
    dispatcher.wait_for_url(re.compile(rf".*/orders/{order.pk}/(#dispatch)?$"))
    option = dispatcher.locator(f"#id_target option[value=m{cast.a.member.pk}]")
    assert "李师傅" in option.inner_text() and "0/3 单" in option.inner_text()
    dispatcher.select_option("#id_target", f"m{cast.a.member.pk}")
    both_widths(dispatcher, screenshot, "orders-5-dispatch")
    dispatcher.locator("#dispatch").get_by_role("button", name="派单").click()
    dispatcher.locator(".messages", has_text="已派单给 李师傅").wait_for()
    assert "黄小燕 · 派单员 派单给 李师傅" in timeline(dispatcher)
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED

    # 服务队接单: the volunteer accepts, starts and completes it (htmx swaps the card).
    volunteer.get_by_role("link", name="我的派单").first.click()
    volunteer.wait_for_url("**/orders/tasks/")
    card = volunteer.locator(f"#task-{order.pk}")
    assert "厨房水龙头漏水" in card.inner_text()
    screenshot(volunteer, "orders-6-tasks-volunteer-390")
    card.get_by_role("button", name="接单", exact=True).click()
    card = volunteer.locator(f"#task-{order.pk}")
    card.get_by_role("button", name="开始服务").wait_for()
    assert "已接单，请按时上门服务" in card.inner_text()
    card.get_by_role("button", name="开始服务").click()
    card.get_by_role("button", name="完成服务").wait_for()
    volunteer.fill(f"#note-{order.pk}", "已更换水龙头阀芯，试水无渗漏")
    screenshot(volunteer, "orders-7-in-service-volunteer-390")
    card.get_by_role("button", name="完成服务").click()
    volunteer.locator(f"#task-{order.pk} .done").wait_for()
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    volunteer.goto(f"{url}/orders/{order.pk}/")
    seen = timeline(volunteer)
    for line in (
        "李师傅 · 志愿者 接了单",
        "李师傅 · 志愿者 开始了服务",
        "李师傅 · 志愿者 完成了服务",
    ):
        assert line in seen, line
    assert "已更换水龙头阀芯" in seen
    screenshot(volunteer, "orders-8-detail-volunteer-390")

    # 群众评单: the resident rates it 5 with big labelled buttons.
    resident.reload()
    assert "服务已完成，请为这次服务打分" in resident.locator(".hint").inner_text()
    resident.locator("label.choice", has_text="已解决").click()
    resident.locator("label[for=id_satisfaction_4]").click()
    assert resident.locator("label[for=id_satisfaction_4]").inner_text().split() == [
        "5",
        "非常满意",
    ]
    resident.fill("#id_comment", "李师傅很细心，谢谢社区")
    screenshot(resident, "orders-9-rate-resident-390")
    resident.get_by_role("button", name="提交评价").click()
    resident.locator(".messages", has_text="感谢您的评价").wait_for()
    order.refresh_from_db()
    assert order.status == OrderStatus.RATED and order.rating.satisfaction == 5
    seen = timeline(resident)
    for line in (
        "曾庆宝 · 居民 下单（手机）",
        "黄小燕 · 派单员 派单给 李师傅",
        "李师傅 · 志愿者 接了单",
        "李师傅 · 志愿者 开始了服务",
        "李师傅 · 志愿者 完成了服务",
        "曾庆宝 · 居民 评价：5 分（非常满意），问题已解决",
        "李师傅很细心，谢谢社区",
    ):
        assert line in seen, line
    screenshot(resident, "orders-10-rated-resident-390")

    # The dispatcher sees the same story, and the order is done in the queue.
    dispatcher.goto(f"{url}/orders/{order.pk}/")
    assert "评价：5 分（非常满意）" in timeline(dispatcher)
    assert "李师傅" in dispatcher.locator("table.slots").inner_text()
    both_widths(dispatcher, screenshot, "orders-11-detail-dispatcher")
    dispatcher.goto(f"{url}/orders/console/?status=rated")
    assert f"#{order.pk}" in dispatcher.locator("table.queue").inner_text()

    for context in (resident_ctx, dispatcher_ctx, volunteer_ctx):
        context.close()


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_phone_order_and_follow_up(live_server, browser, screenshot, cast, width):
    """电话代下单 for a resident found by pinyin initials, then a low rating's follow-up."""
    from linli.orders import services

    url = live_server.url
    context, page = log_in(browser, live_server, cast.a.dispatcher, "黄小燕", width)
    page.goto(f"{url}/orders/console/")
    page.get_by_role("link", name="电话代下单").click()
    page.wait_for_url("**/orders/console/phone/")
    page.fill("input[name=q]", "zqb")
    pick = page.locator(".pick", has_text="曾庆宝")
    pick.wait_for()
    assert "138****1234" in pick.inner_text()  # masked for the desk too
    screenshot(page, f"orders-phone-search-{width}")
    pick.click()
    page.locator("#order-form").wait_for()
    page.locator("label.choice", has_text="家政维修").click()
    page.locator("label.choice", has_text="紧急").click()
    page.fill("#id_description", "老人来电：卫生间灯不亮")
    screenshot(page, f"orders-phone-form-{width}")
    page.get_by_role("button", name="提交订单").click()
    page.wait_for_url(re.compile(r".*/orders/\d+/$"))
    order = Order.objects.get()
    assert (order.placed_as, order.channel, order.urgency) == ("dispatcher", "phone", "urgent")
    assert "黄小燕 · 派单员 代居民下单（电话）" in timeline(page)
    assert "138****1234" in page.locator(".facts").inner_text()  # still masked for the desk

    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, team_id=cast.a.team.pk)
    services.order_accept(actor=cast.a.volunteer, order_id=order.pk)
    services.order_start(actor=cast.a.volunteer, order_id=order.pk)
    services.order_complete(actor=cast.a.volunteer, order_id=order.pk)
    services.order_rate(
        actor=cast.a.resident,
        order_id=order.pk,
        resolved=False,
        satisfaction=2,
        comment="灯还是不亮",
    )

    page.goto(f"{url}/orders/console/")
    assert page.locator(".chip", has_text="待回访").inner_text().split() == ["待回访", "1"]
    screenshot(page, f"orders-queue-follow-up-{width}")
    page.get_by_role("link", name="回访").first.click()
    page.wait_for_url("**/orders/console/follow-ups/")
    assert "灯还是不亮" in page.content()
    page.fill(f"#note-{order.pk}", "已电话回访，明天再派电工上门")
    screenshot(page, f"orders-follow-ups-{width}")
    page.get_by_role("button", name="关闭回访").click()
    page.locator(".messages", has_text="回访已关闭").wait_for()
    assert order.follow_up.__class__.objects.get(order=order).closed_at is not None
    context.close()

    if width == PHONE:
        context, page = log_in(browser, live_server, cast.a.resident, "曾庆宝", PHONE)
        page.get_by_role("link", name="我的订单").first.click()
        page.locator(".order-card", has_text="家政维修").wait_for()
        screenshot(page, "orders-mine-resident-390")
        context.close()


def test_volunteer_declines_with_htmx(live_server, browser, screenshot, cast):
    """A 400 from htmx is swapped in (the reason is required), then the decline goes through."""
    from linli.orders import services

    order = services.order_place(actor=cast.a.resident, item="home_repair")
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    context, page = log_in(browser, live_server, cast.a.volunteer, "李师傅", PHONE)
    page.goto(f"{live_server.url}/orders/tasks/")
    card = page.locator(f"#task-{order.pk}")
    card.locator("summary", has_text="不能接").click()
    card.get_by_role("button", name="确认不接").click()
    card.locator(".errorlist", has_text="请说明不能接单的原因").wait_for()
    assert page.url.endswith("/orders/tasks/")  # swapped in place, no navigation
    screenshot(page, "orders-decline-error-390")
    card.locator("textarea[name=reason]").fill("今天在梧州，回不来")
    card.get_by_role("button", name="确认不接").click()
    card.locator(".notice", has_text="退回派单员").wait_for()
    screenshot(page, "orders-declined-390")
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    context.close()


def test_english_pages_fit_a_phone(live_server, browser, screenshot, cast):
    """English strings run longer than Chinese: the order pages must still fit 390 px."""
    from linli.orders import services

    order = services.order_place(actor=cast.a.resident, item="home_repair", description="Leak")
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, team_id=cast.a.team.pk)
    for user, name, paths in (
        (cast.a.resident, "Zeng", ["/", "/orders/new/home_repair/", f"/orders/{order.pk}/"]),
        (cast.a.volunteer, "Li", ["/orders/tasks/"]),
        (cast.a.dispatcher, "Huang", ["/orders/console/", f"/orders/{order.pk}/"]),
    ):
        context, page = log_in(browser, live_server, user, name, PHONE)
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
        for i, path in enumerate(paths):
            page.goto(f"{live_server.url}{path}")
            assert page.locator("html").get_attribute("lang") == "en"
            screenshot(page, f"orders-en-{user.role}-{i}-390")
        context.close()
