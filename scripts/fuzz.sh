#!/usr/bin/env bash
# Fuzz every API operation with schemathesis against the schema the server serves, as several
# demo roles, on a throwaway demo database: 0 server errors and 0 answers that differ from the
# schema, or the run fails. `make fuzz`; scripts/test.sh runs it as part of `make test`.
#
#   FUZZ_EXAMPLES   examples per operation and phase (default 12; more for a long run)
#   FUZZ_DATABASE_URL  the throwaway database (default var/fuzz.sqlite3, recreated each run)
#   FUZZ_PORT       the port of the server under test (default 8765)
#   FUZZ_SEED       schemathesis's seed (default: a fixed one, so a failure reproduces)
#   FUZZ_PERSONAS   the demo accounts to fuzz as (default: anonymous and one of each role)
#   FUZZ_PATHS      a regular expression: fuzz only the operations whose path matches
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
mkdir -p var
EXAMPLES=${FUZZ_EXAMPLES:-12}
PORT=${FUZZ_PORT:-8765}
SEED=${FUZZ_SEED:-20261206}
DB_FILE=$PWD/var/fuzz.sqlite3
export TONGBAN_DATABASE_URL=${FUZZ_DATABASE_URL:-sqlite:///$DB_FILE}
export TONGBAN_VAR_DIR=$PWD/var/fuzz

rm -rf "$TONGBAN_VAR_DIR"
if [[ $TONGBAN_DATABASE_URL == sqlite:///* ]]; then rm -f "${TONGBAN_DATABASE_URL#sqlite:///}"; fi
$BIN/tongban migrate --no-input -v0
$BIN/tongban demo seed --people 2000 --applications 300 >/dev/null

$BIN/tongban runserver "127.0.0.1:$PORT" --noreload >var/fuzz-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
BASE=http://127.0.0.1:$PORT
for _ in $(seq 50); do curl -sf -o /dev/null "$BASE/api/schema/" && break; sleep 0.2; done

token() {  # token USER → an API token for the demo account (the demo's one-time code is sent for
  # every account: those that need none ignore it, README's "one-time code" column marks the others)
  local body="{\"username\": \"$1\", \"password\": \"Tongban@2026\""
  body+=", \"otp\": \"$($BIN/tongban demo otp | grep -o '[0-9]\{6\}' | head -1)\""
  curl -sf -X POST "$BASE/api/v1/auth/token" -H 'Content-Type: application/json' -d "$body}" |
    $BIN/python -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

# positive_data_acceptance is left out: a schema-valid request may still be refused with 400 by a rule
# a schema cannot state (a check digit, a cursor of another sort, a business rule; docs/api.md, Errors).
# Each role in turn; the administrator last, since it may deactivate the others' accounts.
PERSONAS=(${FUZZ_PERSONAS:-anonymous clerk reviewer_donghu distributor_donghu centre_operator supervisor finance campaign_manager auditor admin})
# Tokens first: fuzzing POST /auth/token as anonymous locks the address out (429 login_locked).
declare -A TOKENS
for persona in "${PERSONAS[@]}"; do
  if [[ $persona != anonymous ]]; then TOKENS[$persona]=$(token "$persona"); fi
done
selection=()
if [[ -n ${FUZZ_PATHS:-} ]]; then selection=(--include-path-regex "$FUZZ_PATHS"); fi
failed=0
for persona in "${PERSONAS[@]}"; do
  headers=()
  phases=examples,coverage,fuzzing
  operations=()
  if [[ $persona == anonymous ]]; then
    # Every operation but the token answers 401 before reading anything: random inputs suffice.
    phases=examples,fuzzing
  else
    headers=(-H "Authorization: Token ${TOKENS[$persona]}")
    # Only what the role may call: tests/test_routes.py holds every other operation to its 403.
    for id in $($BIN/python scripts/fuzz_operations.py "$BASE" "${TOKENS[$persona]}"); do
      operations+=(--include-operation-id "$id")
    done
    if ((${#operations[@]} == 0)); then echo "== $persona may call no operation"; continue; fi
  fi
  if [[ $persona == anonymous ]]; then echo "== fuzz as anonymous (every operation)"
  else echo "== fuzz as $persona ($((${#operations[@]} / 2)) operations its role may call)"; fi
  if ! $BIN/schemathesis run "$BASE/api/schema/" "${headers[@]}" "${selection[@]}" "${operations[@]}" \
    --checks all --exclude-checks positive_data_acceptance --max-examples "$EXAMPLES" --seed "$SEED" \
    --phases "$phases" --workers 1 --no-color --warnings off --report junit \
    --report-junit-path "var/fuzz-$persona.xml" >"var/fuzz-$persona.txt" 2>&1; then
    failed=1
    echo "   failures: var/fuzz-$persona.txt"
    grep -E '^(_{3,}|  ❌)' "var/fuzz-$persona.txt" || true
  fi
  grep -E '^Test cases:' -A1 "var/fuzz-$persona.txt" | tail -1
done
exit $failed
