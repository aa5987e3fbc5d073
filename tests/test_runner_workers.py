"""How a run of a file processes its frames when it chooses itself (``Runner(workers=None)``, issue 23 item 3),
from what its first frames cost: several at once, each worker's OpenCV single-threaded, when the stages outweigh
decoding; one at a time otherwise (OpenCV single-threaded when the stages are light), and always one at a time
for a live source, a stateful stage or an edited pipeline. The choice changes no result."""

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidcv.pipeline import Pipeline
from vidcv.presets import find_preset, parse_preset
from vidcv.registry import Registry
from vidcv.runner import PROBE_FRAMES, PROBE_WARMUP, Processing, Runner, auto_workers
from vidcv.sinks import CallbackSink
from vidcv.sources import FileSource, PatternSource
from vidcv.sources.file import default_decode_threads

REG = Registry()
#: the bundled edges preset: gray, Gaussian 5, Canny 50/150 (the benchmark chain)
EDGES = Path(find_preset("edges")).read_text()


def edges() -> Pipeline:
    return parse_preset(EDGES, REG)


def run_collect(source, pipeline, **kw):
    got = []
    runner = Runner(source, pipeline, [CallbackSink(got.append)], **kw)
    runner.run()
    assert runner.error is None
    return runner, got


def test_heavy_stages_go_in_parallel_light_ones_one_at_a_time(video_file, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    runner = Runner(FileSource(video_file), edges(), workers=None)
    assert runner.chooses_processing() and runner.frame_workers() == auto_workers() == 2  # the most it may choose
    # Canny on textured 720p: OpenCV's threads do not split it up well, frames in parallel do
    assert runner.choose_processing(read_s=0.0008, stages_s=0.009, single_s=0.0071, cpu_s=0.009) == Processing(2, 1)
    # Canny on smooth 720p: OpenCV's threads keep it near decoding, frames in parallel would gain nothing
    assert runner.choose_processing(read_s=0.0007, stages_s=0.0014, single_s=0.0017, cpu_s=0.0037) == Processing(
        1, None
    )
    # a threshold: far ahead of decoding single-threaded, OpenCV's threads would only take the decoder's core
    assert runner.choose_processing(read_s=0.0004, stages_s=0.0003, single_s=0.0003, cpu_s=0.0015) == Processing(1, 1)


def test_a_timed_run_of_frames_in_parallel_decides_over_the_estimate(video_file, monkeypatch):
    """The probe times a run of frames in parallel: that, against a run one at a time, decides, whatever the
    estimate from the CPU time (which varies from run to run) would have said."""
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    runner = Runner(FileSource(video_file), edges(), workers=None)
    # the estimate alone: one at a time (the process's CPU time a frame bounds two cores' gain)
    costs = {"read_s": 0.0003, "stages_s": 0.0022, "single_s": 0.0029, "cpu_s": 0.0058}
    assert runner.choose_processing(**costs) == Processing(1, None)
    assert runner.choose_processing(**costs, one_s=0.0041, parallel_s=0.0019) == Processing(2, 1)
    assert runner.choose_processing(**costs, one_s=0.0020, parallel_s=0.0019) == Processing(1, None)


def test_a_clip_that_ends_during_the_parallel_run_of_the_probe_keeps_every_frame(make_video, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("vidcv.runner._light", lambda *costs: False)  # the probe times a run in parallel
    frames = PROBE_WARMUP + 3 * PROBE_FRAMES - 3
    runner, got = run_collect(FileSource(make_video(frames=frames)), edges(), workers=None)
    assert runner.processing is None
    assert [f.index for f in got] == list(range(frames))


def test_on_one_core_frames_go_one_at_a_time(video_file, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    runner = Runner(FileSource(video_file), edges(), workers=None)
    assert runner.frame_workers() == 1
    assert runner.choose_processing(read_s=0.001, stages_s=0.02, single_s=0.02, cpu_s=0.021) == Processing(1, None)


@pytest.mark.parametrize(
    "make, why",
    [
        (lambda clip: Runner(PatternSource(), edges(), workers=None), "a live source keeps one frame in hand"),
        (lambda clip: Runner(FileSource(clip), edges(), workers=None, editable=True), "the window edits it"),
        (
            lambda clip: Runner(FileSource(clip), parse_preset(EDGES + "  - plugin: track\n", REG), workers=None),
            "state",
        ),
    ],
)
def test_never_in_parallel_where_frames_must_go_one_at_a_time(video_file, make, why):
    runner = make(video_file)
    assert runner.frame_workers() == 1, why
    assert runner.choose_processing(read_s=0.001, stages_s=1.0, single_s=1.0, cpu_s=1.001).workers == 1, why


def test_an_explicit_worker_count_is_kept(video_file):
    assert Runner(FileSource(video_file), edges(), workers=1).frame_workers() == 1
    assert Runner(FileSource(video_file), edges(), workers=3).frame_workers() == 3


def test_switching_to_parallel_after_the_probe_keeps_every_frame_in_order_and_the_same_pixels(video_file, monkeypatch):
    _, one = run_collect(FileSource(video_file), edges(), workers=1)
    monkeypatch.setattr(Runner, "choose_processing", lambda self, *costs, **timed: Processing(2, 1))
    pipeline = edges()
    threads = set()
    original = pipeline.process

    def spy(frame, on_error=None):
        threads.add((threading.current_thread().name, cv2.getNumThreads()))
        return original(frame, on_error)

    pipeline.process = spy
    runner, got = run_collect(FileSource(video_file), pipeline, workers=None)
    assert runner.processing == Processing(2, 1)
    assert [f.index for f in got] == list(range(60))  # every frame, in order
    assert {name for name, _ in threads} == {"vidcv-process", "vidcv-process-1"}  # the probe's, then 2 workers
    assert {("vidcv-process", 1), ("vidcv-process-1", 1)} <= threads  # the workers: OpenCV single-threaded
    assert all(np.array_equal(a.image, b.image) for a, b in zip(one, got, strict=True))


def test_a_clip_shorter_than_the_probe_is_processed_one_at_a_time(make_video):
    frames = PROBE_WARMUP + 2 * PROBE_FRAMES - 3
    runner, got = run_collect(FileSource(make_video(frames=frames)), edges(), workers=None)
    assert runner.processing is None
    assert [f.index for f in got] == list(range(frames))


@pytest.mark.parametrize("light", [False, True])
def test_the_choice_comes_from_the_first_frames_costs_and_one_at_a_time_with_opencv_single_threaded(
    video_file, monkeypatch, light
):
    seen = []

    def record(self, read_s, stages_s, single_s, cpu_s, one_s=None, parallel_s=None):
        seen.append((read_s, stages_s, single_s, cpu_s, one_s, parallel_s))
        return Processing(1, 1)

    monkeypatch.setattr(Runner, "choose_processing", record)
    pipeline = edges()
    threads = []
    original = pipeline.process

    def spy(frame, on_error=None):
        threads.append(cv2.getNumThreads())
        return original(frame, on_error)

    pipeline.process = spy
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("vidcv.runner._light", lambda *costs: light)
    before = cv2.getNumThreads()
    runner, got = run_collect(FileSource(video_file), pipeline, workers=None)
    assert [f.index for f in got] == list(range(60)) and runner.processing == Processing(1, 1)
    assert len(seen) == 1 and all(t > 0 for t in seen[0][:5])  # the costs, and the run one at a time timed
    # a run of frames in parallel is timed too, unless the stages are light (decoding sets both runs' pace)
    assert (seen[0][5] is None) if light else seen[0][5] > 0
    probe = PROBE_WARMUP + 2 * PROBE_FRAMES
    assert threads[probe - PROBE_FRAMES : probe] == [1] * PROBE_FRAMES  # the probe's single-threaded half
    assert threads[probe:] == [1] * (60 - probe)  # its run in parallel (single-threaded), the rest as chosen
    assert cv2.getNumThreads() == before  # OpenCV's threads as they were after the run


@pytest.mark.parametrize("cores, threads", [(1, 1), (2, 3), (4, 3), (8, 4), (16, 8)])
def test_a_file_decodes_with_three_ffmpeg_threads_or_half_the_cores(monkeypatch, cores, threads):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert default_decode_threads() == threads
