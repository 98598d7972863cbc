"""Lists at a million applications: the centre's 待制证 queue in issue order reads only the
applications waiting for a batch (768 → 0.3 ms for a page), and a station's 受理台账 newest first
walks the station's own entries in order instead of sorting its year (22 → 1 ms)."""

from django.db import migrations, models
from django.db.models.functions import Coalesce


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0009_application_refusal_code"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="application",
            index=models.Index(
                fields=["issued_at", "id"],
                condition=models.Q(status="issued"),
                name="intake_production_queue_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(
                models.F("acceptance_unit"),
                Coalesce("accepted_at", "created_at"),
                models.F("id"),
                name="intake_station_listed_idx",
            ),
        ),
    ]
