"""One set of limits for a resident's fields: the page form, the API schema,
the admin form and the importer take them from the model, and refuse the same
values with the model's messages."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from django import forms
from django.contrib.admin.sites import site
from django.core.validators import MaxValueValidator, MinValueValidator
from django.test import RequestFactory

from linli.core.services import token_issue
from linli.people.forms import ResidentForm
from linli.people.importing import COLUMNS, resident_import
from linli.people.models import Resident
from linli.people.tests.helpers import valid_id

pytestmark = pytest.mark.django_db

TEXT_FIELDS = ("name", "gender", "id_number", "phone", "address")
GOOD_ID = valid_id(dt.date(1944, 3, 5), 124)
BAD_CHECK = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")
TOMORROW = dt.date.today() + dt.timedelta(days=2)


def model_validators(name: str) -> list[object]:
    return list(Resident._meta.get_field(name).validators)


def admin_form(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return site._registry[Resident].get_form(request)()


def test_each_field_has_one_max_length_everywhere(client, cast):
    client.force_login(cast.city)
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["ResidentIn"]
    page = ResidentForm(user=cast.city)
    admin = admin_form(cast.city)
    imported = {c.field for c in COLUMNS}
    for name in TEXT_FIELDS:
        limit = Resident._meta.get_field(name).max_length
        assert limit
        assert schema["properties"][name]["maxLength"] == limit, name
        assert name in imported
        if name == "gender":  # a choice on the forms: the model's choices
            choices = [c for c, _label in Resident._meta.get_field(name).choices]
            for form in (page, admin):
                assert [c for c, _label in form.fields[name].choices if c] == choices
            continue
        page_field = page.fields[name]
        assert isinstance(page_field, forms.CharField), name
        assert page_field.max_length == limit, name
        assert admin.fields[name].max_length == limit, name
    for name in ("lat", "lon"):
        bounds = sorted(
            v.limit_value
            for v in model_validators(name)
            if isinstance(v, MinValueValidator | MaxValueValidator)
        )
        prop = schema["properties"][name]["anyOf"][0]
        assert [prop["minimum"], prop["maximum"]] == bounds, name


def test_the_model_carries_the_validators():
    from linli.people.validators import phone_validator, validate_birth_date, validate_id_number

    assert validate_id_number in model_validators("id_number")
    assert phone_validator in model_validators("phone")
    assert validate_birth_date in model_validators("birth_date")


BAD_VALUES = [
    ("id_number", BAD_CHECK, "校验位"),
    ("id_number", GOOD_ID[:17], "18 位"),
    ("phone", "12345", "有效的手机"),
    ("birth_date", TOMORROW, "出生日期不合理"),
    ("name", "张" * 51, "50"),
    ("address", "路" * 201, "200"),
]


def good_row() -> dict[str, object]:
    return {
        "name": "韦秀英", "gender": "F", "birth_date": dt.date(1944, 3, 5),
        "id_number": GOOD_ID, "phone": "13807745678", "address": "百花路18号",
    }  # fmt: skip


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_page_api_admin_and_importer_refuse_the_same_value(
    client, cast, tmp_path, field, value, message
):
    row = good_row() | {field: value}
    # The page.
    form = ResidentForm({**row, "community": cast.a.center.pk}, user=cast.city)
    assert not form.is_valid() and message in " ".join(str(e) for e in form.errors[field])
    # The admin.
    client.force_login(cast.city)
    from linli.core.roles import staff_access_sync

    staff_access_sync(cast.city)
    r = client.post(
        "/admin/people/resident/add/",
        {**row, "community": cast.a.center.pk, "guardian_links-TOTAL_FORMS": "0",
         "guardian_links-INITIAL_FORMS": "0"},
    )  # fmt: skip
    assert r.status_code == 200
    assert message in " ".join(r.context["adminform"].form.errors[field])
    # The API (a length limit is the schema's, the rest the model's in the service).
    body = {**row, "birth_date": str(row["birth_date"]), "community": "baihua"}
    r = client.post(
        "/api/v1/residents", body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.city)}",
    )  # fmt: skip
    assert r.status_code == 400, r.content
    api_message = " ".join(r.json()["fields"][field])
    assert message in api_message
    # The importer.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "性别", "出生日期", "身份证号", "电话", "社区编码", "住址"])
    ws.append([row["name"], "女", row["birth_date"], row["id_number"], row["phone"], "baihua",
               row["address"]])  # fmt: skip
    path = tmp_path / "r.xlsx"
    wb.save(path)
    result = resident_import(actor=cast.city, file=path)
    assert not result.ok
    assert any(message in e.message for e in result.errors), result.errors
    assert not Resident.objects.filter(name=row["name"], community=cast.a.center).exists()


def test_the_same_good_row_is_accepted_by_page_api_and_importer(client, cast):
    row = good_row()
    assert ResidentForm({**row, "community": cast.a.center.pk}, user=cast.city).is_valid()
    client.force_login(cast.city)
    body = {**row, "birth_date": str(row["birth_date"]), "community": "baihua"}
    r = client.post(
        "/api/v1/residents", body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.city)}",
    )  # fmt: skip
    assert r.status_code == 201, r.content
    assert r.json()["phone"] == "138****5678"


def test_the_registration_page_registers_a_dispatchers_resident(client, cast):
    client.force_login(cast.a.dispatcher)
    row = good_row() | {"birth_date": "1944-03-05", "id_number": GOOD_ID}
    r = client.post("/people/new/", row)
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Resident.objects.get(id_number=GOOD_ID).community == cast.a.center
    r = client.post("/people/new/", row | {"phone": "12345"})
    assert r.status_code == 200 and "有效的手机" in r.content.decode()
