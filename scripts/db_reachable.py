"""Exit 0 if the PostgreSQL URL given as the only argument accepts a connection within 3 s."""

import sys

import dj_database_url
import psycopg

config = dj_database_url.parse(sys.argv[1])
try:
    psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname=config["NAME"] or "postgres",
        connect_timeout=3,
    ).close()
except psycopg.Error:
    sys.exit(1)
