#!/usr/bin/env bash
# Set up (first time) and run the test suite. Extra arguments go to pytest, e.g. `bash scripts/test.sh -k runner`.
# It installs the dev extras (`pip install -e ".[dev]"`: train and ray too, whose tests train, export and start a
# Ray cluster, and ultralytics' trackers, the reference vidcv's tracking is scored against).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
bash scripts/check.sh  # ruff, ruff format, lint-imports, mypy: as before every commit
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
exec .venv/bin/python -m pytest "$@"
