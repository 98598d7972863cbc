from django.db import migrations, models


class Migration(migrations.Migration):
    """核验待办 in its order (due date, then id) from an index."""

    dependencies = [("handover", "0002_supervision_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="verification",
            index=models.Index(fields=["due", "id"], name="handover_verify_order_idx"),
        ),
    ]
