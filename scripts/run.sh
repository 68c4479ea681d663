#!/usr/bin/env bash
# The main job on the embedded default (SQLite at var/cadreflow.db): set up, create or migrate the
# database, seed the demo (users for every role in 3 units; batches finished, at opinions, at exams
# and just opened; a cadre followed to appointment; printing the sign-ins), then run a worker (timers,
# messages between cases, the biennial pool adjustment) beside the web app on http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
.venv/bin/cadreflow init
.venv/bin/cadreflow demo
# Without a worker nothing that falls due would fire and no message would reach its case (a finding
# the cadre's file, an admission the new file); it stops with the web app.
.venv/bin/cadreflow worker --interval 1 > var/worker.log 2>&1 &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM
echo "worker running (pid $worker, log var/worker.log)"
.venv/bin/cadreflow serve --host "${CADREFLOW_HOST:-127.0.0.1}" --port "${CADREFLOW_PORT:-5000}"
