from __future__ import annotations

from django.db import migrations, models

from linli.core.data_migrations import fill_english_names

# English forms of the vocabulary the earlier data migration installed.
CARE_TAGS_EN = {
    "living_alone": "Lives alone",
    "empty_nest": "Empty nest",
    "disabled": "Disabled",
    "low_income": "Minimum living allowance",
    "left_behind": "Left-behind child",
    "extreme_hardship": "Extreme hardship",
}


class Migration(migrations.Migration):
    dependencies = [('people', '0002_care_tags')]
    operations = [
        migrations.AddField(
            model_name="caretag",
            name="name_en",
            field=models.CharField(blank=True, max_length=60, verbose_name="英文名称"),
        ),
        migrations.RunPython(
            fill_english_names("people", "CareTag", CARE_TAGS_EN), migrations.RunPython.noop
        ),
    ]
