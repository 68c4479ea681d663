#!/usr/bin/env bash
# The main job on the embedded default (SQLite at var/cadreflow.db): set up, create or migrate the
# database, deploy the processes and run the demo batch to the end, printing its outcome.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
.venv/bin/cadreflow init
.venv/bin/cadreflow deploy processes/ --as setup --note "deployed by scripts/run.sh"
.venv/bin/cadreflow demo
