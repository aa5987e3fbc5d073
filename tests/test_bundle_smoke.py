"""The app bundle's smoke test (scripts/bundle_smoke.sh) on a bundle already built by scripts/bundle.sh.

Not part of the default run: building the bundle takes about a minute and 0.9 GB, so the test runs only with
VIDCV_BUNDLE=1 (``bash scripts/bundle.sh && VIDCV_BUNDLE=1 .venv/bin/pytest tests/test_bundle_smoke.py``);
VIDCV_BUNDLE_DIST names a bundle elsewhere than dist/vidcv. The script runs the bundled window and command
line from /tmp with an empty environment; see docs/bundle.md.
"""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = os.environ.get("VIDCV_BUNDLE_DIST") or os.path.join(ROOT, "dist", "vidcv")

pytestmark = [
    pytest.mark.skipif(os.environ.get("VIDCV_BUNDLE") != "1", reason="the app bundle: set VIDCV_BUNDLE=1"),
    pytest.mark.timeout(600),
]


def test_bundle_smoke():
    if not os.path.isfile(os.path.join(DIST, "vidcv")):
        pytest.fail(f"no bundle at {DIST}: build it first with `bash scripts/bundle.sh`")
    done = subprocess.run(
        ["bash", os.path.join(ROOT, "scripts", "bundle_smoke.sh"), DIST],
        cwd="/tmp",
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke: passed" in done.stdout
    assert "a video frame is shown" in done.stdout  # the window's screenshot (scripts/bundle/check_png.py)
