"""`vidcv run` gaps a new user hits (issue 15, item 18): one image in and one image out, a did-you-mean for a
mistyped preset, and the temporary file that a run killed by SIGKILL leaves, removed by the next run of the
same output (vidcv/cli/run.py, vidcv/fileio.py, vidcv/sinks/video.py)."""

import os
import signal
import subprocess
import time

import cv2
import numpy as np
import pytest

from media import encode_index, read_all, run_cli, vidcv_cmd, write_video
from vidcv.errors import OutputError
from vidcv.frame import Frame
from vidcv.sinks.video import ImageFileSink, make_output_sink

pytestmark = pytest.mark.timeout(300)


def test_one_image_in_one_image_out(tmp_path):
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), encode_index(5, 320, 240))
    res = run_cli("run", str(photo), "-p", "edges", "-o", str(tmp_path / "out.png"))
    assert res.returncode == 0, res.stderr
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (240, 320) and set(np.unique(out)) <= {0, 255} and out.any()  # the edge map, gray
    assert sorted(os.listdir(tmp_path)) == ["out.png", "photo.jpg"]  # no temporary file left


def test_one_frame_of_a_video_to_one_image_and_more_frames_refused(tmp_path):
    clip = write_video(str(tmp_path / "clip.mp4"), 12)
    res = run_cli("run", clip, "--max-frames", "1", "-o", str(tmp_path / "first.png"), "-q")
    assert res.returncode == 0, res.stderr
    assert cv2.imread(str(tmp_path / "first.png")).shape == (240, 320, 3)
    res = run_cli("run", clip, "-o", str(tmp_path / "all.png"), "-q")
    assert res.returncode == 1 and not (tmp_path / "all.png").exists()
    assert res.stderr.strip() == (
        f"vidcv: error: output '{tmp_path / 'all.png'}' is a single image name; for an "
        f"image sequence give a pattern such as {tmp_path / 'all'}_%05d.png or a folder "
        "(one image name takes a source of one frame, or --max-frames 1)"
    )


def test_the_one_image_sink_refuses_a_second_frame(tmp_path):
    sink = make_output_sink(str(tmp_path / "one.jpg"), 30, single_frame=True)
    assert isinstance(sink, ImageFileSink)
    sink.write(Frame(encode_index(1), 1, 0.0))
    with pytest.raises(OutputError, match="holds one image, and a second frame came"):
        sink.write(Frame(encode_index(2), 2, 0.0))
    sink.close()
    assert sorted(os.listdir(tmp_path)) == ["one.jpg"]


def test_a_mistyped_preset_gets_a_did_you_mean(tmp_path):
    res = run_cli("run", "pattern:", "-p", "edgse", "--max-frames", "2")
    assert res.returncode == 1
    assert res.stderr.startswith("vidcv: error: no such preset file: edgse; did you mean 'edges'? (bundled presets: ")
    (tmp_path / "my_pipeline.yaml").write_text("pipeline:\n  - plugin: blur\n")
    res = run_cli("run", "pattern:", "-p", "my_pipline.yaml", "--max-frames", "2", cwd=tmp_path)
    assert "did you mean 'my_pipeline.yaml'?" in res.stderr


def wait_until(condition, proc: subprocess.Popen, what: str, limit_s: float = 60) -> None:
    """Wait for ``condition`` while ``proc`` runs (a deadline against a hang, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert proc.poll() is None, f"vidcv run ended before {what}: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"no {what} within {limit_s} s"
        time.sleep(0.05)


def test_the_file_a_sigkill_leaves_is_removed_by_the_next_run_of_that_output(tmp_path):
    """Killed before its first whole fragment: x.partial.mp4 (beside x.mp4, not hidden) holds nothing that
    plays; a run into the same folder names it, the next run of x.mp4 removes it."""
    out, partial = tmp_path / "x.mp4", tmp_path / "x.partial.mp4"
    proc = subprocess.Popen(
        [*vidcv_cmd(), "run", "pattern:160x120@30", "-o", str(out), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(partial.exists, proc, "the video's temporary file")
        proc.send_signal(signal.SIGKILL)  # no handler runs: nothing renames or removes the file
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert partial.exists() and not out.exists()
    # a run of another output leaves it alone, and names it (it is in the folder that run writes into)
    res = run_cli("run", "pattern:160x120", "--max-frames", "2", "-o", str(tmp_path / "y.mp4"), "-q")
    assert res.returncode == 0 and partial.exists()
    assert (
        res.stderr.startswith(f"vidcv: WARNING: a recording cut short is in {partial} (")
        and res.stderr.count("\n") == 1
    ), res.stderr
    # the next run of x.mp4 removes it, and says so; its own output is complete
    res = run_cli("run", "pattern:160x120", "--max-frames", "3", "-o", str(out), "-q")
    assert res.returncode == 0, res.stderr
    assert (
        res.stderr == f"vidcv: WARNING: removed {partial}, left by an earlier run that was killed before it finished\n"
    )
    assert len(read_all(str(out))) == 3
    assert sorted(os.listdir(tmp_path)) == ["x.mp4", "y.mp4"]


@pytest.mark.parametrize("name", ["x.partial.mp4", ".x.partial.mp4"])  # and what vidcvs before this one left
def test_a_run_that_cannot_start_still_removes_the_leftover(tmp_path, name):
    partial = tmp_path / name
    partial.write_bytes(b"\0" * 44)  # the header a killed mp4 write leaves
    (tmp_path / "broken.mp4").write_text("not a video")
    res = run_cli("run", str(tmp_path / "broken.mp4"), "-o", str(tmp_path / "x.mp4"), "-q")
    assert res.returncode == 1 and f"removed {partial}" in res.stderr
    assert sorted(os.listdir(tmp_path)) == ["broken.mp4"]
