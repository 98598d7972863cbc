import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _move_content_type(apps, old, new):
    # So the model's permissions follow it instead of a second content type appearing beside them.
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=old, model="liaison").update(app_label=new)


def forwards(apps, schema_editor):
    _move_content_type(apps, "accounts", "liaison")


def backwards(apps, schema_editor):
    _move_content_type(apps, "liaison", "accounts")


class Migration(migrations.Migration):
    """The liaison directory moved here from `accounts` (which created its table in 0002): this
    app takes the model into its state on the table `accounts_liaison` as it stands, rows and all;
    accounts/0004 then drops it from the accounts state."""

    initial = True

    dependencies = [
        ("accounts", "0003_user_activation_staff_sessions"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("registry", "0011_refusal_reasons"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Liaison",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=50, verbose_name="姓名")),
                        ("position", models.CharField(max_length=50, verbose_name="职务")),
                        ("phone", models.CharField(max_length=30, verbose_name="联系电话")),
                        ("duties", models.JSONField(default=list, verbose_name="联络事项")),
                        ("order", models.PositiveSmallIntegerField(default=0, verbose_name="顺序")),
                        ("updated_at", models.DateTimeField(verbose_name="更新时间")),
                        (
                            "unit",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="liaisons",
                                to="registry.unit",
                                verbose_name="单位",
                            ),
                        ),
                        (
                            "updated_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="更新人",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="系统账号",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "联络人",
                        "verbose_name_plural": "联络人",
                        "db_table": "accounts_liaison",
                        "ordering": ["unit__path", "order", "pk"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
