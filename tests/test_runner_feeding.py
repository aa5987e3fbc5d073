"""How the runner feeds a pipeline: pixel-format negotiation (a file decoded straight to gray from the luma plane
when the first stage works on gray and nothing needs the colour original; the gray equals cvtColor of the BGR
decode within a stated tolerance; any stage or sink that reads the colour original keeps colour), and frames
processed several at once by a pool of workers, handed on in order."""

import random
import subprocess
import threading
import time

import cv2
import numpy as np
import pytest

from media import CollectSink, run_cli
from vidcv.dataset.extract import DatasetSink, LabelFilter
from vidcv.dataset.writer import DatasetWriter
from vidcv.media.decode import VideoReader
from vidcv.plugin import Plugin
from vidcv.presets import parse_preset
from vidcv.registry import Registry
from vidcv.runner import Runner
from vidcv.sources import FileSource

REG = Registry()
EDGES = """pipeline:
  - plugin: color
    params: {to: gray}
  - plugin: blur
    params: {method: gaussian, ksize: 5}
  - plugin: canny
    params: {low: 50, high: 150}
"""


@pytest.fixture(scope="module", params=["libx264", "mpeg4"])
def clip(request, tmp_path_factory):
    """A 1280x720 clip of natural pictures (the sample, scaled) in H.264 or MPEG-4 Part 2."""
    path = str(tmp_path_factory.mktemp("gray") / f"clip_{request.param}.mp4")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-i",
            "assets/sample.mp4",
            "-frames:v",
            "40",
            "-vf",
            "scale=1280:720",
            "-c:v",
            request.param,
            "-pix_fmt",
            "yuv420p",
            path,
        ],
        check=True,
    )
    return path


def test_the_luma_gray_matches_cvtcolor_of_the_bgr_decode(clip):
    """Within +-2 levels for at least 99 % of the pixels (mean absolute difference under 1): the rest are
    saturated colours, which the BGR decode clips at 0 or 255 and the luma plane does not."""
    gray, colour = VideoReader(clip, 1), cv2.VideoCapture(clip)
    gray.gray = True
    for _ in range(40):
        ok, bgr = colour.read()
        assert ok
        ours = gray.read().image.astype(int)
        diff = np.abs(ours - cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(int))
        assert ours.shape == bgr.shape[:2]
        assert (diff <= 2).mean() >= 0.99 and diff.mean() < 1.0, (diff.mean(), (diff <= 2).mean())
    assert gray.read() is None


def run(source, preset, gray_source=True):
    collect = CollectSink()
    runner = Runner(source, parse_preset(preset, REG), [collect], gray_source=gray_source)
    runner.run()
    return runner, collect.got


def test_a_gray_first_stage_gets_gray_from_the_decoder_and_the_same_edges(clip):
    runner, gray = run(FileSource(clip), EDGES)
    assert runner.source.deliver_gray and runner.source.decoder == "pyav"
    assert all(f.source_image.ndim == 2 and f.image.ndim == 2 for f in gray)
    _, colour = run(FileSource(clip), EDGES, gray_source=False)
    assert all(f.source_image.ndim == 3 for f in colour) and len(colour) == len(gray) == 40
    # Canny's hysteresis turns a level of difference into a few edge pixels here and there: nearly all agree
    agree = np.mean([(a.image == b.image).mean() for a, b in zip(gray, colour)])
    assert agree > 0.99, agree


@pytest.mark.parametrize(
    "preset",
    [
        "pipeline:\n  - plugin: blur\n  - plugin: canny\n",  # the first stage changes colour pictures: not gray
        EDGES + "  - plugin: annotate\n    params: {draw_on: original}\n",  # reads the colour original
        EDGES + "  - plugin: bitwise\n    params: {op: and, with: original}\n",
        "pipeline:\n  - plugin: color\n    params: {to: hsv}\n  - plugin: canny\n",
    ],
)
def test_colour_stays_when_a_stage_needs_it(clip, preset):
    runner, frames = run(FileSource(clip), preset)
    assert not runner.source.deliver_gray and frames[0].source_image.ndim == 3


def test_a_disabled_first_stage_does_not_count_and_a_dataset_keeps_colour(clip, tmp_path):
    pipeline = parse_preset("pipeline:\n  - plugin: blur\n    enabled: false\n" + EDGES.split("\n", 1)[1], REG)
    assert pipeline.accepts_gray_source()
    sink = DatasetSink(DatasetWriter(str(tmp_path / "ds")), LabelFilter(), "clip", {})
    assert not Runner(FileSource(clip), pipeline, [sink], gray_source=True).decodes_gray()
    assert not Runner(FileSource(clip), pipeline).decodes_gray()  # the GUI's runs: off unless asked
    runner = Runner(FileSource(clip), pipeline, gray_source=True)
    runner.open()
    try:
        with pytest.raises(ValueError, match="needs the colour original"):
            runner.add_sink(sink)
    finally:
        runner.source.close()


def test_vidcv_run_decodes_colour_by_default_and_gray_from_the_luma_plane_when_asked(clip, tmp_path):
    out = tmp_path / "edges.mp4"
    res = run_cli("run", clip, "-p", "edges", "-o", str(out), "-q", "-v")
    assert res.returncode == 0 and "decoding straight to gray" not in res.stderr, res.stderr  # exact by default
    res = run_cli("run", clip, "-p", "edges", "-o", str(out), "-q", "-v", "--gray-decode")
    assert res.returncode == 0, res.stderr
    assert "decoding straight to gray" in res.stderr
    res = run_cli("run", clip, "-p", "shapes", "--max-frames", "2", "-q", "-v", "--gray-decode")
    assert res.returncode == 0 and "decoding straight to gray" not in res.stderr
    assert "decoding colour although the pipeline asks for decode: luma: the first enabled stage" in res.stderr


# --- frames processed several at once --------------------------------------------------------------------


class Jitter(Plugin):
    """Stateless and slow by a random few milliseconds a frame, so that frames finish out of order."""

    name = "jitter"

    def process(self, frame):
        time.sleep(random.random() * 0.004)
        return frame.with_image(cv2.GaussianBlur(frame.image, (5, 5), 0))


def test_workers_process_frames_at_once_and_sinks_see_them_in_order(clip):
    pipeline = parse_preset(EDGES, REG)
    pipeline.add(Jitter())
    collect = CollectSink()
    runner = Runner(FileSource(clip), pipeline, [collect], workers=3)
    assert runner.frame_workers() == 3
    threads = set()
    original = pipeline.process

    def spy(frame, on_error=None):
        threads.add(threading.current_thread().name)
        return original(frame, on_error)

    pipeline.process = spy
    runner.run()
    assert [f.index for f in collect.got] == list(range(40))  # every frame, in order
    assert len(threads) == 3 and runner.frames_processed == 40
    assert pipeline.summaries()[0].frames_in == 40  # statistics counted once per frame
    _, one = run(FileSource(clip), EDGES, gray_source=False)
    pipeline = parse_preset(EDGES, REG)
    collect = CollectSink()
    Runner(FileSource(clip), pipeline, [collect], workers=3).run()
    assert all(np.array_equal(a.image, b.image) for a, b in zip(one, collect.got))  # the same results


@pytest.mark.parametrize(
    "preset, why",
    [
        (EDGES + "  - plugin: track\n", "a stateful stage"),
        ("pipeline:\n  - plugin: yolo\n", "ONNX Runtime uses every core itself"),
    ],
)
def test_one_frame_at_a_time_when_a_stage_needs_it(clip, preset, why):
    assert Runner(FileSource(clip), parse_preset(preset, REG), workers=4).frame_workers() == 1, why


def test_a_live_source_keeps_one_frame_in_hand():
    from vidcv.sources import parse_source

    assert Runner(parse_source("pattern:"), parse_preset(EDGES, REG), workers=4).frame_workers() == 1
