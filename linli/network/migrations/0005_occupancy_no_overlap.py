"""No two held intervals of one room overlap: an exclusion constraint, on PostgreSQL.

SQLite has no such constraint; there the calendar service's check runs with
the write lock every transaction takes at BEGIN (settings: IMMEDIATE).
"""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations, models
from django.db.models import Func

NAME = "occupancy_room_no_overlap"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only compiled, never read


def constraint() -> ExclusionConstraint:
    return ExclusionConstraint(
        name=NAME,
        expressions=[
            ("room", RangeOperators.EQUAL),
            (TsTzRange("starts", "ends", models.Value("[)")), RangeOperators.OVERLAPS),
        ],
        condition=models.Q(released_at__isnull=True),
    )


def add(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_constraint(apps.get_model("network", "Occupancy"), constraint())


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_constraint(apps.get_model("network", "Occupancy"), constraint())


class Migration(migrations.Migration):
    dependencies = [("network", "0004_room_calendar")]

    operations = [
        BtreeGistExtension(),
        migrations.RunPython(add, remove),
    ]
