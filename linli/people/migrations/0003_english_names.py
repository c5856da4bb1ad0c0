from __future__ import annotations

from django.db import migrations, models

# English forms of the vocabulary the earlier data migration installed.
CARE_TAGS_EN = {
    "living_alone": "Lives alone",
    "empty_nest": "Empty nest",
    "disabled": "Disabled",
    "low_income": "Minimum living allowance",
    "left_behind": "Left-behind child",
    "extreme_hardship": "Extreme hardship",
}


def forwards(apps, schema_editor):
    Model = apps.get_model("people", "CareTag")
    for row in Model.objects.filter(code__in=CARE_TAGS_EN):
        row.name_en = CARE_TAGS_EN[row.code]
        row.save(update_fields=["name_en"])


class Migration(migrations.Migration):
    dependencies = [('people', '0002_care_tags')]
    operations = [
        migrations.AddField(
            model_name="caretag",
            name="name_en",
            field=models.CharField(blank=True, max_length=60, verbose_name="英文名称"),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
