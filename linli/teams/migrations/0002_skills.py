from __future__ import annotations

from django.db import migrations

SKILLS = [
    ("home_repair", "家政维修"),
    ("health_clinic", "健康义诊"),
    ("daily_care", "生活照料"),
    ("traffic", "交通劝导"),
    ("companionship", "陪伴聊天"),
    ("escort", "陪同就医"),
    ("haircut", "义务理发"),
    ("legal", "法律咨询"),
    ("tutoring", "课业辅导"),
    ("performance", "文艺演出"),
    ("meals", "助餐送餐"),
    ("counselling", "心理疏导"),
]


def forwards(apps, schema_editor):
    Skill = apps.get_model("teams", "Skill")
    for code, name in SKILLS:
        Skill.objects.update_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("teams", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
