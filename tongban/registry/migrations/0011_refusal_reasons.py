"""不予签发原因: the code table of refusal reasons, loaded with the shipped rows."""

from django.db import migrations, models


def load(apps, schema_editor):
    from tongban.registry.codes import load_refusal_reasons

    load_refusal_reasons(lambda name: apps.get_model("registry", name))


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0010_personchange_sex_correction"),
    ]

    operations = [
        migrations.CreateModel(
            name="RefusalReason",
            fields=[
                (
                    "code",
                    models.CharField(max_length=2, primary_key=True, serialize=False, verbose_name="代码"),
                ),
                ("name", models.CharField(max_length=50, verbose_name="名称")),
                ("active", models.BooleanField(default=True, verbose_name="启用")),
                ("remark_required", models.BooleanField(default=False, verbose_name="须填写说明")),
            ],
            options={
                "verbose_name": "不予签发原因代码",
                "verbose_name_plural": "不予签发原因代码",
                "ordering": ["code"],
                "abstract": False,
            },
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
