"""`vidcv batch` with the local engine (vidcv/cli/batch.py, vidcv/batch/), run as users run it: the console
script over real clips, bad inputs among them, on a terminal, resumed, and stopped by Ctrl-C."""

import json
import os
import re
import shutil
import signal
import subprocess

import numpy as np
import pytest
from batch_helpers import (
    children,
    gone,
    ledger,
    open_files,
    partial_leftovers,
    run_on_terminal,
    sample_frames,
    wait_for,
    write_clip,
)

from media import read_all, run_cli, vidcv_cmd, write_video
from vidcv.batch.job import read_resume

pytestmark = pytest.mark.timeout(300)

KEYS = {
    "source": str,
    "out": str,
    "status": str,
    "frames": int,
    "fps": float,
    "error": (str, type(None)),
    "worker": str,
}


@pytest.fixture(scope="module")
def first_batch(tmp_path_factory):
    """Two good clips with one name in two folders, a corrupt file, a truncated video and a missing file
    (named in a list), batched with --save-video on a terminal; returns (root, run result, terminal output)."""
    root = tmp_path_factory.mktemp("first")
    videos = root / "videos"
    write_clip(str(videos / "a" / "clip.mp4"), sample_frames(40, 0))
    write_clip(str(videos / "b" / "clip.mp4"), sample_frames(40, 90))
    (videos / "b" / "bad.mp4").write_bytes(os.urandom(6000))
    cut = write_video(str(root / "cut.avi"), 60)
    with open(cut, "rb") as fh:
        data = fh.read()
    (videos / "a" / "cut.avi").write_bytes(data[: len(data) * 6 // 10])
    (root / "more.txt").write_text(f"{videos / 'c' / 'missing.mp4'}\n")
    cmd = [
        *vidcv_cmd(),
        "batch",
        str(videos / "a"),
        str(videos / "b"),
        f"@{root / 'more.txt'}",
        "-p",
        "shapes",
        "--out",
        str(root / "out"),
        "--workers",
        "2",
        "--save-video",
    ]
    code, stdout, shown = run_on_terminal(cmd, str(root / "stdout.txt"))
    return root, code, stdout, shown


def test_each_input_gets_its_folder_and_one_ledger_line_and_bad_ones_do_not_stop_the_others(first_batch):
    root, code, stdout, terminal = first_batch
    assert code == 1, terminal  # some inputs failed
    lines = ledger(root / "out")
    assert all(set(line) == set(KEYS) and all(isinstance(line[k], t) for k, t in KEYS.items()) for line in lines)
    by_out = {line["out"]: line for line in lines}
    assert sorted(by_out) == ["a/clip", "a/cut", "b/bad", "b/clip", "c/missing"]
    videos = root / "videos"
    for out, source in (("a/clip", "a/clip.mp4"), ("b/clip", "b/clip.mp4")):
        line = by_out[out]
        assert (line["source"], line["status"], line["frames"], line["error"]) == (str(videos / source), "ok", 40, None)
        assert line["fps"] > 0 and re.fullmatch(r".+:\d+", line["worker"])
        assert sorted(os.listdir(root / "out" / out)) == ["clip.mp4", "detections.jsonl", "stats.json"]
    bad = by_out["b/bad"]
    assert bad["status"] == "failed" and bad["frames"] == 0 and "as a video" in bad["error"]
    assert not (root / "out" / "b" / "bad").exists()
    missing = by_out["c/missing"]
    assert missing["status"] == "failed" and missing["error"].startswith("no such")
    cut = by_out["a/cut"]  # a truncated video: failed, and what came before the damage kept, as run keeps it
    assert (cut["status"], cut["frames"]) == ("failed", 36) and "truncated" in cut["error"]
    assert len((root / "out" / "a" / "cut" / "detections.jsonl").read_text().splitlines()) == 36
    assert partial_leftovers(root / "out") == []
    assert not (root / "out" / ".batch.lock").exists()  # the batch's own lock file goes with it
    # the summary, and on the terminal a bar over the inputs with the frames, and each failure named
    assert re.search(r"done\s+2\n\s+failed\s+3\n\s+skipped\s+0\n\s+frames\s+116\n", stdout), stdout
    assert (
        f"failed: {videos / 'b' / 'bad.mp4'}: " in terminal and f"failed: {videos / 'c' / 'missing.mp4'}: " in terminal
    )
    assert re.search(r"\d/5 inputs \[[^]]*frames=\d+, fps=[\d.]+", terminal), terminal
    assert "input/s" not in terminal and "frame/s" not in terminal  # one rate: the frames' fps


def test_an_input_gets_exactly_what_vidcv_run_writes_for_it_alone(first_batch, tmp_path):
    root = first_batch[0]
    clip = root / "videos" / "b" / "clip.mp4"
    res = run_cli(
        "run",
        str(clip),
        "-p",
        "shapes",
        "-o",
        str(tmp_path / "clip.mp4"),
        "--detections-jsonl",
        str(tmp_path / "d.jsonl"),
        "--stats-json",
        str(tmp_path / "s.json"),
        "-q",
    )
    assert res.returncode == 0, res.stderr
    out = root / "out" / "b" / "clip"
    assert (out / "detections.jsonl").read_bytes() == (tmp_path / "d.jsonl").read_bytes()
    ours, theirs = json.loads((out / "stats.json").read_text()), json.loads((tmp_path / "s.json").read_text())
    assert ours.keys() == theirs.keys() and ours["frames"] == theirs["frames"] == 40
    assert [(s["name"], s["frames_in"], s["errors"]) for s in ours["stages"]] == [
        (s["name"], s["frames_in"], s["errors"]) for s in theirs["stages"]
    ]
    ours_frames, theirs_frames = read_all(str(out / "clip.mp4")), read_all(str(tmp_path / "clip.mp4"))
    assert len(ours_frames) == len(theirs_frames) == 40
    assert all(np.array_equal(a, b) for a, b in zip(ours_frames, theirs_frames))


def test_running_again_skips_the_complete_inputs_and_redoes_the_rest(first_batch, tmp_path):
    root = first_batch[0]
    out = tmp_path / "out"
    shutil.copytree(root / "out", out)
    (root / "videos" / "c").mkdir(exist_ok=True)
    write_video(str(root / "videos" / "c" / "missing.mp4"), 20)  # the missing input is there now
    os.remove(out / "b" / "clip" / "clip.mp4")  # a complete-looking output that is not: checked, redone
    before = (out / "a" / "clip" / "detections.jsonl").stat().st_mtime_ns
    res = run_cli(
        "batch",
        str(root / "videos" / "a"),
        str(root / "videos" / "b"),
        f"@{root / 'more.txt'}",
        "-p",
        "shapes",
        "--out",
        str(out),
        "--workers",
        "2",
        "--save-video",
        timeout=240,
    )
    assert res.returncode == 1, res.stderr  # the corrupt and the truncated ones fail again
    by_out = {line["out"]: line for line in ledger(out)}
    assert len(ledger(out)) == 5  # one line per input, no duplicate
    assert {k: v["status"] for k, v in by_out.items()} == {
        "a/clip": "skipped",
        "b/clip": "ok",
        "c/missing": "ok",
        "b/bad": "failed",
        "a/cut": "failed",
    }
    assert by_out["a/clip"]["frames"] == 40 and by_out["c/missing"]["frames"] == 20
    assert (out / "a" / "clip" / "detections.jsonl").stat().st_mtime_ns == before  # not touched
    assert len(read_all(str(out / "b" / "clip" / "clip.mp4"))) == 40
    assert "is processed again: clip.mp4 is missing" in res.stderr
    assert re.search(r"done\s+2\n\s+failed\s+2\n\s+skipped\s+1\n", res.stdout), res.stdout


def test_a_changed_pipeline_processes_every_input_again(make_clips, tmp_path):
    clips = make_clips({"one.mp4": (0, 12), "two.mp4": (30, 12)})
    out = tmp_path / "out"
    assert run_cli("batch", *clips, "-p", "shapes", "--out", str(out), "-q").returncode == 0
    preset = tmp_path / "strict.yaml"
    preset.write_text("pipeline:\n  - plugin: yolo\n    params: {conf: 0.6}\n")
    res = run_cli("batch", *clips, "-p", str(preset), "--out", str(out), "-q")
    assert res.returncode == 0, res.stderr
    assert "the pipeline or --max-frames changed since the last batch" in res.stderr
    assert [line["status"] for line in ledger(out)] == ["ok", "ok"]
    res = run_cli("batch", *clips, "-p", str(preset), "--out", str(out), "-q")
    assert [line["status"] for line in ledger(out)] == ["skipped", "skipped"] and res.returncode == 0
    res = run_cli("batch", *clips, "-p", str(preset), "--out", str(out), "--max-frames", "5", "-q")
    assert res.returncode == 0, res.stderr
    assert [(line["status"], line["frames"]) for line in ledger(out)] == [("ok", 5), ("ok", 5)]
    assert len((out / "one" / "detections.jsonl").read_text().splitlines()) == 5
    res = run_cli("batch", *clips, "-p", "shapes", "--out", str(out), "--engine", "local", "--address", "h:1")
    assert res.returncode == 1 and res.stderr.strip() == (
        "vidcv: error: --address is a Ray cluster's, and --engine local runs here: drop one of them"
    )


def test_ctrl_c_stops_the_workers_cleanly_and_keeps_what_finished(make_clips, tmp_path):
    clips = make_clips({f"c{i}.mp4": (i * 30, 90) for i in range(4)})
    out = tmp_path / "out"
    cmd = [*vidcv_cmd(), "batch", *clips, "-p", "shapes", "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for(lambda: [p for p in partial_leftovers(out) if p.endswith(".partial")], "an input in progress")
    workers = children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted: " in stderr and "run the same command again to do the rest" in stderr
    assert "Traceback" not in stderr
    assert all(line["status"] == "ok" for line in ledger(out))
    # the inputs in progress keep their staging folders (a stateless pipeline: the next run resumes them), nothing else
    kept = partial_leftovers(out)
    assert all(
        read_resume(os.path.join(os.path.dirname(p), os.path.basename(p)[1 : -len(".partial")])) is not None
        for p in kept
    ), kept
    assert not (out / ".batch.lock").exists()  # interrupted: the lock file goes too
    wait_for(lambda: all(gone(pid) for pid in workers), "the workers to exit", limit_s=30)
    res = run_cli("batch", *clips, "-p", "shapes", "--out", str(out), "--workers", "2", timeout=240)
    assert res.returncode == 0, res.stderr
    assert sorted(line["out"] for line in ledger(out)) == ["c0", "c1", "c2", "c3"]
    assert all(line["frames"] == 90 for line in ledger(out))
    assert partial_leftovers(out) == []


def test_a_worker_that_dies_fails_its_input_alone(make_clips, tmp_path):
    clips = make_clips({f"c{i}.mp4": (i * 20, 60) for i in range(4)})
    out = tmp_path / "out"
    cmd = [*vidcv_cmd(), "batch", *clips, "-p", "shapes", "--out", str(out), "--workers", "2", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def worker_mid_input():  # a worker with an output of an input open, and that input's folder name
        for pid in children(proc.pid):
            for path in open_files(pid):
                if os.sep + ".c" in path and ".partial" in path:
                    return pid, path
        return None

    pid, path = wait_for(worker_mid_input, "a worker writing an input")
    victim = re.search(r"\.(c\d)\.partial", path).group(1)
    os.kill(pid, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 1, stderr
    by_out = {line["out"]: line for line in ledger(out)}
    assert sorted(by_out) == ["c0", "c1", "c2", "c3"]
    assert by_out[victim]["status"] == "failed"
    assert by_out[victim]["error"] == (
        "the worker process died while reading it (killed by SIGKILL); the other inputs went on"
    )
    assert all(line["status"] == "ok" and line["frames"] == 60 for k, line in by_out.items() if k != victim)
    assert partial_leftovers(out) == []


def test_a_batch_that_fails_before_writing_leaves_no_folder_it_made(make_clips, tmp_path):
    clips = make_clips({"c.mp4": (0, 5)})
    (tmp_path / "there").mkdir()
    for out in ("new/results", "there"):  # made by the batch: removed; there before: kept, empty as it was
        res = run_cli("batch", *clips, "-p", "nope", "--out", out, cwd=tmp_path)
        assert res.returncode == 1 and res.stderr.startswith("vidcv: error: no such preset file: nope"), res.stderr
        assert sorted(os.listdir(tmp_path)) == ["there", "videos"] and os.listdir(tmp_path / "there") == []
