"""The batch ledger, the completeness check that resume trusts, the folder lock, and one input's job
(vidcv/batch/ledger.py, vidcv/batch/job.py, vidcv/jobs/bundle.py)."""

import json
import os
import pathlib
import subprocess
import sys

import cv2
import pytest
from batch_helpers import partial_leftovers

from media import write_video
from vidcv.batch.job import InputJob, run_job, staging_dir
from vidcv.batch.ledger import (
    LOCK_NAME,
    BatchLock,
    InputRecord,
    Ledger,
    incomplete_reason,
    read_ledger,
)
from vidcv.errors import VidcvError
from vidcv.jobs.bundle import PipelineBundle
from vidcv.jobs.processes import apply_thread_budget, thread_share
from vidcv.presets import load_preset, parse_preset


def record(out: str, status: str = "ok", frames: int = 10) -> InputRecord:
    return InputRecord(f"/videos/{out}.mp4", out, status, frames, 25.0, None if status != "failed" else "bad", "host:1")


def test_the_ledger_keeps_one_whole_line_per_record_and_drops_a_line_cut_by_a_kill(tmp_path):
    ledger = Ledger(str(tmp_path))
    ledger.start([record("a"), record("b", "skipped")])
    ledger.append(record("c", "failed", 0))
    ledger.close()
    lines = (tmp_path / "batch.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines][2] == {
        "source": "/videos/c.mp4",
        "out": "c",
        "status": "failed",
        "frames": 0,
        "fps": 25.0,
        "error": "bad",
        "worker": "host:1",
    }
    with open(tmp_path / "batch.jsonl", "a") as fh:
        fh.write('{"source": "/videos/d.mp4", "out": "d", "sta')  # SIGKILL in the middle of a write
    assert [r.out for r in read_ledger(str(tmp_path))] == ["a", "b", "c"]
    ledger = Ledger(str(tmp_path))
    ledger.start(read_ledger(str(tmp_path))[:1])  # a new run rewrites it whole
    ledger.close()
    assert (tmp_path / "batch.jsonl").read_text() == record("a").to_line()
    assert partial_leftovers(tmp_path) == []


def complete_folder(folder, frames: int = 3) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "stats.json"), "w") as fh:
        json.dump({"frames": frames}, fh)
    with open(os.path.join(folder, "detections.jsonl"), "w") as fh:
        fh.writelines(json.dumps({"frame": i, "detections": []}) + "\n" for i in range(frames))


def test_an_output_folder_is_complete_only_when_its_files_agree(tmp_path):
    folder = str(tmp_path / "clip")
    assert incomplete_reason(folder, None) == "stats.json is missing"
    complete_folder(folder)
    assert incomplete_reason(folder, None) is None
    with open(os.path.join(folder, "detections.jsonl"), "a") as fh:
        fh.write('{"frame": 3')
    assert incomplete_reason(folder, None) == "detections.jsonl ends in a line cut short"
    complete_folder(folder, frames=2)
    (tmp_path / "clip" / "stats.json").write_text('{"frames": 3}')
    assert incomplete_reason(folder, None) == "detections.jsonl has 2 lines for 3 frames"
    complete_folder(folder)
    (tmp_path / "clip" / "stats.json").write_text('{"frames": 3')
    assert incomplete_reason(folder, None) == "stats.json is unreadable"
    complete_folder(folder, frames=12)
    assert incomplete_reason(folder, "clip.mp4") == "clip.mp4 is missing"
    write_video(os.path.join(folder, "clip.mp4"), 11)
    assert incomplete_reason(folder, "clip.mp4") == "clip.mp4 holds 11 frames, not 12"
    write_video(os.path.join(folder, "clip.mp4"), 12)
    assert incomplete_reason(folder, "clip.mp4") is None


def test_one_batch_at_a_time_writes_into_a_folder(tmp_path):
    refused = pytest.raises(
        VidcvError, match="another vidcv batch is writing into .*; wait for it to end, or choose another --out"
    )
    with BatchLock(str(tmp_path)), refused, BatchLock(str(tmp_path)):
        pass
    with BatchLock(str(tmp_path)):  # released
        pass


def test_a_batch_removes_its_lock_file_when_it_ends_however_it_ends(tmp_path):
    lock = tmp_path / LOCK_NAME
    with BatchLock(str(tmp_path)):
        assert lock.exists()
    assert not lock.exists()
    for ending in (VidcvError("the pipeline failed"), KeyboardInterrupt()):
        with pytest.raises(type(ending)), BatchLock(str(tmp_path)):
            raise ending
        assert not lock.exists()
    lock.write_text("")  # left by a batch killed outright (SIGKILL): locked again, then removed
    with BatchLock(str(tmp_path)):
        pass
    assert os.listdir(tmp_path) == []
    with pytest.raises(VidcvError), BatchLock(str(tmp_path)), BatchLock(str(tmp_path)):
        pass  # the refused one leaves the holder's file alone; the holder removes it
    assert os.listdir(tmp_path) == []


# each process takes the lock ROUNDS times (a refusal is retried) and, holding it, marks the folder as taken
# and adds one to a counter: a mark already there, or a lost addition, is two batches holding the lock at once
HOLDER = """
import os, sys, time
from vidcv.batch.ledger import BatchLock
from vidcv.errors import VidcvError
out, rounds = sys.argv[1], int(sys.argv[2])
mark, counter = os.path.join(out, "held-by"), os.path.join(out, "counter")
done = 0
while done < rounds:
    try:
        with BatchLock(out):
            fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL)  # FileExistsError: two holders
            with open(counter) as fh:
                n = int(fh.read())
            time.sleep(0.001)
            with open(counter, "w") as fh:
                fh.write(str(n + 1))
            os.close(fd)
            os.remove(mark)
        done += 1
    except VidcvError:
        time.sleep(0.0005)
"""


def test_batches_in_several_processes_never_hold_the_lock_at_once(tmp_path):
    """Each ending batch removes the lock file while a concurrent one may have it open: the one that then
    locks the removed file sees so and locks the file anew, so that mutual exclusion holds."""
    (tmp_path / "counter").write_text("0")
    processes, rounds = 4, 40
    procs = [
        subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), str(rounds)], stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * processes, errors
    assert (tmp_path / "counter").read_text() == str(processes * rounds)
    assert sorted(os.listdir(tmp_path)) == ["counter"]  # no lock file left by the last one


def test_a_job_writes_its_folder_whole_and_a_stopped_one_leaves_nothing(tmp_path, video_file):
    pipeline = parse_preset("pipeline:\n  - plugin: blur\n")
    out_dir = str(tmp_path / "out" / "clip")
    job = InputJob(0, video_file, "clip", out_dir, "clip.mp4", None)
    seen: list[int] = []
    result = run_job(job, pipeline, on_frames=seen.append)
    assert (result.status, result.frames, result.error) == ("ok", 60, None)
    assert sorted(os.listdir(out_dir)) == ["clip.mp4", "detections.jsonl", "stats.json"]
    assert incomplete_reason(out_dir, "clip.mp4") is None and partial_leftovers(tmp_path) == []
    assert seen == sorted(seen) and all(0 <= n <= 60 for n in seen)

    result = run_job(job, parse_preset("pipeline:\n  - plugin: blur\n"), should_stop=lambda: True)
    assert result.status == "interrupted"
    assert not os.path.exists(staging_dir(out_dir)) and partial_leftovers(tmp_path) == []
    assert incomplete_reason(out_dir, "clip.mp4") is None  # the earlier complete folder is untouched


def test_a_bad_input_is_a_failed_result_not_an_exception(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(os.urandom(4000))
    out_dir = str(tmp_path / "out" / "bad")
    result = run_job(InputJob(3, str(bad), "bad", out_dir), parse_preset("pipeline: []\n"))
    assert result.status == "failed" and result.index == 3 and result.frames == 0
    assert result.error.startswith(f"cannot read {bad} as a video")
    assert not os.path.exists(tmp_path / "out" / "bad") and partial_leftovers(tmp_path) == []


def test_workers_share_the_cores_and_their_sessions_use_their_share():
    from vidcv.bundled import bundled_models
    from vidcv.inference.providers import set_default_threads
    from vidcv.inference.yolo import YoloModel

    assert thread_share(2, cores=2) == 1 and thread_share(4, cores=16) == 4 and thread_share(8, cores=2) == 1
    before = cv2.getNumThreads()
    try:
        apply_thread_budget(1)
        assert cv2.getNumThreads() == 1
        model = YoloModel(bundled_models()["shapes_yolov8n"], "cpu", warmup=False)
        assert model.session.get_session_options().intra_op_num_threads == 1
    finally:
        cv2.setNumThreads(before)
        set_default_threads(None)


def shipped_yolo(tmp_path, name: str, params: str = "") -> tuple[PipelineBundle, pathlib.Path]:
    """A bundle shipping a copy of the demo model, named ``name``, that its yolo stage names; and that copy."""
    from vidcv.bundled import bundled_models

    model = tmp_path / name
    with open(bundled_models()["shapes_yolov8n"], "rb") as fh:
        model.write_bytes(fh.read())
    preset = tmp_path / "p.yaml"
    preset.write_text(f"pipeline:\n  - plugin: yolo\n    params: {{model: '{model}'{params}}}\n")
    return PipelineBundle.from_pipeline(load_preset(str(preset)), ship_files=True), model


def test_a_bundle_ships_the_files_its_pipeline_names_and_rebuilds_it_elsewhere(tmp_path):
    bundle, model = shipped_yolo(tmp_path, "my model.onnx", ", conf: 0.4")
    assert list(bundle.files) == [str(model)] and bundle.files[str(model)] == model.read_bytes()
    model.unlink()  # the worker's machine does not have it
    rebuilt = bundle.build(cache_dir=str(tmp_path / "cache"))
    local = rebuilt.stages[0].plugin.values()["model"]
    assert local.startswith(str(tmp_path / "cache")) and local.endswith("my model.onnx")
    assert rebuilt.stages[0].plugin.values()["conf"] == 0.4
    assert list(PipelineBundle.from_pipeline(rebuilt).digests.values()) == list(bundle.digests.values())


def test_a_shipped_model_planted_in_the_cache_is_never_used(tmp_path):
    """Another user of the worker's machine plants a model (or a link to one) at the cache path a shipped file
    will take: the bundle writes its own bytes there (the digest decides), and a cache folder that is a link or
    another user's is refused."""
    from vidcv.errors import OutputError

    bundle, model = shipped_yolo(tmp_path, "m.onnx")
    digest = bundle.digests[str(model)]
    cache = tmp_path / "cache"
    (cache / digest).mkdir(parents=True)
    planted = model.read_bytes()[:-1] + b"\0"  # a model of another content under the same name
    (cache / digest / "m.onnx").write_bytes(planted)
    local = bundle.build(cache_dir=str(cache)).stages[0].plugin.values()["model"]
    assert open(local, "rb").read() == model.read_bytes()
    victim = tmp_path / "victim.onnx"
    victim.write_bytes(planted)
    os.remove(local)
    os.symlink(victim, local)  # a link there: replaced, its target untouched
    local = bundle.build(cache_dir=str(cache)).stages[0].plugin.values()["model"]
    assert not os.path.islink(local) and open(local, "rb").read() == model.read_bytes()
    assert victim.read_bytes() == planted
    os.symlink(cache, tmp_path / "linked")
    with pytest.raises(OutputError, match="not a folder of this user's"):
        bundle.build(cache_dir=str(tmp_path / "linked"))
