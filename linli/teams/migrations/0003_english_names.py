from __future__ import annotations

from django.db import migrations, models

from linli.core.data_migrations import fill_english_names

# English forms of the vocabulary the earlier data migration installed.
SKILLS_EN = {
    "home_repair": "Home repairs",
    "health_clinic": "Health check-ups",
    "daily_care": "Daily care",
    "traffic": "Traffic guidance",
    "companionship": "Companionship",
    "escort": "Hospital escort",
    "haircut": "Free haircuts",
    "legal": "Legal advice",
    "tutoring": "Homework help",
    "performance": "Performances",
    "meals": "Meal delivery",
    "counselling": "Counselling",
}


class Migration(migrations.Migration):
    dependencies = [('teams', '0002_skills')]
    operations = [
        migrations.AddField(
            model_name="skill",
            name="name_en",
            field=models.CharField(blank=True, max_length=60, verbose_name="英文名称"),
        ),
        migrations.RunPython(
            fill_english_names("teams", "Skill", SKILLS_EN), migrations.RunPython.noop
        ),
    ]
