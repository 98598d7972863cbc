#!/usr/bin/env bash
# Install the Debian packages Tongban needs beside Python when they are missing:
#   fonts   fonts-wqy-zenhei (embedded in the PDF forms)      — `make run`, `.ci/run`
#   browser chromium (the Playwright tests drive it)           — `.ci/run`
# As root it runs apt-get; otherwise it says what to install and goes on.
set -euo pipefail

need=()
for what in "$@"; do
  case "$what" in
    fonts) fc-list 2>/dev/null | grep -qi "wenquanyi zen hei" || need+=(fonts-wqy-zenhei) ;;
    browser) command -v chromium >/dev/null || need+=(chromium) ;;
    *) echo "unknown: $what (fonts, browser)" >&2; exit 2 ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "== missing Debian packages: ${need[*]} (sudo apt-get install ${need[*]}); PDFs or browser tests need them" >&2
  exit 0
fi
echo "== apt-get install ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
