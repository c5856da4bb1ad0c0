from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Q
from django.urls import reverse

from linli.core.services import token_issue
from linli.people import ages
from linli.people.models import Resident, name_initials
from linli.people.selectors import resident_list, search_q
from linli.site.testing import ON_POSTGRES, client_for


def add(
    cast, name: str, phone: str = "", born: dt.date = dt.date(1950, 1, 1), comm=None
) -> Resident:
    return Resident.objects.create(
        name=name, gender="F", birth_date=born, phone=phone, community=(comm or cast.a).center
    )


def test_initials_of_common_names():
    assert name_initials("曾庆宝") == "zqb"
    assert name_initials("甘爱华") == "gah"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("zqb", {"曾庆宝"}),
        ("ZQ", {"曾庆宝"}),
        ("庆宝", {"曾庆宝"}),
        ("1234", {"曾庆宝"}),  # phone tail of the cast's resident 13807711234
        ("lm", {"李明", "黎敏"}),
        ("liming", {"李明"}),
        ("8899", {"黎敏"}),
        ("xyz", set()),
    ],
)
def test_search_by_name_initials_and_phone_tail(cast, q, expected):
    add(cast, "李明", "13912340000")
    add(cast, "黎敏", "13977778899")
    add(cast, "李明", "13800001111", comm=cast.b)  # other community: never found by A
    names = {r.name for r in resident_list(cast.a.dispatcher, q=q)}
    assert names == expected


def test_phone_tail_follows_phone_changes(cast):
    r = cast.a.person
    r.phone = "13600005555"
    r.save(update_fields=["phone"])
    assert [x.pk for x in resident_list(cast.a.dispatcher, q="5555")] == [r.pk]


def test_age_groups_are_derived(cast):
    today = ages.today()
    baby = add(cast, "小宝", born=today.replace(year=today.year - 3))
    assert [g.code for g in baby.age_groups()] == ["small_child", "child"]
    assert [g.code for g in cast.a.person.age_groups()] == ["elderly", "aged"]
    aged = {r.pk for r in resident_list(cast.a.dispatcher, age_group="aged")}
    assert aged == {cast.a.person.pk}
    assert {r.pk for r in resident_list(cast.a.dispatcher, age_group="small_child")} == {baby.pk}


def test_birthday_boundary():
    on = dt.date(2026, 11, 28)
    assert ages.age_on(dt.date(1946, 11, 28), on) == 80
    assert ages.age_on(dt.date(1946, 11, 29), on) == 79
    assert ages.birth_date_q(ages.AGED, on) == Q(birth_date__lte=dt.date(1946, 11, 28))
    assert ages.birth_date_q(ages.SMALL_CHILD, on) == Q(birth_date__lte=on) & Q(
        birth_date__gt=dt.date(2019, 11, 28)
    )


def test_search_page_and_api(cast):
    client = client_for(cast.a.dispatcher)
    html = client.get(reverse("people:list"), {"q": "zqb"}).content.decode()
    assert "曾庆宝" in html
    partial = client.get(
        reverse("people:list"), {"q": "zqb"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "曾庆宝" in partial and "<html" not in partial
    r = client.get(
        "/api/v1/residents",
        {"q": "1234"},
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.dispatcher)}",
    )
    assert [i["name"] for i in r.json()["items"]] == ["曾庆宝"]


def test_list_page_query_count_does_not_grow(cast, django_assert_max_num_queries):
    for i in range(40):
        add(cast, f"张{i}", f"1390000{i:04d}")
    client = client_for(cast.a.dispatcher)
    client.get(reverse("people:list"))
    with django_assert_max_num_queries(10):
        client.get(reverse("people:list"))


@pytest.mark.skipif(not ON_POSTGRES, reason="the search indexes are PostgreSQL's")
@pytest.mark.parametrize(
    ("q", "index"),
    [
        ("曾庆宝", "resident_name_trgm"),
        ("zqb", "resident_initials_prefix"),
        ("zengqing", "resident_pinyin_prefix"),
        ("1234", "phone_tail"),
    ],
)
def test_city_wide_search_can_be_answered_from_an_index(cast, q, index):
    """Each kind of query has an index that fits it (the planner is told to avoid a scan:
    on a test's few rows it would rightly prefer one)."""
    from django.db import connection

    qs = Resident.objects.filter(search_q(q)).order_by("name", "pk")[:50]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = qs.explain()
    assert index in plan and "Seq Scan" not in plan, plan
