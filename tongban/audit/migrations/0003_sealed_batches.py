"""Rows are written unsealed and sealed afterwards in signed batches (tongban/audit/sealer.py).

The database still refuses every change of an audit row but one: the sealer's, which fills
`seq`, `prev_hash` and `hash` of a row whose `seq` is empty and changes nothing else. Seals are
append-only too. Two indexes nobody reads (time, unit) go: the sealer writes every index again.
The chain head (one row every writer locked) goes away; rows chained before this
migration keep their places and are covered by the first seal (`sealer._adopt_legacy_chain`).
"""

from django.db import migrations, models

CONTENT = (
    "id",
    "at",
    "actor_id",
    "actor_username",
    "unit_code",
    "action",
    "object_type",
    "object_id",
    "remote_addr",
    "detail",
)

SQLITE_DROP_OLD = ["DROP TRIGGER audit_event_no_update;", "DROP TRIGGER audit_event_no_delete;"]
SQLITE_CREATE = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent "
    "WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR "
    + " OR ".join(f"NEW.{name} IS NOT OLD.{name}" for name in CONTENT)
    + " BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    "CREATE TRIGGER audit_seal_no_update BEFORE UPDATE ON audit_auditseal "
    "BEGIN SELECT RAISE(ABORT, 'audit seals are append-only'); END;",
    "CREATE TRIGGER audit_seal_no_delete BEFORE DELETE ON audit_auditseal "
    "BEGIN SELECT RAISE(ABORT, 'audit seals are append-only'); END;",
]
SQLITE_DROP_NEW = [
    "DROP TRIGGER audit_seal_no_delete;",
    "DROP TRIGGER audit_seal_no_update;",
    "DROP TRIGGER audit_event_no_delete;",
    "DROP TRIGGER audit_event_no_update;",
]
SQLITE_RESTORE_OLD = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
]

_UNCHANGED = " AND ".join(f"NEW.{name} IS NOT DISTINCT FROM OLD.{name}" for name in CONTENT)
POSTGRESQL_CREATE = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    f"IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL AND {_UNCHANGED} THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'audit events are append-only'; END; $$;",
    "CREATE FUNCTION audit_seal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit seals are append-only'; END; $$;",
    "CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON audit_auditseal "
    "FOR EACH ROW EXECUTE FUNCTION audit_seal_append_only();",
    "CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON audit_auditseal "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_seal_append_only();",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER audit_seal_no_truncate ON audit_auditseal;",
    "DROP TRIGGER audit_seal_append_only ON audit_auditseal;",
    "DROP FUNCTION audit_seal_append_only();",
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$;",
]


def _run(schema_editor, statements):
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def before(apps, schema_editor):
    # SQLite rebuilds the table to change its columns, and triggers do not survive that.
    _run(schema_editor, {"sqlite": SQLITE_DROP_OLD})


def after(apps, schema_editor):
    _run(schema_editor, {"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE})


def undo_after(apps, schema_editor):
    _run(schema_editor, {"sqlite": SQLITE_DROP_NEW, "postgresql": POSTGRESQL_DROP})


def undo_before(apps, schema_editor):
    _run(schema_editor, {"sqlite": SQLITE_RESTORE_OLD})


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_triggers"),
    ]

    operations = [
        migrations.RunPython(before, undo_before),
        migrations.CreateModel(
            name="AuditSeal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.BigIntegerField(unique=True)),
                ("first_seq", models.BigIntegerField()),
                ("last_seq", models.BigIntegerField(unique=True)),
                ("last_hash", models.CharField(max_length=64)),
                ("sealed_at", models.DateTimeField()),
                ("key_fingerprint", models.CharField(max_length=64)),
                ("signature", models.CharField(max_length=200)),
            ],
            options={
                "verbose_name": "审计封存批次",
                "verbose_name_plural": "审计封存批次",
                "ordering": ["-number"],
            },
        ),
        migrations.DeleteModel(
            name="AuditChainHead",
        ),
        migrations.AlterModelOptions(
            name="auditevent",
            options={"ordering": ["-id"], "verbose_name": "审计记录", "verbose_name_plural": "审计记录"},
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="unit_code",
            field=models.CharField(blank=True, max_length=12),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("seq__isnull", True)), fields=["id"], name="audit_event_unsealed"
            ),
        ),
        migrations.RunPython(after, undo_after),
    ]
