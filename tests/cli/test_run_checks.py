"""`vidcv run` as users run it: outputs checked before the run, what --max-frames counts, stage errors in
one line each and a summary, a refused stream (vidcv/cli/run.py)."""

import json
import os
import socket
import subprocess
import sys

import pytest

from media import read_all, run_cli
from vidcv.bundled import sample_video

needs_sysfs = pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux sysfs")


@needs_sysfs
@pytest.mark.parametrize(
    "flag, target",
    [
        ("-o", "/sys/out.mp4"),
        ("-o", "/sys/frames/"),
        ("--stats-json", "/sys/stats.json"),
        ("--detections-jsonl", "/sys/dets.jsonl"),
    ],
)
def test_an_output_that_cannot_be_written_stops_the_run_before_it_starts(tmp_path, flag, target):
    # the other outputs could be written: none of them is (not even a partial file), no frame is read
    others = {
        "-o": str(tmp_path / "out.mp4"),
        "--stats-json": str(tmp_path / "stats.json"),
        "--detections-jsonl": str(tmp_path / "dets.jsonl"),
    }
    others[flag] = target
    res = run_cli("run", sample_video(), "-p", "edges", *[x for pair in others.items() for x in pair])
    assert res.returncode == 1
    assert res.stdout == ""  # no timing table, no "wrote 0 frames": the run never started
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("vidcv: error: cannot write to /sys") and lines[0].endswith(
        ": it is read-only (permission denied): choose another output path"
    )
    assert os.listdir(tmp_path) == []


def test_a_folder_given_as_stats_file_is_refused_before_the_run(tmp_path):
    res = run_cli("run", sample_video(), "-p", "edges", "--stats-json", str(tmp_path))
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr == f"vidcv: error: cannot write {tmp_path}: it is a folder (give a file name)\n"


@pytest.mark.parametrize("how", ["the same name", "a link to it read", "another hard link read"])
@pytest.mark.parametrize("flag", ["--output", "--detections-jsonl", "--stats-json"])
def test_an_output_that_is_the_input_by_any_name_is_refused_and_the_video_kept(tmp_path, how, flag):
    from media import write_video

    video = write_video(str(tmp_path / "in.mp4"), 10)
    original = open(video, "rb").read()
    read_as = {
        "the same name": video,
        "a link to it read": str(tmp_path / "link.mp4"),
        "another hard link read": str(tmp_path / "hard.mp4"),
    }[how]
    if how == "a link to it read":
        os.symlink("in.mp4", read_as)
    elif how == "another hard link read":
        os.link(video, read_as)
    res = run_cli("run", read_as, flag, video)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr == f"vidcv: error: {flag} {video} is the input itself; choose another file\n"
    assert open(video, "rb").read() == original and len(read_all(video)) == 10


@pytest.mark.parametrize(
    "first, second",
    [
        (("--output", "out.mp4"), ("--stats-json", "out.mp4")),
        (("--detections-jsonl", "same.json"), ("--stats-json", "./same.json")),
        (("--output", "out.mp4"), ("--detections-jsonl", "link.jsonl")),  # a link to the video's name
        (("--events-dir", "ev"), ("--detections-jsonl", "ev/events.jsonl")),
    ],
)
def test_two_outputs_that_are_one_file_are_refused_before_the_run(tmp_path, first, second):
    from media import write_video

    video = write_video(str(tmp_path / "in.mp4"), 10)
    os.symlink("out.mp4", tmp_path / "link.jsonl")
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "events.jsonl").write_text('{"kind": "zone_enter"}\n')  # earlier runs' events
    (tmp_path / "out.mp4").write_bytes(b"the user's earlier video")
    res = run_cli("run", video, *first, *second, cwd=tmp_path)
    assert res.returncode == 1 and res.stdout == ""
    earlier = "the events log of --events-dir ev/events.jsonl" if first[0] == "--events-dir" else " ".join(first)
    assert res.stderr == (
        f"vidcv: error: {' '.join(second)} is the same file as {earlier}; give each output a file of its own\n"
    )
    assert (tmp_path / "out.mp4").read_bytes() == b"the user's earlier video"
    assert (tmp_path / "ev" / "events.jsonl").read_text() == '{"kind": "zone_enter"}\n'
    assert sorted(os.listdir(tmp_path)) == ["ev", "in.mp4", "link.jsonl", "out.mp4"]


@pytest.mark.parametrize("target, name", [("seq/f_%05d.png", "f_00003.png"), ("seq/", "frame_000000.png")])
def test_an_image_sequence_is_never_written_over_or_among_earlier_images(tmp_path, target, name):
    from media import write_video

    video = write_video(str(tmp_path / "in.mp4"), 10)
    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / name).write_bytes(b"the user's own image")
    (tmp_path / "seq" / "notes.txt").write_text("mine")
    res = run_cli("run", video, "-o", target, cwd=tmp_path)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr == (
        f"vidcv: error: cannot write {target}: seq already holds images of its names ({name}), of an earlier "
        "run or your own; move them away, or write to an empty folder\n"
    )
    assert sorted(os.listdir(tmp_path / "seq")) == sorted([name, "notes.txt"])
    assert (tmp_path / "seq" / name).read_bytes() == b"the user's own image"
    # a folder of other files only is written
    (tmp_path / "seq" / name).unlink()
    res = run_cli("run", video, "-o", target, "-q", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert len(os.listdir(tmp_path / "seq")) == 11


# A `vidcv` process with two plugins of the test's own: one that fails on every tenth frame with a message
# that changes each time (as an IndexError does), and one slower than the live source it reads.
TEST_PLUGINS_CLI = """
import sys, time
from vidcv.cli.main import main
from vidcv.plugin import Plugin
from vidcv.registry import default_registry

class Flaky(Plugin):
    name = "flaky"

    def process(self, frame):
        if frame.index % 10 == 3:
            raise IndexError(f"index {frame.index} is out of bounds for axis 0 with size 3")
        return frame

class Slow(Plugin):
    name = "slow"

    def process(self, frame):
        time.sleep(0.02)
        return frame

default_registry().register(Flaky)
default_registry().register(Slow)
sys.exit(main(sys.argv[1:]))
"""


def run_with_test_plugins(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", TEST_PLUGINS_CLI, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_a_stage_failing_on_many_frames_is_one_line_then_a_count_at_the_end(tmp_path):
    preset = tmp_path / "flaky.yaml"
    preset.write_text("pipeline:\n  - plugin: flaky\n  - plugin: canny\n")
    res = run_with_test_plugins("run", sample_video(), "-p", str(preset), "-q")
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines() == [  # 30 failures: the first as it came, then the count
        (
            "vidcv: WARNING: stage 0 'flaky' failed on frame 3: IndexError: index 3 is out of bounds for axis 0 "
            "with size 3 (bypassed for that frame); more failures like it are counted, not shown"
        ),
        (
            "vidcv: WARNING: stage 'flaky' failed on 30 of 300 frames (bypassed on those); the last error: "
            "IndexError: index 293 is out of bounds for axis 0 with size 3"
        ),
    ]


def test_max_frames_of_a_live_source_with_a_slow_pipeline_counts_frames_written(tmp_path):
    preset, out, stats = tmp_path / "slow.yaml", tmp_path / "out.avi", tmp_path / "stats.json"
    preset.write_text("pipeline:\n  - plugin: slow\n")
    # the pattern comes at 200 fps, the pipeline takes 20 ms a frame: most frames are dropped
    res = run_with_test_plugins(
        "run",
        "pattern:64x48@200",
        "-p",
        str(preset),
        "--max-frames",
        "40",
        "-o",
        str(out),
        "--stats-json",
        str(stats),
        "-q",
    )
    assert res.returncode == 0 and res.stderr == "", res.stderr
    doc = json.loads(stats.read_text())
    assert doc["frames"] == 40 and doc["dropped"] > 0 and doc["frames_read"] == 40 + doc["dropped"]
    assert len(read_all(str(out))) == 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_stream_is_retried_like_a_drop_and_the_messages_say_it_was_refused(tmp_path):
    port = free_port()  # nothing listens there
    url = f"rtsp://127.0.0.1:{port}/x"
    res = run_cli("run", url, "-o", str(tmp_path / "rec.mp4"), "--reconnect-attempts", "2")
    assert res.returncode == 1 and res.stdout == ""  # no table for a run that never got a frame
    refused = (
        f"connection refused by 127.0.0.1:{port} (nothing listens there: check that the stream server is "
        "running and the port is right)"
    )
    assert res.stderr.splitlines() == [
        f"vidcv: WARNING: stream {url}: {refused}; retrying up to 2 times",
        f"vidcv: error: stream {url}: {refused}; gave up after 2 reconnection attempts (start again once the "
        "stream is up)",
    ]
    assert os.listdir(tmp_path) == []


def test_a_stage_output_that_fails_at_the_end_keeps_the_statistics_and_says_so(tmp_path):
    # the heatmap's image is written when the pipeline closes, after the run: a folder where the file should be
    # makes that write fail; the statistics are written first, the error is one line, the exit status 1
    (tmp_path / "heat.png").mkdir()
    preset = tmp_path / "heat.yaml"
    preset.write_text(
        "pipeline:\n  - plugin: yolo\n  - plugin: track\n  - plugin: heatmap\n"
        f"    params: {{save: {tmp_path / 'heat.png'}}}\n"
    )
    r = run_cli(
        "run", sample_video(), "-p", str(preset), "--max-frames", "10", "-q", "--stats-json", str(tmp_path / "s.json")
    )
    assert r.returncode == 1
    assert json.loads((tmp_path / "s.json").read_text())["frames"] == 10
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "heat.png" in errors[0]
