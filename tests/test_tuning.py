"""The command line's process settings (vidcv.tuning): malloc's thresholds on glibc, the quicker exit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vidcv import tuning


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter (the settings are process-wide: never in the test process)."""
    clean = {k: v for k, v in os.environ.items() if k not in tuning.MALLOC_ENV}
    return subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60, env={**clean, **env}
    )


@pytest.mark.skipif(not tuning.glibc(), reason="glibc's malloc only")
def test_malloc_thresholds_are_set_once_on_glibc():
    res = run_python("from vidcv import tuning; print(tuning.tune_malloc(), tuning.tune_malloc())")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "True"]


def test_malloc_parameters_from_the_environment_win():
    res = run_python("from vidcv import tuning; print(tuning.tune_malloc())", MALLOC_TRIM_THRESHOLD_="1048576")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False"]


def test_garbage_left_at_exit_is_still_finalised():
    """The exit hook freezes what is alive, after collecting what is not: a cycle's finaliser still runs."""
    code = """
from vidcv import tuning

class Node:
    def __del__(self):
        print("finalised", flush=True)

tuning.collect_then_freeze_at_exit()
tuning.collect_then_freeze_at_exit()  # once is enough: registered once
a, b = Node(), Node()
a.other, b.other = b, a  # a cycle: only a collection frees it
del a, b
print("end", flush=True)
"""
    res = run_python(code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:3] == ["end", "finalised", "finalised"]


def test_the_command_line_runs_with_its_settings(tmp_path):
    """`vidcv run` as its own process (the console script): the settings applied, the run and its exit intact."""
    stats = tmp_path / "stats.json"
    code = (
        "import sys; from vidcv.cli.main import main; from vidcv import tuning; rc = main(); "
        "print(sorted(tuning._applied)); sys.exit(rc)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, "run", "pattern:64x48", "--max-frames", "3", "-q", "--stats-json", str(stats)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    malloc = tuning.glibc() and not any(name in os.environ for name in tuning.MALLOC_ENV)
    expected = ["freeze", "imports", "malloc"] if malloc else ["freeze", "imports"]
    assert res.stdout.strip().splitlines()[-1] == str(expected)
    assert '"frames": 3' in stats.read_text()
