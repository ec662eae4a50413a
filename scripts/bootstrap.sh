#!/usr/bin/env bash
# Set up .venv on a fresh machine: torch's CPU wheel first (an unpinned torch would pull
# gigabytes of CUDA packages), then this project with its dev extras.
# With --browser, also install Debian's chromium for the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--browser" ]] && [[ ! -x /usr/bin/chromium ]]; then
    echo "[bootstrap] installing Debian chromium for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
    echo "[bootstrap] creating .venv"
    python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    echo "[bootstrap] installing torch==2.13.0 (CPU)"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q torch==2.13.0
fi
# Re-install the project only when its requirements changed since the last run.
stamp=.venv/.atlas-installed
if [[ ! -f $stamp ]] || [[ pyproject.toml -nt $stamp ]]; then
    echo "[bootstrap] installing magnetosphere-atlas and its dependencies"
    .venv/bin/pip install -q -e ".[dev]"
    touch "$stamp"
fi
