"""`vidcv run` when its outputs cannot be written to the end: a file size limit (RLIMIT_FSIZE, any user) and a
full tmpfs (root). The run stops with one line naming the file and how much was written, exits non-zero,
keeps the whole lines of the detection log under its temporary name, and never renames it as if complete; a
--stats-json that fails too is said after the run's own error."""

import json
import os
import resource
import signal
import subprocess

import pytest

from media import full_tmpfs, run_cli, vidcv_cmd
from vidcv.bundled import sample_video
from vidcv.fileio import visible_partial_name


def limited_to(max_bytes: int):
    """A preexec_fn: no file written by the child may grow beyond ``max_bytes`` (a write past it fails with
    EFBIG, 'File too large', as a full disk fails with ENOSPC; SIGXFSZ, which would kill it, is ignored)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return apply


def kept_lines(log) -> list[dict]:
    """The whole lines kept under the log's temporary name; the file ends with a whole line."""
    text = open(visible_partial_name(str(log)), encoding="utf-8").read()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_detection_log_that_cannot_grow_names_its_file_and_is_not_renamed_as_complete(tmp_path, video_file):
    log = tmp_path / "d.jsonl"
    res = subprocess.run(
        [*vidcv_cmd(), "run", video_file, "--detections-jsonl", str(log), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited_to(1000),
    )
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    kept = kept_lines(log)
    size = os.path.getsize(visible_partial_name(str(log)))
    assert 0 < len(kept) < 60 and [line["frame"] for line in kept] == list(range(len(kept)))
    assert lines[0] == (
        f"vidcv: error: cannot write {log}: File too large; {len(kept)} frames ({size:,} bytes) "
        f"were logged and are kept in {visible_partial_name(str(log))}, not renamed to d.jsonl as the log "
        "is incomplete"
    )
    assert not log.exists()


def test_a_failing_stats_json_does_not_hide_the_runs_own_error(tmp_path, video_file):
    log, stats = tmp_path / "d.jsonl", tmp_path / "s.json"
    res = subprocess.run(
        [
            *vidcv_cmd(),
            "run",
            video_file,
            "-p",
            "edges",
            "--detections-jsonl",
            str(log),
            "--stats-json",
            str(stats),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited_to(400),
    )
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2, res.stderr
    assert lines[0].startswith(f"vidcv: error: cannot write {log}: File too large; {len(kept_lines(log))} frames")
    assert lines[1] == f"vidcv: error: cannot write {stats}: File too large (the run's statistics were not saved)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.partial.jsonl", "input.mp4"]  # no stats leftover


def test_without_a_limit_the_same_run_succeeds(tmp_path, video_file):
    log, stats = tmp_path / "d.jsonl", tmp_path / "s.json"
    res = run_cli("run", video_file, "-p", "edges", "--detections-jsonl", str(log), "--stats-json", str(stats), "-q")
    assert res.returncode == 0 and res.stderr == ""
    assert len(log.read_text().splitlines()) == 60 == json.loads(stats.read_text())["frames"]


@pytest.fixture
def full_disk():
    """A 3 MB tmpfs with one page left free (root and a mount command needed, as in CI's container)."""
    with full_tmpfs(1) as folder:
        yield folder


def test_a_full_disk_stops_the_run_with_each_file_named(full_disk):
    log, stats = os.path.join(full_disk, "d.jsonl"), os.path.join(full_disk, "s.json")
    res = run_cli("run", sample_video(), "-p", "edges", "--detections-jsonl", log, "--stats-json", stats, "-q")
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2, res.stderr
    kept = kept_lines(log)
    assert 0 < len(kept) < 300 and [line["frame"] for line in kept] == list(range(len(kept)))
    assert lines[0].startswith(f"vidcv: error: cannot write {log}: No space left on device; {len(kept)} frames (")
    assert (
        lines[1] == f"vidcv: error: cannot write {stats}: No space left on device (the run's statistics were not saved)"
    )
    assert sorted(os.listdir(full_disk)) == ["d.partial.jsonl", "filler"]
