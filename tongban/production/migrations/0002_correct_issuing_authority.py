"""Data migration: the 签发机关 of applications issued but not yet produced becomes the household's
county-level bureau (居民身份证法 第八条); an application whose data package was already made with
the wrong value is taken out of its batch as a data error and goes back to the production queue.
See tongban/production/authority.py; cards already produced are listed by
`tongban production authority-report` (docs/production.md)."""

from django.db import migrations
from django.utils import timezone


def correct(apps, schema_editor):
    from tongban.production.authority import correct_pending

    correct_pending(apps.get_model, now=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("production", "0001_initial"),
        ("intake", "0006_campaign_index"),
        ("registry", "0008_personchange_numberredirect"),
    ]

    operations = [migrations.RunPython(correct, migrations.RunPython.noop)]
