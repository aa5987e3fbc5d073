#!/usr/bin/env bash
# Set up (first time), then open the bundled sample video in the vidcv window with the edges preset.
# Without a display (no $DISPLAY or $WAYLAND_DISPLAY) it processes the sample on the command line instead
# and writes out/sample_edges.mp4. Extra arguments go to vidcv-gui (or vidcv run), e.g. --pipeline denoise.
# It installs the runtime alone (`pip install -e .`: no PyTorch, ultralytics or Ray); scripts/test.sh adds the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh runtime
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec .venv/bin/vidcv-gui assets/sample.mp4 --pipeline edges "$@"
fi
echo "demo: no display found; processing the sample on the command line instead"
exec .venv/bin/vidcv run assets/sample.mp4 --pipeline edges --output out/sample_edges.mp4 "$@"
