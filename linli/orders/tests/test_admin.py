"""The catalog in the admin: fixed items are tuned, never deleted."""

from __future__ import annotations

import pytest

from linli.orders.models import ServiceItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def city_admin(client, cast):
    cast.city.is_staff = cast.city.is_superuser = True
    cast.city.save()
    client.force_login(cast.city)
    return client


def test_catalog_is_listed_with_english_names(city_admin):
    page = city_admin.get("/admin/orders/serviceitem/").content.decode()
    assert "家政维修" in page and "Home repairs" in page


def test_a_fixed_item_keeps_its_code_and_cannot_be_deleted(city_admin):
    item = ServiceItem.objects.get(code="home_repair")
    change = city_admin.get(f"/admin/orders/serviceitem/{item.pk}/change/").content.decode()
    assert 'name="code"' not in change  # read-only
    assert 'name="name_en"' in change
    assert city_admin.get(f"/admin/orders/serviceitem/{item.pk}/delete/").status_code == 403
    assert (
        city_admin.post(f"/admin/orders/serviceitem/{item.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert ServiceItem.objects.filter(pk=item.pk).exists()


def test_an_optional_item_can_be_added_and_deleted(city_admin, cast):
    from linli.teams.models import Skill

    skill = Skill.objects.get(code="haircut")
    item = ServiceItem.objects.create(
        code="haircut-a", name="义务理发", name_en="Free haircuts", team_kind="neighbourly",
        skill=skill, community=cast.a.center,
    )  # fmt: skip
    r = city_admin.post(f"/admin/orders/serviceitem/{item.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not ServiceItem.objects.filter(pk=item.pk).exists()
