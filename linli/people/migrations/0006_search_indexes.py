"""Indexes the city-wide resident search can use on PostgreSQL.

A name fragment (``name LIKE '%庆%'``) is served by a trigram index
(``pg_trgm``); pinyin initials and full pinyin (``LIKE 'zqb%'``) by B-tree
indexes with ``varchar_pattern_ops``, which answer prefixes whatever the
database's collation. SQLite has neither and needs neither at a town's scale.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


def indexes() -> list[models.Index]:
    return [
        GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="resident_name_trgm"),
        models.Index(
            fields=["name_initials"],
            opclasses=["varchar_pattern_ops"],
            name="resident_initials_prefix",
        ),
        models.Index(
            fields=["name_pinyin"], opclasses=["varchar_pattern_ops"], name="resident_pinyin_prefix"
        ),
    ]


def add(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        model = apps.get_model("people", "Resident")
        for index in indexes():
            schema_editor.add_index(model, index)


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        model = apps.get_model("people", "Resident")
        for index in indexes():
            schema_editor.remove_index(model, index)


class Migration(migrations.Migration):
    dependencies = [("people", "0005_contact")]

    operations = [TrigramExtension(), migrations.RunPython(add, remove)]
