"""Seed the holiday table (节假日安排) with every year the installed chinese-calendar knows
(2004–2026 with 1.11.0); later years are entered in the admin or with `tongban calendar load`."""

from django.db import migrations


def load(apps, schema_editor):
    from tongban.core.workdays import published_days, published_source_version, published_year_range
    from tongban.registry.calendar import calendar_year_replace

    source = f"chinese-calendar {published_source_version()}"
    first, last = published_year_range()
    for year in range(first, last + 1):
        calendar_year_replace(
            lambda name: apps.get_model("registry", name), year=year, days=published_days(year), source=source
        )


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_calendar")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
