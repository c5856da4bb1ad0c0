"""A dispatcher dispatches from the ranked suggestions and batch-assigns the rest."""

from __future__ import annotations

import pytest

from linli.orders import services as orders
from linli.orders.models import OrderStatus
from linli.site.testing import browser_log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "browser-test-pw"


@pytest.mark.parametrize("width", [390, 1280])
def test_dispatch_from_suggestion_then_batch(live_server, browser, screenshot, cast, width):
    dispatcher = cast.a.dispatcher
    dispatcher.first_name = "黄秀玲"
    dispatcher.set_password(PASSWORD)
    dispatcher.save()
    first = orders.order_place(actor=cast.a.resident, item="home_repair", description="灯不亮")
    second = orders.order_place(actor=cast.a.resident, item="home_repair", description="门锁坏了")

    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    browser_log_in(page, live_server.url, dispatcher.username, PASSWORD)

    page.goto(f"{live_server.url}/orders/{first.pk}/")
    page.locator("ol.ranked").wait_for()
    assert "有家政维修技能" in page.locator("#suggestions").inner_text()
    screenshot(page, f"dispatch-suggestions-{width}")
    page.locator("#suggestions button[type=submit]").first.click()
    page.wait_for_load_state()
    first.refresh_from_db()
    assert first.status == OrderStatus.DISPATCHED

    page.goto(f"{live_server.url}/dispatch/batch/")
    assert "确认并派出" in page.content()
    screenshot(page, f"dispatch-batch-plan-{width}")
    page.get_by_role("button", name="确认并派出").click()
    page.wait_for_load_state()
    screenshot(page, f"dispatch-batch-done-{width}")
    second.refresh_from_db()
    assert second.status == OrderStatus.DISPATCHED
    context.close()
