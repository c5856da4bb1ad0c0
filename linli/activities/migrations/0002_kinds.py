from django.db import migrations

from linli.activities.kinds import KINDS


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    Kind = apps.get_model("activities", "Kind")
    for order, (code, name, name_en) in enumerate(KINDS):
        Kind.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("activities", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
