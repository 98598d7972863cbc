#!/usr/bin/env bash
# The whole suite: lint, types, migrations check, then pytest on SQLite and, when it answers,
# on PostgreSQL (TONGBAN_TEST_DATABASE_URL), with the API fuzzing beside them. Writes
# var/test-postgres.status ("ran"/"skipped") so .ci/run can insist on the PostgreSQL run under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mkdir -p var
PG_URL=${TONGBAN_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}

echo "== ruff"
$BIN/ruff check .
$BIN/ruff format --check .
echo "== mypy"
$BIN/mypy tongban
echo "== makemigrations --check"
TONGBAN_DATABASE_URL="sqlite:///$PWD/var/makemigrations-check.sqlite3" $BIN/tongban makemigrations --check --dry-run

# The three runs go side by side: much of each is waiting (browsers, worker processes, the
# database server), so together they take little longer than the PostgreSQL run alone. The
# SQLite run's output is kept in var/test-sqlite.log and printed when it ends; the fuzzing
# serves its own throwaway SQLite demo (var/fuzz.log).
echo "== pytest on SQLite in the background (var/test-sqlite.log)"
TONGBAN_DATABASE_URL="sqlite:///$PWD/var/test.sqlite3" $BIN/pytest "$@" >var/test-sqlite.log 2>&1 &
SQLITE=$!
echo "== API fuzzing (scripts/fuzz.sh, every operation as each role) in the background (var/fuzz.log)"
FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-6} scripts/fuzz.sh >var/fuzz.log 2>&1 &
FUZZ=$!

failed=0
if $BIN/python scripts/db_reachable.py "$PG_URL"; then
  echo "== pytest on PostgreSQL"
  TONGBAN_DATABASE_URL="$PG_URL" $BIN/pytest "$@" || failed=1
  echo ran > var/test-postgres.status
else
  echo "== PostgreSQL not reachable at $PG_URL: skipped"
  echo skipped > var/test-postgres.status
fi

echo "== pytest on SQLite"
wait $SQLITE || failed=1
cat var/test-sqlite.log
echo "== API fuzzing"
wait $FUZZ || failed=1
cat var/fuzz.log
exit $failed
