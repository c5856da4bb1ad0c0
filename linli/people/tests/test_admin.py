"""Residents in the admin: masked everywhere, revealed only with an audit entry,
changes audited by field name, the model's validators enforced."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from linli.core.models import AuditLog
from linli.core.roles import staff_access_sync
from linli.people.models import Resident
from linli.people.tests.helpers import make_resident, valid_id

pytestmark = pytest.mark.django_db

PHONE = "13807745678"
GOOD_ID = valid_id(dt.date(1944, 3, 5), 124)
BAD_CHECK = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")
ADDRESS = "岑溪市岑城镇百花路18号3栋201"


@pytest.fixture
def city(client, cast):
    staff_access_sync(cast.city)
    client.force_login(cast.city)
    return client


@pytest.fixture
def resident(cast):
    return make_resident(cast.a.center, phone=PHONE, address=ADDRESS)


def change_url(r: Resident) -> str:
    return f"/admin/people/resident/{r.pk}/change/"


def form_data(r: Resident, page: str, **overrides: str) -> dict[str, object]:
    """What a browser would send back: the values the form rendered."""
    import re

    def value(name: str) -> str:
        m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', page
        )
        return m.group(1) if m else ""

    data: dict[str, object] = {
        "name": r.name,
        "gender": r.gender,
        "birth_date": r.birth_date.isoformat(),
        "id_number": value("id_number"),
        "phone": value("phone"),
        "community": r.community_id,
        "address": value("address"),
        "lat": "",
        "lon": "",
        "household": "",
        "account": "",
        "guardian_links-TOTAL_FORMS": "0",
        "guardian_links-INITIAL_FORMS": "0",
        "_save": "1",
    }
    data.update(overrides)
    return data


def test_list_and_change_form_show_only_masked_values(city, resident):
    for url in ("/admin/people/resident/", change_url(resident)):
        page = city.get(url).content.decode()
        assert PHONE not in page and resident.id_number not in page and ADDRESS not in page, url
        assert "138****5678" in page, url
    change = city.get(change_url(resident)).content.decode()
    assert "岑溪市岑城镇百花路***" in change
    assert f"/admin/people/resident/{resident.pk}/reveal/phone/" in change
    assert not AuditLog.objects.filter(action=AuditLog.Action.REVEAL).exists()


def test_reveal_writes_the_audit_entry_and_then_shows(city, cast, resident):
    assert city.get(f"/admin/people/resident/{resident.pk}/reveal/phone/").status_code == 405
    r = city.post(f"/admin/people/resident/{resident.pk}/reveal/phone/")
    assert r.status_code == 200 and PHONE in r.content.decode()
    entry = AuditLog.objects.get(action=AuditLog.Action.REVEAL)
    assert (entry.actor, entry.target_type, entry.target_id, entry.field) == (
        cast.city, "people.resident", resident.pk, "phone",
    )  # fmt: skip
    assert city.post(f"/admin/people/resident/{resident.pk}/reveal/name/").status_code == 404


def test_saving_without_touching_masked_fields_keeps_the_stored_values(city, resident):
    page = city.get(change_url(resident)).content.decode()
    r = city.post(change_url(resident), form_data(resident, page, name="韦秀英改"))
    assert r.status_code == 302, r.content.decode()[:3000]
    resident.refresh_from_db()
    assert resident.name == "韦秀英改"
    assert (resident.phone, resident.address) == (PHONE, ADDRESS)
    assert resident.id_number == valid_id(dt.date(1944, 3, 5), 124)
    entry = AuditLog.objects.get(action=AuditLog.Action.CHANGE)
    assert entry.detail == "fields: name" and entry.field == "name"


def test_a_changed_personal_field_is_audited_by_name_not_value(city, resident):
    page = city.get(change_url(resident)).content.decode()
    r = city.post(change_url(resident), form_data(resident, page, phone="13900001111"))
    assert r.status_code == 302
    resident.refresh_from_db()
    assert resident.phone == "13900001111"
    entry = AuditLog.objects.get(action=AuditLog.Action.CHANGE)
    assert entry.field == "phone" and "1390000" not in entry.detail and PHONE not in entry.detail


def test_adding_and_deleting_are_audited(city, cast, resident):
    birth = dt.date(1950, 6, 1)
    r = city.post(
        "/admin/people/resident/add/",
        form_data(
            resident, "", name="黄德明", gender="M", birth_date=birth.isoformat(),
            id_number=valid_id(birth, 131), phone="", address="",
        ),
    )  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:3000]
    new = Resident.objects.get(name="黄德明")
    created = AuditLog.objects.get(action=AuditLog.Action.CREATE)
    assert created.target_id == new.pk and "id_number" in created.detail
    r = city.post(f"/admin/people/resident/{new.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert AuditLog.objects.filter(action=AuditLog.Action.DELETE, target_id=new.pk).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", BAD_CHECK, "check digit is wrong"),
        ("id_number", "45048119440305123", "18 characters"),
        ("phone", "12345", "valid mobile or landline"),
    ],
)
def test_admin_refuses_bad_id_number_and_phone_in_english_too(
    city, resident, field, value, message
):
    page = city.get(change_url(resident)).content.decode()
    r = city.post(
        change_url(resident), form_data(resident, page, **{field: value}),
        headers={"accept-language": "en"},
    )  # fmt: skip
    assert r.status_code == 200
    errors = r.context["adminform"].form.errors
    assert list(errors) == [field]
    with translation.override("en"):
        assert message in " ".join(errors[field])
    assert message in r.content.decode()  # the page itself, rendered in English
    resident.refresh_from_db()
    assert resident.phone == PHONE and resident.id_number != value


def test_admin_refuses_an_id_number_that_disagrees_with_the_birth_date(city, resident):
    page = city.get(change_url(resident)).content.decode()
    other = valid_id(dt.date(1950, 1, 1), 124)
    r = city.post(change_url(resident), form_data(resident, page, id_number=other))
    assert r.status_code == 200
    assert "出生日期" in " ".join(r.context["adminform"].form.errors["id_number"])


def test_household_address_is_masked(city, cast):
    from linli.people.models import Household

    h = Household.objects.create(community=cast.a.center, code="H1", address=ADDRESS)
    for url in ("/admin/people/household/", f"/admin/people/household/{h.pk}/change/"):
        assert ADDRESS not in city.get(url).content.decode()
