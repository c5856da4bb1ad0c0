from __future__ import annotations

from django.db import migrations, models

from linli.core.data_migrations import fill_english_names

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


class Migration(migrations.Migration):
    dependencies = [('network', '0002_functions')]
    operations = [
        migrations.AddField(
            model_name="function",
            name="name_en",
            field=models.CharField(blank=True, max_length=100, verbose_name="英文名称"),
        ),
        migrations.RunPython(
            fill_english_names("network", "Function", FUNCTIONS_EN), migrations.RunPython.noop
        ),
    ]
