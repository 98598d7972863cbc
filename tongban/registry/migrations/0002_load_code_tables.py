"""Load the national code tables and the GB/T 2260 region history (from python-stdnum)."""

from django.db import migrations


def load(apps, schema_editor):
    from tongban.registry.codes import load_code_tables

    load_code_tables(lambda name: apps.get_model("registry", name))


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
