"""The admin carries the product's name, and every section of its index --
third-party apps' included -- is named in the page's language."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from linli.core.models import User

pytestmark = pytest.mark.django_db

# What the third-party apps call themselves and their models, untranslated.
UNTRANSLATED = [
    "Axes",
    "AXES",
    "Access attempt",
    "Access failure",
    "Access log",
    "Tasks Database Backend",
    "Task Result",
    "Django",
]


@pytest.fixture
def admin_client(cast) -> Client:
    root = User.objects.create_superuser("it-ops", "it@example.org", "long-enough-pw-9")
    client = Client()
    client.force_login(root)
    return client


def _sections(html: str) -> list[str]:
    """The app captions and model rows of the admin index."""
    captions = re.findall(r'<caption>\s*<a[^>]*class="section"[^>]*>(.*?)</a>', html, re.S)
    rows = re.findall(r'<th scope="row"[^>]*>\s*<a[^>]*>(.*?)</a>', html, re.S)
    return [s.strip() for s in captions + rows]


@pytest.mark.parametrize(
    ("lang", "header", "sections"),
    [
        ("zh-hans", "邻里 管理后台", ["登录保护", "登录失败记录", "后台任务", "任务记录"]),
        ("en", "linli administration", ["Login protection", "Failed logins", "Background jobs"]),
    ],
)
def test_admin_index_is_branded_and_named(admin_client, lang, header, sections):
    html = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert f'<a href="/admin/">{header}</a>' in html
    assert f"<title>基础数据 | {header}</title>" in html or f"| {header}</title>" in html
    found = _sections(html)
    assert found, "no sections parsed from the admin index"
    for name in sections:
        assert name in found
    for word in UNTRANSLATED:
        assert not any(word.lower() in s.lower() for s in found), (word, found)
    if lang == "zh-hans":
        # No section name in Latin letters at all (API 令牌 and Open311, names, aside).
        latin = [
            s for s in found if re.search(r"[A-Za-z]", s) and not s.startswith(("API", "Open311"))
        ]
        assert not latin, latin
    else:
        han = [s for s in found if re.search(r"[\u4e00-\u9fff]", s)]
        assert not han, han


def test_a_third_party_list_page_has_the_new_name(admin_client):
    html = admin_client.get("/admin/axes/accessattempt/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert html.status_code == 200
    assert "登录失败计数" in html.content.decode()
