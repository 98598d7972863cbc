"""The household region of every template and change (which engine node indexes it), filled for
the rows already stored from their refs as `tongban.biometrics.regions.ref_region` does: one
UPDATE per kind of ref, the region read by a subquery on the database side."""

from django.db import migrations, models
from django.db.models import BigIntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Substr

# (ref prefix, app, model, path to the region code)
REFS = [
    ("person", "registry", "Person", "region_code"),
    ("wanted", "registry", "WantedPerson", "person__region_code"),
    ("floating", "registry", "FloatingRegistration", "person__region_code"),
    ("application", "intake", "Application", "region_code"),
]


def fill_regions(apps, schema_editor):
    for model_name in ("BiometricTemplate", "TemplateChange"):
        model = apps.get_model("biometrics", model_name)
        for kind, app, source_name, path in REFS:
            source = apps.get_model(app, source_name)
            pk = Cast(Substr(OuterRef("ref_id"), len(kind) + 2), BigIntegerField())
            # A ref whose row is gone keeps "" (no region).
            region = Coalesce(Subquery(source.objects.filter(pk=pk).values(path)[:1]), Value(""))
            # Only refs whose key is a number: the cast never sees anything else.
            model.objects.filter(ref_id__regex=rf"^{kind}:[0-9]{{1,18}}$").update(region=region)


class Migration(migrations.Migration):
    dependencies = [
        ("biometrics", "0001_initial"),
        ("registry", "0001_initial"),
        ("intake", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="biometrictemplate",
            name="region",
            field=models.CharField(
                blank=True, db_index=True, default="", max_length=6, verbose_name="户籍地区划"
            ),
        ),
        migrations.AddField(
            model_name="templatechange",
            name="region",
            field=models.CharField(blank=True, default="", max_length=6, verbose_name="户籍地区划"),
        ),
        migrations.RunPython(fill_regions, migrations.RunPython.noop, elidable=True),
    ]
