"""A dispatcher finds a resident by pinyin initials and reveals the phone."""

from __future__ import annotations

import pytest

from linli.core.models import AuditLog
from linli.site.testing import browser_log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "browser-test-pw"


@pytest.mark.parametrize("width", [390, 1280])
def test_dispatcher_search_open_and_reveal(live_server, browser, screenshot, cast, width):
    dispatcher = cast.a.dispatcher
    dispatcher.first_name = "黄小燕"
    dispatcher.set_password(PASSWORD)
    dispatcher.save()
    person = cast.a.person

    context = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    screenshot(page, f"login-{width}")
    browser_log_in(page, live_server.url, dispatcher.username, PASSWORD)
    assert "黄小燕" in page.content()
    screenshot(page, f"home-dispatcher-{width}")

    page.goto(f"{live_server.url}/people/")
    page.fill("input[name=q]", "zqb")
    page.keyboard.press("Enter")
    link = page.get_by_role("link", name=person.name)
    link.wait_for()
    screenshot(page, f"people-search-{width}")
    link.click()
    page.wait_for_url(f"**/people/{person.pk}/")
    masked = page.locator("[data-masked=phone]").inner_text()
    assert masked == "138****1234"
    assert person.phone not in page.content()

    page.locator("#reveal-phone button").click()
    page.locator("[data-revealed=phone]").wait_for()
    assert page.locator("[data-revealed=phone]").inner_text() == person.phone
    screenshot(page, f"resident-revealed-{width}")

    entry = AuditLog.objects.get(action="reveal")
    assert (entry.actor_id, entry.target_id, entry.field) == (dispatcher.pk, person.pk, "phone")
    context.close()
