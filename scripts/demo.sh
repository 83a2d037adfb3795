#!/usr/bin/env bash
# See trackwell work end to end: creates .venv on first use and installs the SDK and
# the server into it (skipped when nothing changed), starts `trackwell server` on
# 127.0.0.1 (embedded SQLite, data in .demo-server/), logs a short synthetic training
# run to it with `trackwell demo`, reads the run back through `trackwell.Api()`, prints
# the dashboard's URL and keeps serving it until Ctrl-C (only when run from a terminal;
# TRACKWELL_DEMO_SERVE=0 stops right away). The run's local copy goes to ./trackwell/
# under the repository.
set -euo pipefail
# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
tw_setup_core
tw_install server-runtime "core/pyproject.toml server-lite/pyproject.toml" -e core -e server-lite
cd "$TW_ROOT"

data="${TRACKWELL_DEMO_DATA:-$TW_ROOT/.demo-server}"
mkdir -p "$data"
port="$("$TW_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
# The demo's login lives beside its data, so it never touches your own settings.
export TRACKWELL_CONFIG_DIR="$data/config"
export TRACKWELL_BASE_URL="$url"
unset TRACKWELL_API_KEY WANDB_API_KEY WANDB_BASE_URL TRACKWELL_MODE WANDB_MODE

"$TW_VENV/bin/trackwell" server --host 127.0.0.1 --port "$port" --data "$data" --no-auth --no-offer \
    >"$data/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT

"$TW_PY" - "$url" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 60
while True:
    try:
        urllib.request.urlopen(sys.argv[1] + "/api/v1/health", timeout=2).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("the demo server did not start; see .demo-server/server.log")
        time.sleep(0.1)
PY
echo "trackwell server: $url (data in $data)"

"$TW_VENV/bin/trackwell" demo --no-serve "$@"

echo
echo "Read back from the server with trackwell.Api():"
"$TW_PY" - <<'PY'
import trackwell

api = trackwell.Api()
for run in api.runs(f"{api.default_entity}/demo", order="-created_at", per_page=5):
    loss = run.summary.get("train/loss", {})
    history = run.history(keys=["train/loss"], samples=10, pandas=False)
    print(f"  {'/'.join(run.path)}  state={run.state}  steps={run.lastHistoryStep + 1}"
          f"  min train/loss={loss.get('min') if isinstance(loss, dict) else loss}"
          f"  sampled points={len(history)}")
PY

echo
echo "Dashboard: $url/ (the demo's runs: $url/local/demo)"
if [ -t 0 ] && [ "${TRACKWELL_DEMO_SERVE:-1}" != 0 ]; then
    echo "Serving $url (dashboard at /, REST API under /api/v1, OpenAPI at $url/docs). Ctrl-C stops."
    echo "From another shell: TRACKWELL_BASE_URL=$url python your_script.py"
    wait "$server_pid"
fi
