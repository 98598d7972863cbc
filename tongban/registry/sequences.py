"""Numbers given out in order per unit and period: 受理号 per station and day (intake), 票据号
per unit and year (finance). Each sequence is a counter model with the period's key columns under
one unique constraint and a `last` column."""

from __future__ import annotations

import datetime

from django.db import connection, models


def next_in_sequence(counter: type[models.Model], **key: int | datetime.date) -> int:
    """The next number, from 1, of `counter`'s sequence at `key` (its unique columns by attribute
    name: `station_id=…, day=…`). One atomic upsert on the counter row: a second caller waits on
    the row the first wrote (on SQLite, on the write lock) until that transaction ends, so
    concurrent callers never share a number; a rolled-back caller may leave a gap, as paper books
    do. The caller holds the row until it commits: take it as late in the transaction as it can."""
    table = counter._meta.db_table
    column = {field.attname: field.column for field in counter._meta.concrete_fields}
    columns = ", ".join(column[name] for name in key)
    values = ", ".join(["%s"] * len(key))
    # Identifiers come from the model's metadata; every value is a parameter.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}, last) VALUES ({values}, 1) "  # noqa: S608
            f"ON CONFLICT ({columns}) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            list(key.values()),
        )
        return int(cursor.fetchone()[0])
