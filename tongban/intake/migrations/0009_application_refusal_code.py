"""不予签发原因 coded: the reason (a registry.RefusalReason) and the remark beside the one-line text.

Refusals written before carry their free text only: they become 99 其他 with that text as the
remark, and the text the station and the applicant were given stays as it was."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F

OTHER = "99"


def code_free_text_refusals(apps, schema_editor):
    Application = apps.get_model("intake", "Application")
    RefusalReason = apps.get_model("registry", "RefusalReason")
    uncoded = Application.objects.filter(status="rejected", refusal_code__isnull=True)
    if not uncoded.exists():
        return
    other, _ = RefusalReason.objects.get_or_create(
        code=OTHER, defaults={"name": "其他", "remark_required": True}
    )
    uncoded.exclude(refusal_reason="").update(refusal_code=other, refusal_remark=F("refusal_reason"))
    uncoded.filter(refusal_reason="").update(refusal_code=other, refusal_reason=other.name)


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0008_counter_search_indexes"),
        ("registry", "0011_refusal_reasons"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="refusal_code",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.refusalreason",
                verbose_name="不予签发原因代码",
            ),
        ),
        migrations.AddField(
            model_name="application",
            name="refusal_remark",
            field=models.CharField(blank=True, max_length=500, verbose_name="不予签发说明"),
        ),
        migrations.RunPython(code_free_text_refusals, migrations.RunPython.noop),
    ]
