from __future__ import annotations

from django.db import migrations

CARE_TAGS = [
    ("living_alone", "独居"),
    ("empty_nest", "空巢"),
    ("disabled", "失能"),
    ("low_income", "低保"),
    ("left_behind", "留守儿童"),
    ("extreme_hardship", "特困"),
]


def forwards(apps, schema_editor):
    CareTag = apps.get_model("people", "CareTag")
    for code, name in CARE_TAGS:
        CareTag.objects.update_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
