"""受理台账 at a million rows: the search by 公民身份号码 and the list sorted by name use an index."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0006_campaign_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["id_number"], name="intake_id_number_idx"),
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["name", "id"], name="intake_name_idx"),
        ),
    ]
