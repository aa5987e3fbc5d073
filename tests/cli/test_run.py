"""`vidcv run` (vidcv/cli/run.py), run as users run it (the installed console script) and in-process."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from terminal import frames_shown, read_until, spawn_on_terminal

from media import decode_index, read_all, run_cli, vidcv_cmd, write_video
from vidcv.bundled import sample_video
from vidcv.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from vidcv.cli.main import main
from vidcv.detections import Detections
from vidcv.params import Int
from vidcv.plugin import Plugin
from vidcv.registry import default_registry


def test_run_sample_to_video_with_stats(tmp_path):
    out, stats = tmp_path / "edges.mp4", tmp_path / "stats.json"
    res = run_cli("run", sample_video(), "--pipeline", "edges", "--output", str(out), "--stats-json", str(stats))
    assert res.returncode == 0, res.stderr
    assert "canny" in res.stdout and "300 frames" in res.stdout  # the timing table
    assert len(read_all(str(out))) == 300
    doc = json.loads(stats.read_text())
    assert doc["frames"] == 300 and doc["dropped"] == 0 and doc["fps"] > 0 and doc["wall_s"] > 0
    assert [s["name"] for s in doc["stages"]] == ["color", "blur", "canny"]
    for stage in doc["stages"]:
        assert set(stage) >= {"name", "plugin", "fps", "ms_mean", "ms_p95", "errors"}
        assert stage["errors"] == 0 and stage["ms_mean"] > 0 and stage["ms_p95"] >= 0


def test_every_frame_written_once_in_order_to_an_image_sequence(tmp_path, video_file):
    res = run_cli("run", video_file, "--output", str(tmp_path / "seq" / "f_%05d.png"), "-q")
    assert res.returncode == 0, res.stderr
    import cv2

    names = sorted(os.listdir(tmp_path / "seq"))
    assert names == [f"f_{i:05d}.png" for i in range(60)]
    assert [decode_index(cv2.imread(str(tmp_path / "seq" / n))) for n in names] == list(range(60))


class FakeDetector(Plugin):
    """Finds one 'thing' box per frame, at a position given by the frame index."""

    name = "fake_detector"
    params = (Int("size", 10, 1, 100),)

    def process(self, frame):
        x = float(frame.index)
        frame.detections = Detections([[x, 1, x + self.p.size, 1 + self.p.size]], [0.75], [0], {0: "thing"})
        return frame


def test_detections_jsonl_one_line_per_frame(tmp_path, video_file):
    registry = default_registry()
    registry.register(FakeDetector)
    preset = tmp_path / "det.yaml"
    preset.write_text("pipeline:\n  - plugin: fake_detector\n    params: {size: 5}\n")
    log = tmp_path / "det.jsonl"
    try:
        assert main(["run", video_file, "-p", str(preset), "--detections-jsonl", str(log), "-q"]) == 0
    finally:
        registry.unregister("fake_detector")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(60))
    assert lines[3] == {
        "frame": 3,
        "pts_ms": 100.0,
        "detections": [
            {"xyxy": [3.0, 1.0, 8.0, 6.0], "confidence": 0.75, "class_id": 0, "class_name": "thing", "track_id": None}
        ],
    }


def test_empty_detections_are_empty_lists(tmp_path, video_file):
    log = tmp_path / "none.jsonl"
    assert main(["run", video_file, "--detections-jsonl", str(log), "-q", "--max-frames", "3"]) == 0
    assert [json.loads(x)["detections"] for x in log.read_text().splitlines()] == [[], [], []]


def test_a_good_run_returns_exit_ok(video_file, capsys):
    assert main(["run", video_file, "-q", "--max-frames", "5"]) == EXIT_OK
    assert capsys.readouterr() == ("", "")  # -q: no table, no bar, no error


def test_a_missing_source_returns_exit_error_with_one_line_on_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "nope.mp4"]) == EXIT_ERROR
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 1, err
    assert lines[0].startswith("vidcv: error: no such file or folder: nope.mp4")
    assert os.listdir(tmp_path) == []  # nothing was written


def make_truncated(tmp_path):
    full = write_video(str(tmp_path / "full.avi"), 60)
    data = open(full, "rb").read()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    return str(cut)


def test_truncated_video_keeps_the_output_and_says_so(tmp_path):
    out = tmp_path / "out.avi"
    res = run_cli("run", make_truncated(tmp_path), "-o", str(out), "-q")
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "looks truncated or damaged" in lines[0]
    kept = read_all(str(out))
    assert 10 < len(kept) < 60 and [decode_index(f) for f in kept] == list(range(len(kept)))


def test_ctrl_c_stops_cleanly_and_keeps_what_was_written(tmp_path):
    out = tmp_path / "live.mp4"
    stats = tmp_path / "stats.json"
    # stderr on a terminal, so that the progress bar draws: it counts the frames written
    proc, master = spawn_on_terminal(
        [*vidcv_cmd(), "run", "pattern:320x240@30", "-p", "edges", "-o", str(out), "--stats-json", str(stats)],
        stdout=subprocess.PIPE,
        text=True,
    )
    err = bytearray()
    try:
        drawn = read_until(master, err, lambda buf: frames_shown(buf) >= 10, time.monotonic() + 30)
        assert drawn and frames_shown(err) >= 10, f"the bar did not reach 10 frames: {err.decode()!r}"
        proc.send_signal(signal.SIGINT)
        assert read_until(master, err, lambda buf: False, time.monotonic() + 10), "stderr did not end"
        proc.communicate(timeout=10)
    finally:
        os.close(master)
        if proc.poll() is None:  # a failed wait above: do not leave it running
            proc.kill()
            proc.communicate()
    stderr = err.decode()
    assert proc.returncode == EXIT_INTERRUPTED == 130, stderr
    assert "interrupted after" in stderr and "Traceback" not in stderr
    frames = read_all(str(out))
    assert len(frames) > 5 and len(frames) == json.loads(stats.read_text())["frames"]
    assert len(frames) >= frames_shown(err)  # every frame counted before Ctrl-C was kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.mp4", "stats.json"]


def test_a_classic_run_imports_no_heavy_framework(tmp_path):
    code = (
        "import sys; from vidcv.cli.main import main; "
        f"rc = main(['run', {sample_video()!r}, '-p', 'edges', '--max-frames', '5', '-q']); "
        "heavy = [m for m in ('torch', 'ultralytics', 'onnxruntime', 'PySide6') if m in sys.modules]; "
        "print(rc, heavy)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "0 []", res.stderr


def test_realtime_flag_paces_the_run(tmp_path):
    path = write_video(str(tmp_path / "short.mp4"), 15, fps=30)
    stats = tmp_path / "s.json"
    assert main(["run", path, "--realtime", "-q", "--stats-json", str(stats)]) == 0
    assert json.loads(stats.read_text())["wall_s"] >= 14 / 30 - 0.01


def test_output_may_not_overwrite_the_input(video_file):
    assert main(["run", video_file, "-o", video_file, "-q"]) == 1
    assert len(read_all(video_file)) == 60


def test_pipeline_defaults_to_pass_through(tmp_path, video_file):
    out = tmp_path / "copy.avi"
    assert main(["run", video_file, "-o", str(out), "-q"]) == 0
    frames = read_all(str(out))
    assert len(frames) == 60 and np.mean(np.abs(frames[10].astype(int) - read_all(video_file)[10])) < 10


@pytest.mark.timeout(300)
def test_a_yolo_run_logs_detections_with_class_names(tmp_path):
    log = tmp_path / "dets.jsonl"
    stats = tmp_path / "stats.json"
    from vidcv.bundled import sample_video

    res = run_cli(
        "run",
        sample_video(),
        "-p",
        "shapes",
        "--max-frames",
        "30",
        "--detections-jsonl",
        str(log),
        "--stats-json",
        str(stats),
        "-q",
    )
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 30
    names = {d["class_name"] for line in lines for d in line["detections"]}
    assert names and names <= {"circle", "square", "triangle"}
    stage = json.loads(stats.read_text())["stages"][0]
    assert stage["plugin"] == "yolo" and stage["provider"] == "CPU"
