from __future__ import annotations

from django.db import migrations


def forwards(apps, schema_editor):
    from linli.orders.catalog import install_fixed_items

    install_fixed_items(apps.get_model("orders", "ServiceItem"), apps.get_model("teams", "Skill"))


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial"), ("teams", "0002_skills")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
