"""Ctrl-C in `vidcv batch` keeps the inputs in progress when they can be resumed exactly (vidcv/batch/job.py,
driver.py, cli/batch.py): a real batch process, a real SIGINT once its detection logs have lines, then the
same command again. A stateless pipeline's interrupted input continues from the frame after its last logged
line and ends with the log an uninterrupted batch writes, byte for byte; a stateful one restarts from frame 0
and says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
from batch_helpers import gone, ledger, partial_leftovers, sample_frames, wait_for, write_clip

from media import BLOBS, run_cli, vidcv_cmd
from vidcv.batch.job import InputJob, read_resume, run_job, staging_dir
from vidcv.batch.ledger import incomplete_reason
from vidcv.presets import parse_preset

pytestmark = pytest.mark.timeout(600)

FRAMES = 600  #: per clip: long enough that the stop lands in the middle of the inputs in progress
TRACKED = """pipeline:
  - plugin: in_range
    params: {space: hsv, lower: [0, 120, 90], upper: [179, 255, 255]}
  - plugin: contours
    params: {min_area: 100, draw: none}
  - plugin: track
"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[str]:
    """Three clips of the sample's moving shapes, each the sample twice over (600 frames)."""
    root = tmp_path_factory.mktemp("resume")
    frames = sample_frames(300)
    return [write_clip(str(root / "videos" / f"c{i}.mp4"), (frames[i * 40 :] + frames[: i * 40]) * 2) for i in range(3)]


def logs_in_progress(out) -> list[str]:
    """The detection logs being written under OUT (in the inputs' staging folders), with at least one line."""
    found = []
    for folder, _, files in os.walk(str(out)):
        for name in files:
            path = os.path.join(folder, name)
            if name == "detections.partial.jsonl" and os.path.getsize(path) > 0:
                found.append(path)
    return found


def logged(out_dir: str) -> bool:
    """Whether the log the job writes into ``out_dir``'s staging folder has lines (a stop then lands mid-way)."""
    path = os.path.join(staging_dir(out_dir), "detections.partial.jsonl")
    return os.path.isfile(path) and os.path.getsize(path) > 0


def interrupt(cmd: list[str], out) -> str:
    """Start ``cmd``, send SIGINT (the whole group, as a terminal's Ctrl-C) once a detection log has lines;
    returns its stderr after checking that it ended as interrupted."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for(lambda: proc.poll() is not None or logs_in_progress(out), "a detection log with lines")
    assert proc.poll() is None, "the batch ended before the stop: make the clips longer"
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    wait_for(lambda: gone(proc.pid), "the batch to exit", limit_s=30)
    return stdout + stderr


def test_an_interrupted_input_resumes_where_it_stopped_and_ends_byte_equal(clips, tmp_path):
    preset = tmp_path / "blobs.yaml"
    preset.write_text(BLOBS)
    reference = tmp_path / "reference"
    res = run_cli("batch", *clips, "-p", str(preset), "--out", str(reference), "-q", timeout=300)
    assert res.returncode == 0, res.stderr

    out = tmp_path / "out"
    cmd = [*vidcv_cmd(), "batch", *clips, "-p", str(preset), "--out", str(out), "--workers", "2"]
    said = interrupt(cmd, out)
    kept = {name: read_resume(str(out / name)) for name in ("c0", "c1", "c2")}
    kept = {name: r for name, r in kept.items() if r is not None}
    assert kept, f"no input kept for resuming: {said}"
    for name, resume in kept.items():
        assert 0 < resume.frames < FRAMES and resume.next_frame == resume.frames
        assert f"{name}.mp4: {resume.frames} frames kept, resumes at frame {resume.next_frame} on the next run" in said
    total = sum(r.frames for r in kept.values())
    assert f"{len(kept)} interrupted: {total} frames kept, the next run resumes" in said, said
    assert "run the same command again to do the rest" in said

    res = run_cli("batch", *clips, "-p", str(preset), "--out", str(out), "--workers", "2", timeout=300)
    assert res.returncode == 0, res.stderr
    by_out = {line["out"]: line for line in ledger(out)}
    assert sorted(by_out) == ["c0", "c1", "c2"]
    for name in ("c0", "c1", "c2"):
        assert (out / name / "detections.jsonl").read_bytes() == (reference / name / "detections.jsonl").read_bytes()
        assert incomplete_reason(str(out / name), None) is None
        stats = json.loads((out / name / "stats.json").read_text())
        assert stats["frames"] == by_out[name]["frames"] == FRAMES
        if name in kept:  # the second run did the rest only, and says so
            resume = kept[name]
            assert f"c{name[1]}.mp4 resumes at frame {resume.next_frame}" in res.stderr
            assert by_out[name]["resumed_at"] == stats["resumed_at"] == resume.frames
            assert stats["frames_read"] == FRAMES and FRAMES - stats["resumed_at"] < FRAMES
        else:
            assert "resumed_at" not in by_out[name] and "resumed_at" not in stats
    assert partial_leftovers(out) == []


def test_a_stateful_pipeline_restarts_its_interrupted_inputs_and_says_so(clips, tmp_path):
    preset = tmp_path / "tracked.yaml"
    preset.write_text(TRACKED)
    out = tmp_path / "out"
    cmd = [*vidcv_cmd(), "batch", *clips[:2], "-p", str(preset), "--out", str(out), "--workers", "2"]
    said = interrupt(cmd, out)
    assert "restarts from frame 0 on the next run: its pipeline keeps state from frame to frame (track)" in said
    assert "the next run restarts them from frame 0" in said or "the next run restarts it from frame 0" in said
    assert partial_leftovers(out) == []  # nothing kept
    res = run_cli("batch", *clips[:2], "-p", str(preset), "--out", str(out), "--workers", "2", timeout=300)
    assert res.returncode == 0, res.stderr
    assert all(line["frames"] == FRAMES and "resumed_at" not in line for line in ledger(out))


def test_a_kept_input_restarts_when_the_pipeline_changed(clips, tmp_path):
    """What a stop kept is continued only by the same pipeline: another one starts it from frame 0 (and says
    so), and the kept folder goes."""
    preset = tmp_path / "blobs.yaml"
    preset.write_text(BLOBS)
    out = tmp_path / "out"
    job = InputJob(0, clips[0], "c0", str(out / "c0"))
    result = run_job(job, parse_preset(BLOBS), threads=1, should_stop=lambda: logged(job.out_dir))
    assert result.status == "interrupted" and 0 < result.kept < FRAMES, result
    assert read_resume(str(out / "c0")) is not None
    (out / ".batch-config.json").write_text("{}")  # another pipeline's batch
    res = run_cli("batch", clips[0], "-p", str(preset), "--out", str(out), "-q", timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"restarts from frame 0 (the batch that was stopped kept {result.kept} frames)" in res.stderr
    assert "resumed_at" not in ledger(out)[0] and not os.path.exists(staging_dir(str(out / "c0")))


def test_a_job_resumed_twice_appends_to_its_log(clips, tmp_path):
    """run_job in-process: stopped, resumed and stopped again, then finished: one log, equal to one run's."""
    whole = run_job(InputJob(0, clips[1], "w", str(tmp_path / "whole")), parse_preset(BLOBS), threads=1)
    assert whole.status == "ok" and whole.frames == FRAMES
    out_dir = str(tmp_path / "out" / "c1")
    resume_at = resume_frame = 0
    for _ in range(2):
        job = InputJob(0, clips[1], "c1", out_dir, resume_at=resume_at, resume_frame=resume_frame)
        result = run_job(job, parse_preset(BLOBS), threads=1, should_stop=lambda: logged(out_dir))
        assert result.status == "interrupted" and result.kept > resume_at, result
        assert result.resumed_at == resume_at
        resume = read_resume(out_dir)
        assert resume is not None and (resume.frames, resume.next_frame) == (result.kept, result.resume_frame)
        resume_at, resume_frame = resume.frames, resume.next_frame
    job = InputJob(0, clips[1], "c1", out_dir, resume_at=resume_at, resume_frame=resume_frame)
    result = run_job(job, parse_preset(BLOBS), threads=1)
    assert (result.status, result.frames, result.resumed_at) == ("ok", FRAMES, resume_at)
    with (
        open(os.path.join(out_dir, "detections.jsonl"), "rb") as fh,
        open(tmp_path / "whole" / "detections.jsonl", "rb") as ref,
    ):
        assert fh.read() == ref.read()
    assert partial_leftovers(tmp_path) == []
