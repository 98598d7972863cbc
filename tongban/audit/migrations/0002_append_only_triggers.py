"""Create the chain head and make the audit table append-only in the database itself, not just in the ORM."""

from django.db import migrations

SQLITE = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
]
POSTGRESQL = [
    "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$;",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();",
    # TRUNCATE bypasses row triggers; forbid it too.
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();",
]
DROP = {
    "sqlite": ["DROP TRIGGER audit_event_no_update;", "DROP TRIGGER audit_event_no_delete;"],
    "postgresql": [
        "DROP TRIGGER audit_event_no_truncate ON audit_auditevent;",
        "DROP TRIGGER audit_event_append_only ON audit_auditevent;",
        "DROP FUNCTION audit_event_append_only();",
    ],
}


def create(apps, schema_editor):
    # The chain head exists from the start, so concurrent first writers only ever lock it.
    apps.get_model("audit", "AuditChainHead").objects.get_or_create(
        pk=1, defaults={"last_seq": 0, "last_hash": "0" * 64}
    )
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    for statement in DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
