"""Forgot password in Chromium, on a phone-sized screen: ask for a code, read
it from the outbox (the SMS), set a new password, land logged in. And the
desk's reset, as a dispatcher sees it."""

from __future__ import annotations

import pytest

from linli.notify.models import Notification
from linli.site.services import RESET_CODE_KIND
from linli.site.testing import Cast, browser_log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_forgot_password_journey(live_server, browser, screenshot, cast: Cast) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    url = live_server.url
    page.goto(f"{url}/accounts/login/")
    page.click("text=忘记密码？")
    page.fill("#id_who", cast.a.person.phone)
    screenshot(page, "password-forgot")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{url}/accounts/password/code/")
    note = Notification.objects.get(recipient=cast.a.resident, kind=RESET_CODE_KIND)
    assert note.params is not None
    page.fill("#id_code", "000000" if note.params["code"] != "000000" else "111111")
    page.fill("#id_password1", "garden-path-31")
    page.fill("#id_password2", "garden-path-31")
    page.click("main button[type=submit]")
    assert page.locator(".errorlist").first.is_visible()
    screenshot(page, "password-code-wrong")
    page.fill("#id_code", str(note.params["code"]))
    page.fill("#id_password1", "garden-path-31")
    page.fill("#id_password2", "garden-path-31")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{url}/")
    assert "密码已重设" in page.content()
    context.close()


def test_desk_reset_as_the_dispatcher_sees_it(live_server, browser, screenshot, cast: Cast) -> None:
    staff = cast.a.dispatcher
    staff.set_password("desk-pw-2024")
    staff.save()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    browser_log_in(page, live_server.url, staff.username, "desk-pw-2024")
    page.goto(f"{live_server.url}/people/{cast.a.person.pk}/")
    page.click("text=重置密码")
    screenshot(page, "password-desk-form")
    page.click("main button[type=submit]")
    assert "密码已重置" in page.content()
    shown = page.locator("dd code").inner_text()
    assert len(shown) == 9
    screenshot(page, "password-desk-done")
    context.close()
