#!/usr/bin/env bash
# Fuzz every API operation with schemathesis against the schema the server serves, as several
# demo roles, on a throwaway demo database: 0 server errors and 0 answers that differ from the
# schema, or the run fails. `make fuzz`; scripts/test.sh runs it as part of `make test`.
#
#   FUZZ_EXAMPLES   examples per operation and phase (default 12; more for a long run)
#   FUZZ_DATABASE_URL  the throwaway database (default var/fuzz.sqlite3, recreated each run)
#   FUZZ_PORT       the port of the (first) server under test (default 8765)
#   FUZZ_SHARDS     servers fuzzed side by side (default 2), each on its own copy of the seeded
#                   demo; the roles are dealt out as servers come free. SQLite only: one with
#                   FUZZ_DATABASE_URL
#   FUZZ_SEED       schemathesis's seed (default: a fixed one, so a failure reproduces)
#   FUZZ_PERSONAS   the demo accounts to fuzz as (default: anonymous and one of each role)
#   FUZZ_PATHS      a regular expression: fuzz only the operations whose path matches
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
mkdir -p var
EXAMPLES=${FUZZ_EXAMPLES:-12}
PORT=${FUZZ_PORT:-8765}
SHARDS=${FUZZ_SHARDS:-2}
SEED=${FUZZ_SEED:-20261206}
DB_FILE=$PWD/var/fuzz.sqlite3
if [[ -n ${FUZZ_DATABASE_URL:-} ]]; then SHARDS=1; fi
export TONGBAN_DATABASE_URL=${FUZZ_DATABASE_URL:-sqlite:///$DB_FILE}
export TONGBAN_VAR_DIR=$PWD/var/fuzz

rm -rf "$TONGBAN_VAR_DIR" "$TONGBAN_VAR_DIR"-[0-9]* var/fuzz-[0-9]*.sqlite3* var/fuzz-queue
if [[ $TONGBAN_DATABASE_URL == sqlite:///* ]]; then rm -f "${TONGBAN_DATABASE_URL#sqlite:///}"; fi
$BIN/tongban migrate --no-input -v0
$BIN/tongban demo seed --people 2000 --applications 300 >/dev/null

# positive_data_acceptance is left out: a schema-valid request may still be refused with 400 by a rule
# a schema cannot state (a check digit, a cursor of another sort, a business rule; docs/api.md, Errors).
# Longest first, so that the servers finish together; the administrator last, since it may
# deactivate the accounts of the roles fuzzed after it on the same server.
PERSONAS=(${FUZZ_PERSONAS:-clerk supervisor distributor_donghu reviewer_donghu campaign_manager anonymous centre_operator finance auditor admin})

# Shard s serves its own copy of the demo (database and var directory) on port PORT+s.
SERVERS=()
trap 'kill "${SERVERS[@]}" 2>/dev/null || true' EXIT
for ((s = 0; s < SHARDS; s++)); do
  if ((s > 0)); then
    cp -r "$TONGBAN_VAR_DIR" "$TONGBAN_VAR_DIR-$s"
    $BIN/python -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))' \
      "$DB_FILE" "var/fuzz-$s.sqlite3"
    TONGBAN_DATABASE_URL=sqlite:///$PWD/var/fuzz-$s.sqlite3 TONGBAN_VAR_DIR=$TONGBAN_VAR_DIR-$s \
      $BIN/tongban runserver "127.0.0.1:$((PORT + s))" --noreload >"var/fuzz-server-$s.log" 2>&1 &
  else
    $BIN/tongban runserver "127.0.0.1:$PORT" --noreload >var/fuzz-server-0.log 2>&1 &
  fi
  SERVERS+=($!)
done
for ((s = 0; s < SHARDS; s++)); do
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$((PORT + s))/api/schema/" && break; sleep 0.2; done
done

token() {  # token BASE USER → an API token for the demo account (the demo's one-time code is sent
  # for every account: those that need none ignore it, README's "one-time code" column marks the others)
  local body="{\"username\": \"$2\", \"password\": \"Tongban@2026\""
  body+=", \"otp\": \"$($BIN/tongban demo otp | grep -o '[0-9]\{6\}' | head -1)\""
  curl -sf -X POST "$1/api/v1/auth/token" -H 'Content-Type: application/json' -d "$body}" |
    $BIN/python -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

selection=()
if [[ -n ${FUZZ_PATHS:-} ]]; then selection=(--include-path-regex "$FUZZ_PATHS"); fi

fuzz() {  # fuzz BASE PERSONA TOKEN → var/fuzz-PERSONA.txt (and .xml, .status: "ok" or "failed")
  local base=$1 persona=$2 headers=() phases=examples,coverage,fuzzing operations=()
  if [[ $persona == anonymous ]]; then
    # Every operation but the token answers 401 before reading anything: random inputs suffice.
    phases=examples,fuzzing
    echo "== fuzz as anonymous (every operation)" >"var/fuzz-$persona.head"
  else
    headers=(-H "Authorization: Token $3")
    # Only what the role may call: tests/test_routes.py holds every other operation to its 403.
    for id in $($BIN/python scripts/fuzz_operations.py "$base" "$3" "${FUZZ_PATHS:-}"); do
      operations+=(--include-operation-id "$id")
    done
    if ((${#operations[@]} == 0)); then
      echo "== $persona may call no operation" >"var/fuzz-$persona.head"
      echo ok >"var/fuzz-$persona.status"
      return
    fi
    echo "== fuzz as $persona ($((${#operations[@]} / 2)) operations its role may call)" >"var/fuzz-$persona.head"
  fi
  if $BIN/schemathesis run "$base/api/schema/" "${headers[@]}" "${selection[@]}" "${operations[@]}" \
    --checks all --exclude-checks positive_data_acceptance --max-examples "$EXAMPLES" --seed "$SEED" \
    --phases "$phases" --workers 1 --no-color --warnings off --report junit \
    --report-junit-path "var/fuzz-$persona.xml" >"var/fuzz-$persona.txt" 2>&1; then
    echo ok >"var/fuzz-$persona.status"
  else
    echo failed >"var/fuzz-$persona.status"
  fi
}

shard() {  # shard S: take the next persona off the queue until it is empty
  local base=http://127.0.0.1:$((PORT + $1)) persona next
  declare -A tokens
  # Tokens first: fuzzing POST /auth/token as anonymous locks the address out (429 login_locked).
  for persona in "${PERSONAS[@]}"; do
    if [[ $persona != anonymous ]]; then tokens[$persona]=$(token "$base" "$persona"); fi
  done
  while true; do
    next=$(flock var/fuzz-queue.lock bash -c 'n=$(cat var/fuzz-queue); echo $((n + 1)) >var/fuzz-queue; echo "$n"')
    ((next < ${#PERSONAS[@]})) || return 0
    persona=${PERSONAS[$next]}
    fuzz "$base" "$persona" "${tokens[$persona]:-}"
  done
}

echo 0 >var/fuzz-queue
rm -f var/fuzz-*.status var/fuzz-*.head
SHARD_PIDS=()
for ((s = 0; s < SHARDS; s++)); do
  shard "$s" &
  SHARD_PIDS+=($!)
done
wait "${SHARD_PIDS[@]}"

failed=0
for persona in "${PERSONAS[@]}"; do
  cat "var/fuzz-$persona.head" 2>/dev/null || echo "== $persona: not fuzzed (no token?)"
  if [[ $(cat "var/fuzz-$persona.status" 2>/dev/null) != ok ]]; then
    failed=1
    echo "   failures: var/fuzz-$persona.txt"
    grep -E '^(_{3,}|  ❌)' "var/fuzz-$persona.txt" 2>/dev/null || true
  fi
  { grep -E '^Test cases:' -A1 "var/fuzz-$persona.txt" 2>/dev/null || true; } | tail -1
done
rm -f var/fuzz-queue var/fuzz-queue.lock var/fuzz-*.status var/fuzz-*.head
exit $failed
