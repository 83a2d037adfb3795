#!/usr/bin/env bash
# The GPU checks of trackwell-torch (tests/torch/test_gpu.py, and the rest of tests/torch
# on that machine): one command on a machine with an NVIDIA GPU and torch installed.
#
# Needs no network: builds .venv-gpu with --system-site-packages so the machine's own
# (CUDA) torch is used, and installs trackwell, trackwell-torch and server-lite from this
# checkout without dependencies (anything missing is reported, never fetched).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "gpu_check: torch is not installed for $PY on this machine; install a CUDA build of torch first" >&2
    exit 2
fi
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available:", torch.cuda.is_available(), torch.cuda.device_count(), "GPU(s)")'
VENV="${GPU_VENV:-$ROOT/.venv-gpu}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv --system-site-packages "$VENV"
PLUGIN_ARGS=()
# Editable installs need hatchling; without it (no network) the sources go on PYTHONPATH,
# which is enough: trackwell finds trackwell_torch by name when no entry point lists it.
if ! "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation --no-index \
    -e core -e integrations/torch -e server-lite >/dev/null 2>&1; then
    echo "gpu_check: no editable install here (no hatchling); using the sources on PYTHONPATH" >&2
    PLUGIN_ARGS=(-p trackwell.testing)  # the fixtures' pytest11 entry point is not installed
    export PYTHONPATH="$ROOT/core/src:$ROOT/integrations/torch/src:$ROOT/server-lite/src${PYTHONPATH:+:$PYTHONPATH}"
fi
# A wheelhouse carried to the machine (GPU_WHEELS=dir, made here with
# `pip download -d wheels pytest msgpack pluggy psutil pyyaml nvidia-ml-py` plus server-lite's
# requirements) supplies what the machine lacks, without network.
if [ -n "${GPU_WHEELS:-}" ]; then
    "$VENV/bin/python" -m pip install --quiet --no-index --find-links "$GPU_WHEELS" \
        pytest msgpack pluggy psutil pyyaml ormsgpack nvidia-ml-py || true
fi
missing=$("$VENV/bin/python" - <<'PY'
import importlib.util
need = ["pytest", "msgpack", "pluggy", "psutil", "fastapi", "uvicorn", "sqlalchemy", "alembic", "httpx"]
print(" ".join(n for n in need if importlib.util.find_spec(n) is None))
PY
)
if [ -n "$missing" ]; then
    echo "gpu_check: missing on this machine (install from a local wheelhouse): $missing" >&2
    echo "gpu_check: running only what works without them" >&2
fi
"$VENV/bin/python" -c 'import pynvml' 2>/dev/null || echo "gpu_check: pynvml missing: the GPU system-metrics test skips" >&2
exec timeout 600 "$VENV/bin/python" -m pytest "${PLUGIN_ARGS[@]}" tests/torch/test_gpu.py tests/torch/test_watch.py -q -p no:cacheprovider -rs "$@"
