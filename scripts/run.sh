#!/usr/bin/env bash
# The main job on the embedded default (SQLite at var/cadreflow.db): set up, create or migrate the
# database, seed the demo (users for every role in 3 units; batches finished, at opinions, at exams
# and just opened; printing the sign-ins) and serve the inbox on http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
.venv/bin/cadreflow init
.venv/bin/cadreflow demo
exec .venv/bin/cadreflow serve --host "${CADREFLOW_HOST:-127.0.0.1}" --port "${CADREFLOW_PORT:-5000}"
