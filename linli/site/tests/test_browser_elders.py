"""The elder-friendly baseline, measured in Chromium on a phone (390 px).

Every main page of every role, in both languages: the computed font size of
every visible text node (body text 18 px or more, secondary text 16 px or
more), the box of every link, button and field (44 x 44 px or more), and
axe-core (from npm, injected into the page) reporting no serious or critical
violation. Also: the language switch keeps the filter htmx put in the address.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from linli.orders import services
from linli.orders.catalog import install_optional_items
from linli.site.testing import Cast, browser_log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "elder-test-pw"
AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}

# Text allowed the secondary size (16 px): what linli.css sets to var(--small).
SECONDARY = (
    ".muted, .small, small, .tag, .badge, .counts, time, .reasons, .oc-meta, "
    ".note-meta, .count, .indicators span"
)

MEASURE = """
([secondary]) => {
  const visible = (el) => {
    if (el.closest('.visually-hidden, [hidden], [aria-hidden="true"], script, style, template')) return false;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.display === 'none' || parseFloat(cs.opacity) === 0) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const describe = (el) => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40);
    return el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '') + ' "' + text + '"';
  };
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || !visible(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    const floor = el.closest(secondary) ? 16 : 18;
    if (size < floor - 0.05) small.push(size.toFixed(1) + 'px ' + describe(el));
  }
  const targets = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    const box = (el.type === 'checkbox' || el.type === 'radio') ? (el.closest('label') || el) : el;
    if (!visible(box)) continue;
    const r = box.getBoundingClientRect();
    if (r.width < 43.5 || r.height < 43.5) targets.push(Math.round(r.width) + 'x' + Math.round(r.height) + ' ' + describe(el));
  }
  return {small, targets, wide: document.documentElement.scrollWidth > window.innerWidth + 1};
}
"""

AXE_RUN = """
async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}
"""


def _orders(cast: Cast) -> dict[str, int]:
    """An order in each state a page shows: waiting, dispatched to the member, rated low."""
    install_optional_items([cast.a.center])
    waiting = services.order_place(actor=cast.a.resident, item="home_repair", description="漏水")
    dispatched = services.order_place(actor=cast.a.resident, item="home_repair", description="门锁")
    services.order_dispatch(
        actor=cast.a.dispatcher, order_id=dispatched.pk, member_id=cast.a.member.pk
    )
    done = services.order_place(actor=cast.a.resident, item="home_repair", description="灯坏了")
    services.order_dispatch(actor=cast.a.dispatcher, order_id=done.pk, member_id=cast.a.member.pk)
    volunteer = cast.a.member.user
    services.order_accept(actor=volunteer, order_id=done.pk)
    services.order_start(actor=volunteer, order_id=done.pk)
    services.order_complete(actor=volunteer, order_id=done.pk, note="换了灯泡")
    services.order_rate(
        actor=cast.a.resident, order_id=done.pk, resolved=False, satisfaction=2, comment="还是暗"
    )
    return {"waiting": waiting.pk, "dispatched": dispatched.pk, "done": done.pk}


def _pages(cast: Cast, ids: dict[str, int]) -> dict[str, list[str]]:
    person = cast.a.person
    assert person is not None
    return {
        "resident": [
            "/",
            "/orders/",
            "/orders/new/home_repair/",
            f"/orders/new/birthday-{cast.a.center.code}/",
            f"/orders/{ids['dispatched']}/",
            f"/orders/{ids['done']}/",
            "/network/",
            "/notifications/",
        ],
        "volunteer": ["/", "/orders/tasks/", f"/orders/{ids['dispatched']}/"],
        "dispatcher": [
            "/orders/console/",
            "/orders/console/?status=submitted",
            f"/orders/{ids['waiting']}/",
            f"/orders/{ids['done']}/",
            "/orders/console/phone/",
            "/orders/console/follow-ups/",
            "/dispatch/batch/",
            "/people/",
            f"/people/{person.pk}/",
            f"/people/{person.pk}/password/",
            "/teams/",
            "/network/",
        ],
        "leader": ["/orders/tasks/", "/orders/console/"],
        "city": ["/orders/console/", "/people/", "/network/"],
    }


def _open(browser, live_server, user, language: str):
    user.set_password(PASSWORD)
    user.save()
    # axe is injected as a script of the test's own: the page's CSP is the CSP
    # test's business (test_browser_csp), not this one's.
    context = browser.new_context(
        viewport=PHONE,
        locale="zh-CN" if language == "zh-hans" else "en-GB",
        bypass_csp=True,
        extra_http_headers={"Accept-Language": "zh-Hans" if language == "zh-hans" else "en"},
    )
    page = context.new_page()
    browser_log_in(page, live_server.url, user.username, PASSWORD)
    want = "zh-Hans" if language == "zh-hans" else "en"
    assert page.locator("html").get_attribute("lang") == want
    return context, page


def _check(page, url: str, problems: list[str]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    found = page.evaluate(MEASURE, [SECONDARY])
    where = page.url
    problems += [f"{where}: text {s}" for s in found["small"]]
    problems += [f"{where}: target {t}" for t in found["targets"]]
    if found["wide"]:
        problems.append(f"{where}: wider than the phone")
    page.add_script_tag(path=str(AXE))
    problems += [f"{where}: axe {v}" for v in page.evaluate(AXE_RUN)]


@pytest.mark.skipif(not AXE.exists(), reason="needs axe-core from npm (scripts/test-deps)")
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_main_page_meets_the_elder_baseline(
    live_server, browser, cast: Cast, language: str
) -> None:
    ids = _orders(cast)
    problems: list[str] = []
    # Before anyone signs in: the login page.
    context = browser.new_context(
        viewport=PHONE, bypass_csp=True, locale="zh-CN" if language == "zh-hans" else "en-GB"
    )
    page = context.new_page()
    assert page.goto(live_server.url + "/accounts/login/").ok
    assert page.locator("html").get_attribute("lang") == (
        "zh-Hans" if language == "zh-hans" else "en"
    )
    _check(page, live_server.url + "/accounts/login/", problems)
    context.close()
    users = {
        "resident": cast.a.resident,
        "volunteer": cast.a.member.user,
        "dispatcher": cast.a.dispatcher,
        "leader": cast.a.leader,
        "city": cast.city,
    }
    for role, paths in _pages(cast, ids).items():
        context, page = _open(browser, live_server, users[role], language)
        for path in paths:
            _check(page, live_server.url + path, problems)
        context.close()
    assert problems == [], "\n".join(problems)


def test_language_switch_keeps_the_filter_htmx_set(live_server, browser, cast: Cast) -> None:
    _orders(cast)
    context, page = _open(browser, live_server, cast.a.dispatcher, "zh-hans")
    page.goto(live_server.url + "/people/")
    page.fill("input[name=q]", "zqb")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/people/?q=zqb*")
    page.click("form.lang button[value=en]")
    page.wait_for_load_state("networkidle")
    assert "q=zqb" in page.url
    assert page.input_value("input[name=q]") == "zqb"
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


DESKTOP = {"width": 1366, "height": 900}


@pytest.mark.skipif(not AXE.exists(), reason="needs axe-core from npm (scripts/test-deps)")
def test_the_slot_table_fits_a_staff_order_page_on_a_desktop(
    live_server, browser, cast: Cast, tmp_path: Path
) -> None:
    """English, 1366 px: the slot table fits its column, with no inner scroll region."""
    ids = _orders(cast)
    context, page = _open(browser, live_server, cast.a.dispatcher, "en")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/orders/{ids['done']}/")
    page.wait_for_load_state("networkidle")
    table = page.locator("table.slots")
    fits = table.evaluate(
        "t => ({table: t.scrollWidth, column: t.parentElement.clientWidth,"
        " scrollers: [...t.closest('section').querySelectorAll('*')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1"
        " && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)).length})"
    )
    page.screenshot(path=str(tmp_path / "slots-1366-en.png"), full_page=True)
    assert fits["table"] <= fits["column"] and fits["scrollers"] == 0, fits
    assert "Finished" in table.inner_text() and "Dispatched" in table.inner_text()
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(AXE_RUN) == []
    context.close()
