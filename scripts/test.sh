#!/usr/bin/env bash
# Run trackwell's tests: creates .venv on first use, installs the core and the test
# dependencies into it (skipped when nothing changed), then runs pytest on tests/.
# Arguments go to pytest:  bash scripts/test.sh tests/core/test_log.py -x -q
set -euo pipefail
# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
tw_setup_tests
cd "$TW_ROOT"
exec "$TW_PY" -m pytest "$@"
