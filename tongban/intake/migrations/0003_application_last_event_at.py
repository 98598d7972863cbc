from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery


def backfill(apps, schema_editor):
    """Existing applications: the time of their latest 办理记录 entry."""
    Application = apps.get_model("intake", "Application")
    ApplicationEvent = apps.get_model("intake", "ApplicationEvent")
    latest = (
        ApplicationEvent.objects.filter(application=OuterRef("pk"))
        .values("application")
        .annotate(at=Max("at"))
        .values("at")
    )
    Application.objects.update(last_event_at=Subquery(latest))


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0002_application_lifecycle"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="last_event_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="最近办理时间"),
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["status", "last_event_at"], name="intake_quiet_idx"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
