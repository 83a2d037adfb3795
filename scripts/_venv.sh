# Shared by scripts/demo.sh, scripts/test.sh and .ci/run; sourced, not run.
#
# Creates the project's virtual environment (.venv, or $TRACKWELL_VENV) on first use
# and installs into it only what changed since the last install: each install
# step leaves a stamp holding a hash of the files it read (the distributions'
# pyproject.toml files, the requirements files, the Python version), and is skipped
# while that hash still matches. A second run therefore starts in well under a second.

TW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TW_VENV="${TRACKWELL_VENV:-$TW_ROOT/.venv}"
TW_PY="$TW_VENV/bin/python"

tw_log() { printf '%s\n' "-- $*" >&2; }

# The interpreter to build the venv from: $PYTHON, else the newest python3 found (>= 3.10).
tw_base_python() {
    local cand
    for cand in "${PYTHON:-}" python3.13 python3.12 python3.11 python3.10 python3; do
        [ -n "$cand" ] || continue
        if command -v "$cand" >/dev/null 2>&1 &&
            "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            command -v "$cand"
            return 0
        fi
    done
    tw_log "no Python >= 3.10 found: install one, or point PYTHON at it"
    return 1
}

tw_venv() {
    if ! "$TW_PY" -c 'import sys' >/dev/null 2>&1; then  # absent, or moved and broken
        local base
        base="$(tw_base_python)"
        tw_log "creating $TW_VENV with $base"
        rm -rf "$TW_VENV"
        "$base" -m venv "$TW_VENV"
    fi
}

tw_hash() {
    (cd "$TW_ROOT" && "$TW_PY" - "$@" <<'PY'
import hashlib, sys
h = hashlib.sha256(sys.version.encode())
for name in sorted(sys.argv[1:]):
    h.update(name.encode() + b"\0")
    with open(name, "rb") as f:
        h.update(f.read())
print(h.hexdigest())
PY
    )
}

# tw_install STAMP "FILES THE INSTALL READS" PIP-INSTALL-ARGS...
tw_install() {
    local name=$1 inputs=$2
    shift 2
    local stamp="$TW_VENV/.trackwell-$name.stamp" key
    # shellcheck disable=SC2086  # inputs is a list of repository paths without spaces
    key="$(tw_hash $inputs) $(printf '%s\0' "$@" | cksum)"  # the files read, and what is asked of pip
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
        return 0
    fi
    tw_log "installing $name"
    (cd "$TW_ROOT" && "$TW_PY" -m pip install --quiet --disable-pip-version-check "$@")
    printf '%s\n' "$key" >"$stamp"
}

tw_setup_core() {
    tw_venv
    tw_install core "core/pyproject.toml" -e core
}

# torch is optional (its tests skip without it): installed when the pinned release is
# on this machine as a local wheel, or always with TRACKWELL_TORCH=1; TRACKWELL_TORCH=0
# never installs it. From the index alone it would be a CUDA build of several GB.
tw_setup_torch() {
    local want="${TRACKWELL_TORCH:-auto}"
    [ "$want" != 0 ] || return 0
    if [ "$want" = auto ] && ! (cd "$TW_ROOT" && "$TW_PY" -m pip install --quiet --dry-run --no-index \
        --no-deps --disable-pip-version-check -r requirements-torch.txt) >/dev/null 2>&1; then
        tw_log "torch: no local wheel of the pinned release, its tests will skip (TRACKWELL_TORCH=1 installs it)"
        return 0
    fi
    tw_install torch "requirements-torch.txt" -r requirements-torch.txt
}

# Every test environment of the table in pyproject.toml ([tool.trackwell.envs], read by
# scripts/distributions.py), installed into the one venv so that the whole suite runs there.
# Environments that need torch (the framework integrations: Lightning, transformers' Trainer,
# Keras' torch backend) are installed only where tw_setup_torch installed it: without the
# local CPU wheel pip would fetch a CUDA build. Their tests skip cleanly when a framework is
# missing.
tw_setup_envs() {
    local name torch inputs args have_torch=0
    if "$TW_PY" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)'; then
        have_torch=1
    fi
    while IFS=$'\t' read -r name torch inputs args; do
        if [ "$torch" = 1 ] && [ "$have_torch" = 0 ]; then
            tw_log "$name: torch is not installed, its tests will skip"
            continue
        fi
        # shellcheck disable=SC2086  # args is a list of repository paths and names without spaces
        tw_install "env-$name" "$inputs" $args
    done < <(cd "$TW_ROOT" && "$TW_PY" scripts/distributions.py venv)
}

tw_setup_tests() {
    tw_setup_core
    tw_setup_torch
    tw_setup_envs
}

# ruff and mypy, and the tools that run them and the tests elsewhere (tox, nox, pre-commit).
tw_setup_lint() {
    tw_venv
    tw_install lint "requirements-lint.txt requirements-tools.txt" -r requirements-lint.txt -r requirements-tools.txt
}
