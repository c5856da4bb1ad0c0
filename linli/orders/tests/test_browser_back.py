"""An order form that knows it was sent: Back, then submit again, makes one order."""

from __future__ import annotations

import pytest

from linli.orders.models import Order
from linli.site.testing import browser_log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "back-test-pw"


def _resident_page(browser, live_server, cast):
    user = cast.a.resident
    user.set_password(PASSWORD)
    user.save()
    context = browser.new_context(viewport={"width": 390, "height": 900}, locale="zh-CN")
    page = context.new_page()
    browser_log_in(page, live_server.url, user.username, PASSWORD)
    return context, page


def test_back_and_submit_again_makes_one_order(live_server, browser, cast) -> None:
    context, page = _resident_page(browser, live_server, cast)
    drawn: list[str] = []
    page.on(
        "request",
        lambda r: drawn.append(r.url) if r.method == "GET" and "/orders/new/" in r.url else None,
    )
    page.goto(live_server.url + "/orders/new/home_repair/")
    page.fill("#id_description", "厨房水龙头漏水")
    notice = page.locator("[data-sent-notice]")
    assert notice.is_hidden()
    page.click("main button[type=submit]")
    page.wait_for_url("**/orders/*/")
    first = Order.objects.get(placed_by=cast.a.resident)

    page.go_back()
    page.wait_for_url("**/orders/new/home_repair/")
    notice.wait_for(state="visible")
    # Back had the server draw the form anew, with a new key of its own: the
    # page put the first one back (a page restored whole from the back-forward
    # cache keeps its key anyway).
    assert len(drawn) == 2
    assert "这张订单已经提交" in notice.inner_text()
    assert notice.locator("a").get_attribute("href") == f"/orders/{first.pk}/"

    page.click("main button[type=submit]")
    page.wait_for_url(f"**/orders/{first.pk}/")
    assert "不会重复下单" in page.locator(".messages").inner_text()
    assert Order.objects.filter(placed_by=cast.a.resident).count() == 1

    # A new visit from the home page is a new form: a new order.
    page.goto(live_server.url + "/")
    page.locator(".service-btn", has_text="家政维修").click()
    page.wait_for_url("**/orders/new/home_repair/")
    assert page.locator("[data-sent-notice]").is_hidden()
    page.fill("#id_description", "门锁坏了")
    page.click("main button[type=submit]")
    page.wait_for_url("**/orders/*/")
    assert Order.objects.filter(placed_by=cast.a.resident).count() == 2
    context.close()
