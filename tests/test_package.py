"""Importing vidcv has no side effect a program using it would notice: vidcv sets no environment variable."""

import json
import subprocess
import sys

CHECK = """
import json, os
import av, cv2, numpy  # their own imports may set variables (cv2: LD_LIBRARY_PATH): vidcv's are what count
before = dict(os.environ)
import vidcv, vidcv.cli.main, vidcv.pipeline, vidcv.presets, vidcv.runner, vidcv.sources, vidcv.sinks
print(json.dumps({k: v for k, v in os.environ.items() if before.get(k) != v}))
"""


def test_importing_vidcv_sets_no_environment_variable():
    res = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(res.stdout) == {}
