"""Load the national code tables and the GB/T 2260 region history (from python-stdnum)."""

from django.db import migrations


def load(apps, schema_editor):
    from tongban.core import regions
    from tongban.registry import codes

    def fill(model_name, rows):
        model = apps.get_model("registry", model_name)
        for code, name in rows:
            model.objects.update_or_create(code=code, defaults={"name": name})

    fill("Sex", codes.SEXES)
    fill("Ethnicity", codes.ETHNICITIES)
    fill("HouseholdRelation", codes.HOUSEHOLD_RELATIONS)
    fill("FingerPosition", codes.FINGER_POSITIONS)
    reason = apps.get_model("registry", "ApplicationReason")
    for code, name, kind in codes.APPLICATION_REASONS:
        reason.objects.update_or_create(code=code, defaults={"name": name, "kind": kind})
    region = apps.get_model("registry", "Region")
    region.objects.all().delete()
    region.objects.bulk_create(
        [
            region(code=e.code, name=e.name, level=e.level, start_year=e.start_year, end_year=e.end_year)
            for e in regions.load_history()
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
