"""Each change-log row records its writing transaction (PostgreSQL), so that a reader can catch up
exactly without writers taking a lock: a BEFORE INSERT trigger sets `xid` to the top-level
transaction's id, whatever the INSERT says. Rows written before keep NULL: readers count them as
seen (their index was built or caught up past them). SQLite needs none of it (one writer at a
time: its ids are in commit order) and keeps NULL."""

from django.db import migrations, models

CREATE = [
    "CREATE FUNCTION biometrics_change_set_xid() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN NEW.xid := pg_current_xact_id()::text::bigint; RETURN NEW; END; $$;",
    "CREATE TRIGGER biometrics_change_set_xid BEFORE INSERT ON biometrics_templatechange "
    "FOR EACH ROW EXECUTE FUNCTION biometrics_change_set_xid();",
]
DROP = [
    "DROP TRIGGER biometrics_change_set_xid ON biometrics_templatechange;",
    "DROP FUNCTION biometrics_change_set_xid();",
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("biometrics", "0002_template_region")]

    operations = [
        migrations.AddField(
            model_name="templatechange",
            name="xid",
            field=models.BigIntegerField(blank=True, editable=False, null=True, verbose_name="写入事务"),
        ),
        migrations.AddIndex(
            model_name="templatechange",
            index=models.Index(fields=["gallery", "modality", "xid"], name="biometrics_change_xid"),
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
