#!/usr/bin/env bash
# See trackwell work: creates .venv on first use, installs the core into it (skipped
# when nothing changed), logs a short synthetic training run with `trackwell demo`,
# then lists the local runs with `trackwell runs`. The runs go to ./trackwell/ under
# the repository, or under $TRACKWELL_DIR when it is set.
set -euo pipefail
# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
tw_setup_core
cd "$TW_ROOT"
"$TW_VENV/bin/trackwell" demo "$@"
echo
"$TW_VENV/bin/trackwell" runs
