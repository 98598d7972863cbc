#!/usr/bin/env bash
# The whole suite: lint, types, migrations check, then pytest on SQLite and, when it answers,
# on PostgreSQL (TONGBAN_TEST_DATABASE_URL). Writes var/test-postgres.status ("ran"/"skipped")
# so .ci/run can insist on the PostgreSQL run under CI=true.
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

echo "== pytest on SQLite"
TONGBAN_DATABASE_URL="sqlite:///$PWD/var/test.sqlite3" $BIN/pytest "$@"

# The fuzzing serves its own throwaway SQLite demo, so it runs beside the PostgreSQL pass.
echo "== API fuzzing (scripts/fuzz.sh, every operation as each role) in the background"
FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-6} scripts/fuzz.sh >var/fuzz.log 2>&1 &
FUZZ=$!

if $BIN/python scripts/db_reachable.py "$PG_URL"; then
  echo "== pytest on PostgreSQL"
  TONGBAN_DATABASE_URL="$PG_URL" $BIN/pytest "$@"
  echo ran > var/test-postgres.status
else
  echo "== PostgreSQL not reachable at $PG_URL: skipped"
  echo skipped > var/test-postgres.status
fi

echo "== API fuzzing"
fuzzed=0
wait $FUZZ || fuzzed=$?
cat var/fuzz.log
exit $fuzzed
