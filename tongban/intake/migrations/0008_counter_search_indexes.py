"""受理台账 at a million rows: the search by 公民身份号码, and keyset pages by 受理时间 (a draft by when
it was started) and by name."""

from django.db import migrations, models
from django.db.models.functions import Coalesce


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0007_chinese_field_names"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["id_number"], name="intake_id_number_idx"),
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(
                Coalesce("accepted_at", "created_at"), models.F("id"), name="intake_listed_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["name", "id"], name="intake_name_idx"),
        ),
    ]
