#!/usr/bin/env bash
# The GPU checks of trackwell-torch (tests/torch/test_gpu.py): one command on a machine
# with an NVIDIA GPU and a CUDA build of torch.
#
# Needs only the core's dependencies (pluggy, click, msgpack, psutil, pyyaml), pytest and
# torch in the machine's python3 (nvidia-ml-py for the GPU system-metrics test), and no
# network: the sources go on PYTHONPATH (no install, no venv: a venv made from another
# venv loses that venv's packages) and the tests log offline runs, read back with the
# LocalApi, so server-lite and its dependencies are not needed. Plugin autoloading is
# off so that -p trackwell.testing works the same where trackwell is installed (its
# pytest11 entry point would register the fixtures a second time) and where it is not.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 PYTHONPATH="core/src:integrations/torch/src${PYTHONPATH:+:$PYTHONPATH}" \
    exec timeout 600 "${PYTHON:-python3}" -m pytest -p trackwell.testing tests/torch/test_gpu.py -q -rs -p no:cacheprovider "$@"
