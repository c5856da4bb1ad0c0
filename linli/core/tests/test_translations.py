"""English is complete: every translatable string has an English translation."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]
PO = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"


def parse_po(path: Path) -> dict[str, list[str]]:
    """msgid (with msgctxt and plural joined in) → its msgstr forms; fuzzy entries marked."""
    entries: dict[str, list[str]] = {}
    key: list[str] = []
    strs: list[str] = []
    current: list[str] | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal key, strs, fuzzy
        if key and "".join(key[:1]):
            entries["\x04".join(key)] = ["<fuzzy>"] if fuzzy else strs
        key, strs, fuzzy = [], [], False

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = line.strip()
        if not line:
            flush()
            current = None
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith(("msgctxt ", "msgid ", "msgid_plural ")):
            word, _, rest = line.partition(" ")
            if word == "msgctxt" or (word == "msgid" and not key):
                key.append(ast.literal_eval(rest))
                current = key
            else:
                key.append(ast.literal_eval(rest))
                current = key
        elif line.startswith("msgstr"):
            _, _, rest = line.partition(" ")
            strs.append(ast.literal_eval(rest))
            current = strs
        elif line.startswith('"') and current is not None:
            current[-1] += ast.literal_eval(line)
    return entries


def test_every_string_has_an_english_translation():
    entries = parse_po(PO)
    assert entries, "the English catalog is empty"
    missing = [k.split("\x04")[0] for k, forms in entries.items() if not forms or not all(forms)]
    fuzzy = [k for k, forms in entries.items() if forms == ["<fuzzy>"]]
    assert not missing, f"untranslated: {missing[:20]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:20]}"
    assert (PO.with_suffix(".mo")).stat().st_mtime >= PO.stat().st_mtime - 1, "run compilemessages"


@pytest.mark.skipif(
    shutil.which("xgettext") is None, reason="needs GNU gettext (scripts/test-deps installs it)"
)
def test_catalog_is_in_step_with_the_source(tmp_path):
    """makemessages on a copy of the code finds no string the catalog lacks."""
    copy = tmp_path / "linli"
    shutil.copytree(
        PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "tests", "*.pyc", "static")
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linli.settings",
        "PYTHONPATH": str(PACKAGE.parent),
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "en",
            "--no-location",
            "--ignore",
            "tests/*",
        ],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh = set(parse_po(copy / "locale" / "en" / "LC_MESSAGES" / "django.po"))
    committed = set(parse_po(PO))
    assert not fresh - committed, (
        f"strings missing from the catalog: {sorted(fresh - committed)[:20]}"
    )


@pytest.mark.django_db
def test_one_chinese_word_two_english_meanings(client):
    """居民 is the role (Resident) and the register (Residents); 一般 is an
    urgency (Normal) and a rating (Fair): contexts keep them apart."""
    from django.utils import translation

    from linli.core.roles import Role
    from linli.orders.models import Rating, Urgency
    from linli.site.testing import make_cast

    with translation.override("en"):
        assert str(Role.RESIDENT.label) == "Resident"
        assert str(Rating.Satisfaction.NEUTRAL.label) == "Fair"
        assert str(Urgency.NORMAL.label) == "Normal"
    with translation.override("zh-hans"):
        assert str(Role.RESIDENT.label) == "居民"
        assert str(Rating.Satisfaction.NEUTRAL.label) == "一般"
    cast = make_cast()
    client.force_login(cast.a.dispatcher)
    page = client.get("/people/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Residents</h1>" in page


HAN = "\u3400-\u9fff"
ASCII_BESIDE_HAN = re.compile(rf"[{HAN}][,:;!?()]|[,:;!?()][{HAN}]")


def test_chinese_strings_use_full_width_punctuation():
    """The Chinese UI (the catalog's msgids) writes ，：；！？（） beside Chinese."""
    wrong = [k for k in parse_po(PO) if ASCII_BESIDE_HAN.search(k.split("\x04")[-1])]
    assert not wrong, "ASCII punctuation beside Chinese (run scripts/fullwidth): " + " | ".join(
        wrong[:20]
    )


# Words a person types as they are, quoted in English help: the residents'
# spreadsheet's column names and values, and a catalog item's Chinese label.
TYPED_AS_IS = ("姓名", "性别", "出生日期", "男", "女", "独居", "空巢", "、", '"人数"')


def test_english_strings_hold_no_chinese():
    """No Han character in an English translation, but the words typed as they are."""
    han = re.compile(rf"[{HAN}]")

    def chinese(text: str) -> bool:
        for word in TYPED_AS_IS:
            text = text.replace(word, "")
        return bool(han.search(text))

    wrong = [k for k, forms in parse_po(PO).items() if any(chinese(f) for f in forms)]
    assert not wrong, "Chinese in English strings: " + " | ".join(wrong[:20])


def test_fullwidth_has_nothing_left_to_rewrite():
    """The sources are as scripts/fullwidth leaves them (templates and Python too)."""
    script = PACKAGE.parent / "scripts" / "fullwidth"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
