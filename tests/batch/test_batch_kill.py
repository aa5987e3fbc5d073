"""A batch killed with SIGKILL at any moment and run again ends with every input done once, one ledger line
each, and no half-written file (vidcv/batch/driver.py, job.py, ledger.py, local.py): real kills of the
`vidcv batch` process, its workers left to die with it."""

import json
import os
import signal
import subprocess
import time

import pytest
from batch_helpers import children, gone, ledger, partial_leftovers, wait_for

from media import vidcv_cmd
from vidcv.batch.ledger import incomplete_reason

pytestmark = pytest.mark.timeout(600)

CLIPS = 6
FRAMES = 45


def final_folders(out) -> list[str]:
    """Output folders under their final names (not hidden, holding files)."""
    found = []
    for folder, dirs, files in os.walk(str(out)):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if folder != str(out) and files:
            found.append(folder)
    return found


def staging_since(out, since_ns: int) -> bool:
    """Whether an input's staging folder was made after ``since_ns`` (by this run: a killed run leaves its own)."""
    for path in partial_leftovers(out):
        try:
            if path.endswith(".partial") and os.path.isdir(path) and os.stat(path).st_mtime_ns >= since_ns:
                return True
        except OSError:
            continue
    return False


def lines_now(out) -> int:
    try:
        with open(os.path.join(str(out), "batch.jsonl"), encoding="utf-8") as fh:
            return fh.read().count("\n")
    except OSError:
        return 0


def test_killed_at_any_moment_and_run_again_every_input_is_done_once(make_clips, tmp_path):
    clips = make_clips({f"c{i}.mp4": (i * 25, FRAMES) for i in range(CLIPS)})
    out = tmp_path / "out"
    cmd = [*vidcv_cmd(), "batch", *clips, "-p", "shapes", "--out", str(out), "--workers", "2", "-q"]
    kills = 0
    for round_ in range(CLIPS + 2):
        started_ns = time.time_ns()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # kill when this run writes an input and `round_` lines are in the ledger: mid-input, then after one,
        # two, ... inputs (each run resumes the one killed before it)
        ready = wait_for(
            lambda p=proc, n=round_, t=started_ns: (
                p.poll() is not None or (staging_since(out, t) and lines_now(out) >= n)
            ),
            "an input in progress",
        )
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read()
            break
        workers = children(proc.pid)
        proc.send_signal(signal.SIGKILL)  # the driver alone: its workers must not outlive it
        proc.wait(30)
        proc.stderr.close()
        kills += 1
        assert ready and workers
        wait_for(lambda w=workers: all(gone(pid) for pid in w), "the workers to die with the driver", limit_s=30)
        # nothing half-written under a final name: every output folder there is complete
        assert all(incomplete_reason(folder, None) is None for folder in final_folders(out))
    else:
        pytest.fail("the batch never finished")
    assert kills >= 3  # it was killed mid-input, and again after one and two inputs were done
    lines = ledger(out)
    assert sorted(line["out"] for line in lines) == [f"c{i}" for i in range(CLIPS)]  # each once
    assert {line["status"] for line in lines} <= {"ok", "skipped"}
    assert partial_leftovers(out) == []
    for i in range(CLIPS):
        folder = out / f"c{i}"
        assert incomplete_reason(str(folder), None) is None
        frames = [json.loads(line)["frame"] for line in (folder / "detections.jsonl").read_text().splitlines()]
        assert frames == list(range(FRAMES))  # every frame once, in order
