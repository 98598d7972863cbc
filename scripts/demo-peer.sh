#!/usr/bin/env bash
# `make run-peer`: a second demo instance playing 广东省 (44), the household province of 跨省通办
# (docs/exchange.md), beside `make run`'s 江西省 (36) on 127.0.0.1:8000. Its own folder var/peer44
# (database, keys, job queue), its units, one resident (林嘉怡) and her station's reviewer
# `reviewer_44` (`tongban demo province 44`); each system registered in the other's directory
# (交换目录) once; then its web server on 127.0.0.1:8001 and its job worker (which delivers what it
# sends) until Ctrl-C. Run `make run` beside it in another terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PEER_DIR="$PWD/var/peer44"
PEER_ENV=(TONGBAN_VAR_DIR="$PEER_DIR" TONGBAN_DATABASE_URL="sqlite:///$PEER_DIR/tongban.sqlite3"
  TONGBAN_PROVINCE_CODE=44 TONGBAN_PROVINCE_NAME=广东省)
mkdir -p var "$PEER_DIR"

public_key() { # the exchange public key (hex) that `tongban exchange key` prints first
  "$@" exchange key | "$BIN/python" -c \
    'import json, sys; print(json.loads(sys.stdin.read().split("-----BEGIN")[0])["public_key"])'
}

# 江西 as `make run` prepares it (nothing happens when it is there already), then 广东.
"$BIN/tongban" migrate --no-input -v0
"$BIN/tongban" demo seed --if-empty >/dev/null
env "${PEER_ENV[@]}" "$BIN/tongban" migrate --no-input -v0
env "${PEER_ENV[@]}" "$BIN/tongban" demo province 44

jiangxi=$(public_key "$BIN/tongban")
guangdong=$(public_key env "${PEER_ENV[@]}" "$BIN/tongban")
if ! "$BIN/tongban" exchange peer list | grep -q '^44'; then
  "$BIN/tongban" exchange peer add --prefix 44 --name 广东省 --endpoint http://127.0.0.1:8001 \
    --public-key "$guangdong"
fi
if ! env "${PEER_ENV[@]}" "$BIN/tongban" exchange peer list | grep -q '^36'; then
  env "${PEER_ENV[@]}" "$BIN/tongban" exchange peer add --prefix 36 --name 江西省 \
    --endpoint http://127.0.0.1:8000 --public-key "$jiangxi"
fi
exec env "${PEER_ENV[@]}" "$BIN/honcho" start -f Procfile.peer
