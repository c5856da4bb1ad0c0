"""The city account opens a resident in the admin: masked, then one audited reveal."""

from __future__ import annotations

import pytest

from linli.core.models import AuditLog
from linli.core.roles import staff_access_sync
from linli.people.tests.helpers import make_resident

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "browser-test-pw"
PHONE = "13807745678"


def test_city_reveals_a_phone_in_the_admin(live_server, browser, screenshot, cast):
    city = cast.city
    city.set_password(PASSWORD)
    city.save()
    staff_access_sync(city)
    resident = make_resident(cast.a.center, phone=PHONE)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/people/resident/{resident.pk}/change/")
    page.fill("input[name=username]", city.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"**/admin/people/resident/{resident.pk}/change/")
    assert page.input_value("input[name=phone]") == "138****5678"
    assert PHONE not in page.content() and resident.id_number not in page.content()
    screenshot(page, "admin-resident-masked")

    page.locator("button[form=reveal-phone]").click()
    page.locator("#revealed-value").wait_for()
    assert page.locator("#revealed-value").inner_text() == PHONE
    screenshot(page, "admin-resident-revealed")
    entry = AuditLog.objects.get(action=AuditLog.Action.REVEAL)
    assert (entry.actor_id, entry.target_id, entry.field) == (city.pk, resident.pk, "phone")
    context.close()
