"""vidcv is MIT and runs without PyTorch or ultralytics (AGPL-3.0), which only the train extra brings.

The window's start, a YOLO + track + count pipeline (`vidcv run -p track_shapes`) and `vidcv batch` with its worker
processes are run as users run them, in this dev install where torch, ultralytics and lap are all importable, and
import none of them. Every Python process of each command reports, through an audit hook that a sitecustomize on
PYTHONPATH installs, each process it is and each import of a watched package it makes (the hook sees real imports,
not ``importlib.util.find_spec``, which is how vidcv.extras asks whether the train extra is there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import pytest

from media import read_all, vidcv_cmd
from vidcv.bundled import sample_video

pytestmark = pytest.mark.timeout(300)

#: what the train extra brings (and ultralytics' trackers' lap, and torch's triton): none of it at run time
WATCHED = ("torch", "ultralytics", "lap", "triton", "torchvision")

SITECUSTOMIZE = """
import os, sys

_report = os.environ.get("VIDCV_IMPORT_REPORT")
_watched = set(os.environ.get("VIDCV_IMPORT_WATCHED", "").split(","))


def _say(line):
    fd = os.open(_report, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\\n").encode())
    finally:
        os.close(fd)


def _hook(event, args):
    if event == "import" and args[0].partition(".")[0] in _watched:
        _say(f"import {os.getpid()} {args[0]}")


if _report:
    _say(f"process {os.getpid()}")
    sys.addaudithook(_hook)
"""


@pytest.fixture
def watched(tmp_path):
    """(environment, report): an environment whose Python processes write to ``report`` as the module says."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    report = tmp_path / "imports.txt"
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        **os.environ,
        "PYTHONPATH": path,
        "VIDCV_IMPORT_REPORT": str(report),
        "VIDCV_IMPORT_WATCHED": ",".join(WATCHED),
        "QT_QPA_PLATFORM": "offscreen",
        "VIDCV_CONFIG_DIR": str(tmp_path / "config"),
        "VIDCV_OUTPUT_DIR": str(tmp_path / "outputs"),
    }
    return env, report


def reported(report) -> tuple[set[str], list[str]]:
    """(the processes that reported, the watched imports they made)."""
    lines = report.read_text().splitlines() if report.exists() else []
    processes = {line.split()[1] for line in lines if line.startswith("process ")}
    return processes, [line for line in lines if line.startswith("import ")]


def write_clip(path, start: int, count: int) -> None:
    """Frames ``start`` .. ``start + count`` of the bundled sample (the demo detector's shapes move in it)."""
    frames = read_all(sample_video(), start, count)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    for img in frames:
        writer.write(img)
    writer.release()


def test_the_hook_sees_an_import_in_every_process(watched):
    env, report = watched
    code = (
        "import multiprocessing as mp, subprocess, sys\n"
        "if __name__ == '__main__':\n"
        "    p = mp.get_context('spawn').Process(target=__import__, args=('lap',)); p.start(); p.join()\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    processes, imports = reported(report)
    parent = report.read_text().split()[1]  # the first process to report
    assert len(processes) >= 2 and f"import {parent} lap" not in imports, report.read_text()
    assert any(line.endswith(" lap") for line in imports), report.read_text()  # the child's import was seen


def test_the_window_starts_and_tracks_without_torch_or_ultralytics(watched, tmp_path):
    env, report = watched
    shot = tmp_path / "shot.png"
    cmd = [sys.executable, "-m", "vidcv.ui.app", sample_video(), "-p", "track_shapes", "--frames", "20"]
    res = subprocess.run([*cmd, "--screenshot", str(shot)], env=env, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    assert shot.stat().st_size > 0
    processes, imports = reported(report)
    assert processes and imports == [], imports


def test_a_yolo_track_count_run_imports_neither(watched, tmp_path):
    env, report = watched
    stats = tmp_path / "stats.json"
    res = subprocess.run(
        [*vidcv_cmd(), "run", sample_video(), "-p", "track_shapes", "--max-frames", "90", "-q"]
        + ["--stats-json", str(stats)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert res.returncode == 0, res.stderr
    stages = {s["plugin"]: s for s in json.loads(stats.read_text())["stages"]}
    assert set(stages) == {"yolo", "track", "count", "annotate"} and stages["track"]["frames_out"] == 90
    assert "counts" in stages["count"]
    processes, imports = reported(report)
    assert processes and imports == [], imports


def test_vidcv_batch_and_its_workers_import_neither(watched, tmp_path):
    env, report = watched
    write_clip(str(tmp_path / "videos" / "a.mp4"), 0, 30)
    write_clip(str(tmp_path / "videos" / "b.mp4"), 120, 30)
    res = subprocess.run(
        [*vidcv_cmd(), "batch", str(tmp_path / "videos"), "-p", "track_shapes", "--out", str(tmp_path / "out")]
        + ["--workers", "2", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(tmp_path / "out" / "a")) == ["detections.jsonl", "stats.json"]
    processes, imports = reported(report)
    assert len(processes) >= 3, report.read_text()  # the batch and its two workers, each watched
    assert imports == [], imports
