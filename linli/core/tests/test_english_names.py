"""Vocabulary kept as data (catalog items, skills, care tags, center
functions) has an English form for English pages; Chinese stays the default."""

from __future__ import annotations

import pytest
from django.utils import translation

from linli.network.models import Function
from linli.orders.models import ServiceItem
from linli.people.models import CareTag
from linli.site.testing import make_cast
from linli.teams.models import Skill

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "code", "zh", "en"),
    [
        (ServiceItem, "home_repair", "家政维修", "Home repairs"),
        (ServiceItem, "traffic", "交通劝导", "Traffic guidance"),
        (Skill, "escort", "陪同就医", "Hospital escort"),
        (CareTag, "living_alone", "独居", "Lives alone"),
        (Function, "elder_child", "一老一幼关爱", "Care for the old and the young"),
    ],
)
def test_the_data_migrations_name_every_standard_entry_in_english(model, code, zh, en):
    row = model.objects.get(code=code)
    with translation.override("en"):
        assert row.label == en and str(row) == en
    with translation.override("zh-hans"):
        assert row.label == zh and str(row) == zh


def test_every_standard_entry_has_an_english_name():
    for model in (ServiceItem, Skill, CareTag, Function):
        assert not model.objects.filter(name_en="").exists(), model


def test_an_entry_without_english_falls_back_to_chinese():
    skill = Skill.objects.create(code="knitting", name="编织")
    with translation.override("en"):
        assert skill.label == "编织"


def test_english_pages_show_english_names_and_descriptions(client):
    cast = make_cast()
    client.force_login(cast.a.resident)
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Home repairs" in home and "家政维修" not in home
    place = client.get("/orders/new/home_repair/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Plumbing and wiring fixes" in place
    home_zh = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "家政维修" in home_zh and "Home repairs" not in home_zh


def test_names_join_as_the_readers_language_joins_them():
    from django.utils import translation

    from linli.core.text import join_names

    with translation.override("en"):
        assert join_names(["Home repairs", "Health check"]) == "Home repairs, Health check"
    with translation.override("zh-hans"):
        assert join_names(["家政维修", "健康义诊"]) == "家政维修、健康义诊"


def test_console_item_filter_lists_english_names_on_english_pages(cast):
    from linli.site.testing import client_for

    html = (
        client_for(cast.a.dispatcher)
        .get("/orders/console/", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert ">Home repairs<" in html and ">家政维修<" not in html
