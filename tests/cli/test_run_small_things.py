"""`vidcv run` small things a new user hit (issue 24 item 9): a run that fails before writing anything leaves
no folder it made (vidcv/cli/run.py, vidcv/batch/single.py, vidcv/fileio.py)."""

import os

import pytest

from media import run_cli

pytestmark = pytest.mark.timeout(300)


def test_a_run_that_fails_before_writing_leaves_no_folder_it_made(tmp_path):
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "existing").mkdir()
    (tmp_path / "kept").mkdir()  # an empty folder that was there: never removed
    res = run_cli("run", "emptydir/", "-o", "o4/", cwd=tmp_path)  # relative names, as the user typed them
    assert res.returncode == 1 and res.stderr.startswith("vidcv: error: no images found in emptydir/"), res.stderr
    assert sorted(os.listdir(tmp_path)) == ["emptydir", "existing", "kept"]
    for outputs in (
        ["-o", "a/b/c.mp4", "--stats-json", "s/t/stats.json", "--detections-jsonl", "d/dets.jsonl"],
        ["-o", "p/q/f_%05d.png"],
        ["-o", "existing/new/deeper/"],  # the folders made inside one that was there
        ["-o", "kept/", "--stats-json", "kept/stats.json"],
    ):
        res = run_cli("run", "emptydir/", *outputs, cwd=tmp_path)
        assert res.returncode == 1, res.stderr
        assert len(res.stderr.splitlines()) == 1, res.stderr
        assert sorted(os.listdir(tmp_path)) == ["emptydir", "existing", "kept"], outputs
    assert os.listdir(tmp_path / "existing") == [] and os.listdir(tmp_path / "kept") == []


def test_a_run_that_wrote_keeps_the_folders_it_made(tmp_path):
    res = run_cli(
        "run",
        "pattern:64x48@30",
        "--max-frames",
        "2",
        "-q",
        "-o",
        "frames/",
        "--stats-json",
        "st/a/stats.json",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(tmp_path / "frames")) == ["frame_000000.png", "frame_000001.png"]
    assert os.listdir(tmp_path / "st" / "a") == ["stats.json"]
