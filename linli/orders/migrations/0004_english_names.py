from __future__ import annotations

from django.db import migrations, models


def forwards(apps, schema_editor):
    from linli.orders.catalog import OPTIONAL_ITEMS, install_fixed_items

    ServiceItem = apps.get_model("orders", "ServiceItem")
    install_fixed_items(ServiceItem, apps.get_model("teams", "Skill"))
    # Communities' copies of the optional items are coded "<code>-<community>".
    for spec in OPTIONAL_ITEMS:
        ServiceItem.objects.filter(code__startswith=f"{spec['code']}-", name=spec["name"]).update(
            name_en=spec["name_en"], description_en=spec["description_en"]
        )


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_orderevent_member_orderevent_team"), ("teams", "0003_english_names")]
    operations = [
        migrations.AddField(
            model_name="serviceitem",
            name="description_en",
            field=models.CharField(blank=True, max_length=600, verbose_name="英文说明"),
        ),
        migrations.AddField(
            model_name="serviceitem",
            name="name_en",
            field=models.CharField(blank=True, max_length=100, verbose_name="英文名称"),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
