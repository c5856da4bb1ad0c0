from __future__ import annotations

from django.db import migrations

# The "8" every center has (the city's configuration) and the common "X".
FIXED = [
    ("party_education", "党员教育"),
    ("meetings", "办公议事"),
    ("government", "政务服务"),
    ("culture", "文体娱乐"),
    ("convenience", "便民服务"),
    ("health", "医疗保健"),
    ("elder_child", "一老一幼关爱"),
    ("volunteering", "志愿服务"),
]
OPTIONAL = [
    ("fitness", "康乐健身"),
    ("play", "趣味游乐"),
    ("canteen", "长者食堂"),
    ("elder_university", "老年大学"),
    ("reading", "图书阅览"),
    ("children_home", "儿童之家"),
    ("opera", "戏曲展演"),
    ("legal", "法律咨询"),
]


def forwards(apps, schema_editor):
    Function = apps.get_model("network", "Function")
    for order, (code, name) in enumerate(FIXED):
        Function.objects.update_or_create(code=code, defaults={"name": name, "fixed": True, "order": order})
    for order, (code, name) in enumerate(OPTIONAL):
        Function.objects.update_or_create(code=code, defaults={"name": name, "fixed": False, "order": order})


class Migration(migrations.Migration):
    dependencies = [("network", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
