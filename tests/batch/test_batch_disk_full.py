"""`vidcv batch` on a disk that fills up (a real tmpfs, root): the ledger keeps what each input did."""

import json
import os

import pytest

from media import full_tmpfs, run_cli, write_video

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return write_video(str(folder / "a10.mp4"), 10), write_video(str(folder / "c300.mp4"), 300)


def test_an_input_whose_statistics_did_not_fit_keeps_its_frame_count_in_the_ledger(clips):
    """The disk fills while an input is written: the ledger says how many frames it processed (it said 0 when
    stats.json failed after 300 frames) and which write failed first. The free space that makes exactly
    stats.json fail depends on the page sizes of the files before it, so a few sizes are tried."""
    seen = []
    for free_pages in range(5, 12):
        with full_tmpfs(free_pages) as disk:
            res = run_cli("batch", *clips, "-p", "edges", "--out", os.path.join(disk, "OUT"), "--workers", "1", "-q")
            assert "Traceback" not in res.stderr, res.stderr
            records = [json.loads(line) for line in open(os.path.join(disk, "OUT", "batch.jsonl"))]
        last = records[-1]
        seen.append((last["status"], last["frames"], (last["error"] or "").rsplit("/", 1)[-1]))
        if last["status"] == "failed":
            assert last["frames"] > 0, seen
            assert "No space left on device" in last["error"]
            assert last["error"] in res.stderr
    # the case: all 300 frames processed and logged, then only stats.json failed
    assert ("failed", 300, "stats.json: No space left on device") in seen, seen
    assert ("ok", 300, "") in seen, seen  # and with room enough the same batch succeeds
