#!/usr/bin/env bash
# The test command: set up everything (venv, chromium) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --browser
export VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow
exec .venv/bin/python -m pytest -q -ra "$@"
