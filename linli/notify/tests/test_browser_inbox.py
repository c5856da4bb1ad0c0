"""A resident sees the unread count in the top bar, opens the inbox and marks one read."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.translation import gettext_noop

from linli.notify.models import Notification
from linli.notify.services import notify
from linli.site.testing import Cast, browser_log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "browser-test-pw"


@pytest.mark.parametrize("width", [390, 1280])
def test_resident_reads_notifications(
    live_server: Any, browser: Any, screenshot: Any, cast: Cast, width: int
) -> None:
    resident = cast.a.resident
    resident.first_name = "曾庆宝"
    resident.set_password(PASSWORD)
    resident.save()
    for i, message in enumerate(
        [
            gettext_noop("新订单 #%(id)s：%(item)s（%(name)s）"),
            gettext_noop("新订单 #%(id)s：%(item)s（%(name)s）"),
        ],
        start=41,
    ):
        notify(
            [resident],
            "order_placed",
            message,
            {"id": i, "item": {"zh-hans": "家政维修", "en": "Home repairs"}, "name": "曾庆宝"},
            f"/orders/{i}/",
        )

    context = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN")
    page = context.new_page()
    browser_log_in(page, live_server.url, resident.username, PASSWORD)
    bell = page.locator("a.bell")
    assert bell.locator(".count").inner_text() == "2"
    screenshot(page, f"topbar-unread-{width}")

    bell.click()
    page.wait_for_url("**/notifications/")
    assert page.locator("li.note.unread").count() == 2
    assert "新订单 #42：家政维修（曾庆宝）" in page.locator("li.note").first.inner_text()
    screenshot(page, f"inbox-{width}")

    page.locator("li.note").first.get_by_role("button", name="标为已读").click()
    page.wait_for_url("**/notifications/")
    assert page.locator("a.bell .count").inner_text() == "1"
    assert page.locator("li.note.unread").count() == 1
    screenshot(page, f"inbox-one-read-{width}")

    # In English, from the switch in the top bar: the same notifications in English.
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/notifications/")
    assert "New order #42: Home repairs (曾庆宝)" in page.locator("li.note").first.inner_text()
    screenshot(page, f"inbox-en-{width}")
    resident.refresh_from_db()
    assert resident.language == "en"

    page.get_by_role("button", name="Mark all as read").click()
    page.wait_for_url("**/notifications/")
    assert page.locator("a.bell .count").count() == 0
    assert not Notification.objects.filter(recipient=resident, read_at=None).exists()
    context.close()
