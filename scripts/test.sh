#!/usr/bin/env bash
# The whole test suite: unit and contract tests on SQLite and PostgreSQL, process tests, the
# bpmn-js round trip, the browser tests. Sets up what it needs (.venv; Node.js, Chromium and fonts
# from Debian when missing).
# PostgreSQL: CADREFLOW_TEST_PG_URL or postgres@127.0.0.1:5432. Under CI=true nothing is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
# Debian packages the tests need: Node.js (bpmn-js round trip) and Chromium with fonts (browser tests).
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)
[ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  echo "test: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
.venv/bin/cadreflow validate processes/
exec .venv/bin/python -m pytest "$@"
