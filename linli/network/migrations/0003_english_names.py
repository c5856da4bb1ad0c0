from __future__ import annotations

from django.db import migrations, models

# English forms of the vocabulary the earlier data migration installed.
FUNCTIONS_EN = {
    "party_education": "Party education",
    "meetings": "Offices and meetings",
    "government": "Government services",
    "culture": "Culture and recreation",
    "convenience": "Convenience services",
    "health": "Health care",
    "elder_child": "Care for the old and the young",
    "volunteering": "Volunteering",
    "fitness": "Fitness",
    "play": "Play",
    "canteen": "Seniors' canteen",
    "elder_university": "University for seniors",
    "reading": "Reading room",
    "children_home": "Children's home",
    "opera": "Opera stage",
    "legal": "Legal advice",
}


def forwards(apps, schema_editor):
    Model = apps.get_model("network", "Function")
    for row in Model.objects.filter(code__in=FUNCTIONS_EN):
        row.name_en = FUNCTIONS_EN[row.code]
        row.save(update_fields=["name_en"])


class Migration(migrations.Migration):
    dependencies = [('network', '0002_functions')]
    operations = [
        migrations.AddField(
            model_name="function",
            name="name_en",
            field=models.CharField(blank=True, max_length=100, verbose_name="英文名称"),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
