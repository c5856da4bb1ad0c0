"""The Content-Security-Policy: the main pages load in Chromium with no
violation, and htmx still works under it (accepting a task swaps the card)."""

from __future__ import annotations

import pytest

from linli.orders import services
from linli.site.testing import Cast, browser_log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "csp-test-pw"

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def open_as(browser, live_server, user, problems: list[str]):
    user.set_password(PASSWORD)
    user.save()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.add_init_script(WATCH)
    page = context.new_page()
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    browser_log_in(page, live_server.url, user.username, PASSWORD)
    return context, page


def violations(page) -> list[str]:
    return list(page.evaluate("window.__csp"))


def test_main_pages_have_no_csp_violation_and_htmx_works(live_server, browser, cast: Cast) -> None:
    order = services.order_place(actor=cast.a.resident, item="home_repair", description="漏水")
    services.order_dispatch(actor=cast.a.dispatcher, order_id=order.pk, member_id=cast.a.member.pk)
    url = live_server.url
    problems: list[str] = []
    seen: list[str] = []

    ctx, page = open_as(browser, live_server, cast.a.resident, problems)
    for path in ("/", "/orders/", "/orders/new/home_repair/", f"/orders/{order.pk}/", "/network/"):
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
        seen += violations(page)
    ctx.close()

    ctx, page = open_as(browser, live_server, cast.a.dispatcher, problems)
    for path in ("/orders/console/", "/people/", "/teams/"):
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
        seen += violations(page)
    ctx.close()

    ctx, page = open_as(browser, live_server, cast.a.volunteer, problems)
    page.goto(url + "/orders/tasks/")
    card = page.locator(f"#task-{order.pk}")
    card.locator("button[type=submit]", has_text="接单").click()
    # htmx posted and swapped the card in place: the page did not navigate.
    card.locator(".badge.slot-accepted").wait_for(timeout=10000)
    assert page.url.endswith("/orders/tasks/")
    seen += violations(page)
    ctx.close()

    assert seen == [] and problems == []
