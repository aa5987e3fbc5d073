#!/usr/bin/env bash
# Set up (first time) and run vidcv on the bundled sample video: Canny edges, written to out/sample_edges.mp4.
# Any extra arguments go to `vidcv run`, e.g. `bash scripts/demo.sh --realtime`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/vidcv run assets/sample.mp4 --pipeline edges --output out/sample_edges.mp4 "$@"
