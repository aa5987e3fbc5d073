"""`vidcv run` as users run it: outputs checked before the run, what --max-frames counts, stage errors in
one line each and a summary (vidcv/cli/run.py)."""

import os

import pytest

from media import run_cli
from vidcv.bundled import sample_video

needs_sysfs = pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux sysfs")


@needs_sysfs
@pytest.mark.parametrize("flag, target", [("-o", "/sys/out.mp4"), ("-o", "/sys/frames/"),
                                          ("--stats-json", "/sys/stats.json"),
                                          ("--detections-jsonl", "/sys/dets.jsonl")])
def test_an_output_that_cannot_be_written_stops_the_run_before_it_starts(tmp_path, flag, target):
    # the other outputs could be written: none of them is (not even a partial file), no frame is read
    others = {"-o": str(tmp_path / "out.mp4"), "--stats-json": str(tmp_path / "stats.json"),
              "--detections-jsonl": str(tmp_path / "dets.jsonl")}
    others[flag] = target
    res = run_cli("run", sample_video(), "-p", "edges", *[x for pair in others.items() for x in pair])
    assert res.returncode == 1
    assert res.stdout == ""  # no timing table, no "wrote 0 frames": the run never started
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(("vidcv: error: cannot write /sys/", "vidcv: error: cannot create the output folder"))
    assert os.listdir(tmp_path) == []


def test_a_folder_given_as_stats_file_is_refused_before_the_run(tmp_path):
    res = run_cli("run", sample_video(), "-p", "edges", "--stats-json", str(tmp_path))
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr == f"vidcv: error: cannot write {tmp_path}: it is a folder (give a file name)\n"
