#!/usr/bin/env bash
# The whole test suite: unit and contract tests on SQLite and PostgreSQL, process tests, the
# bpmn-js round trip. Sets up what it needs (.venv; Node.js from Debian when missing).
# PostgreSQL: CADREFLOW_TEST_PG_URL or postgres@127.0.0.1:5432. Under CI=true nothing is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  echo "test: installing Node.js and npm from Debian (for the bpmn-js round-trip test)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
fi
.venv/bin/cadreflow validate processes/
exec .venv/bin/python -m pytest "$@"
