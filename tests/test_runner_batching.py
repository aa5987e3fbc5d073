"""Frames of a file gathered into batches for a stage that takes several per call (``Plugin.process_batch``):
order kept, stateful stages after it see every frame in order, results equal to one frame at a time, a partial
last batch, errors reported per frame as without batches; live sources never batch (newest-wins)."""

import threading

import cv2
import numpy as np
import pytest

from media import decode_index
from test_runner import Collect, Heartbeat
from vidcv.events import StageError
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline
from vidcv.plugin import Plugin
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink
from vidcv.sources import FileSource, PatternSource
from vidcv.status import StageStatus


class Batched(Plugin):
    """Blurs each frame; takes ``asked`` frames per call (4 unless asked), records each call's frame indices and
    fails on the frames in ``fail_on`` (the whole batch call raises, as one inference call would)."""

    name = "batched"

    def setup(self):
        self.calls: list[list[int]] = []
        self.single: list[int] = []
        self.fail_on: set[int] = set()

    def batch_frames(self, asked=None):
        return asked or 4

    def process(self, frame):
        self.single.append(frame.index)
        if frame.index in self.fail_on:
            raise ValueError(f"bad frame {frame.index}")
        return frame.with_image(cv2.GaussianBlur(frame.image, (5, 5), 0))

    def process_batch(self, frames):
        self.calls.append([f.index for f in frames])
        if any(f.index in self.fail_on for f in frames):
            raise ValueError("bad frame in the batch")
        return [f.with_image(cv2.GaussianBlur(f.image, (5, 5), 0)) for f in frames]

    def status(self):
        return StageStatus(state="batched")


class Order(Plugin):
    """Stateful: remembers the frames it saw, in order, and numbers them (its output depends on that)."""

    name = "order"
    stateful = True

    def setup(self):
        self.seen: list[int] = []

    def process(self, frame):
        self.seen.append(frame.index)
        out = frame.with_image(frame.image.copy())
        out.image[0, 0] = len(self.seen) % 256
        return out


def run(source, stages, batch=None, **kw):
    got, errors = Collect(), []
    runner = Runner(
        source,
        Pipeline(stages),
        [CallbackSink(got)],
        batch=batch,
        observers=[lambda e: errors.append(e) if isinstance(e, StageError) else None],
        **kw,
    )
    summary = runner.run()
    return runner, summary, got.frames, errors


def test_a_file_goes_in_batches_in_order_and_a_stateful_stage_sees_every_frame_in_order(video_file):
    batched, order = Batched(), Order()
    runner, summary, frames, errors = run(FileSource(video_file), [batched, order])
    assert runner.frame_batch() == 4
    assert [f.index for f in frames] == list(range(60)) and not errors
    assert [decode_index(f.source_image) for f in frames] == list(range(60))  # pixels, not just counters
    assert batched.calls == [list(range(k, k + 4)) for k in range(0, 60, 4)] and not batched.single
    assert order.seen == list(range(60))
    assert [f.statuses["batched"].state for f in frames] == ["batched"] * 60
    assert [len(f.stage_images) for f in frames] == [2] * 60
    stats = summary.stages[0]
    assert stats.frames_in == stats.frames_out == 60 and stats.ms_mean > 0  # the batch's time shared per frame
    # the same results one frame at a time
    _, _, alone, _ = run(FileSource(video_file), [Batched(), Order()], batch=1)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(alone, frames)) and len(alone) == 60


def test_the_last_batch_is_partial_and_an_asked_size_wins(video_file):
    batched = Batched()
    runner, _, frames, _ = run(FileSource(video_file), [batched], batch=7, max_frames=17)
    assert runner.frame_batch() == 7
    assert [len(c) for c in batched.calls] == [7, 7, 3] and [f.index for f in frames] == list(range(17))


def test_a_stage_that_takes_one_frame_runs_frame_by_frame_inside_a_batch(video_file):
    order_before, batched, order_after = Order(), Batched(), Order()
    pipeline = Pipeline([order_before, batched, order_after])
    frames = [Frame(np.full((8, 8, 3), i, np.uint8), i, 0.0) for i in range(6)]
    out = pipeline.process_batch(frames, asked=3)
    assert [f.index for f in out] == list(range(6)) and batched.calls == [[0, 1, 2], [3, 4, 5]]
    assert order_before.seen == order_after.seen == list(range(6))
    reference = Pipeline([Order(), Batched(), Order()])
    for a, b in zip(out, (reference.process(Frame(np.full((8, 8, 3), i, np.uint8), i, 0.0)) for i in range(6))):
        assert np.array_equal(a.image, b.image) and len(a.stage_images) == len(b.stage_images) == 3


def test_no_batches_unless_a_stage_takes_them_and_none_by_default(video_file):
    assert Runner(FileSource(video_file), Pipeline([Order()]), batch=None).frame_batch() == 1
    assert Runner(FileSource(video_file), Pipeline([Order()]), batch=8).frame_batch() == 1
    assert Runner(FileSource(video_file), Pipeline([Batched()])).frame_batch() == 1  # interactive runs: one frame
    disabled = Pipeline([Batched()])
    disabled.set_enabled(0, False)
    assert Runner(FileSource(video_file), disabled, batch=None).frame_batch() == 1


def test_a_live_source_never_batches():
    batched = Batched()
    runner, summary, frames, _ = run(PatternSource("pattern:", 64, 48, fps=400), [batched], batch=4, max_frames=30)
    assert runner.frame_batch() == 1
    assert not batched.calls and len(batched.single) >= 30
    indices = [f.index for f in frames]
    assert indices == sorted(indices) and summary.frames == 30


def test_errors_in_a_batch_are_reported_per_frame_as_without_batches(video_file):
    def failing():
        plugin = Batched()
        plugin.fail_on = {5, 22}
        return plugin

    batched = failing()
    _, summary, frames, errors = run(FileSource(video_file), [batched, Order()])
    _, alone_summary, alone, alone_errors = run(FileSource(video_file), [failing(), Order()], batch=1)
    assert (
        [(e.stage_index, e.stage_name, e.frame_index, e.message) for e in errors]
        == [(e.stage_index, e.stage_name, e.frame_index, e.message) for e in alone_errors]
        == [(0, "batched", 5, "ValueError: bad frame 5"), (0, "batched", 22, "ValueError: bad frame 22")]
    )
    assert batched.single == [4, 5, 6, 7, 20, 21, 22, 23]  # the failed batches again, frame by frame
    assert [f.index for f in frames] == list(range(60))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(alone, frames))
    stats, alone_stats = summary.stages[0], alone_summary.stages[0]
    assert (
        (stats.frames_in, stats.frames_out, stats.errors, stats.last_error)
        == (alone_stats.frames_in, alone_stats.frames_out, alone_stats.errors, alone_stats.last_error)
        == (60, 58, 2, "ValueError: bad frame 22")
    )


def test_a_batch_that_returns_the_wrong_count_runs_frame_by_frame(video_file):
    class Short(Batched):
        def process_batch(self, frames):
            super().process_batch(frames)
            return frames[:-1]

    plugin = Short()
    _, summary, frames, errors = run(FileSource(video_file), [plugin], max_frames=8)
    assert [f.index for f in frames] == list(range(8)) and not errors
    assert plugin.single == list(range(8)) and summary.stages[0].frames_out == 8


def test_a_paused_run_steps_one_frame_without_waiting_for_a_batch(video_file):
    got, heartbeat, batched = Collect(), Heartbeat(), Batched()
    runner = Runner(
        FileSource(video_file),
        Pipeline([batched]),
        [CallbackSink(got)],
        queue_size=1,
        batch=None,
        observers=[heartbeat],
        stats_interval_s=0.05,
    )
    runner.pause()
    runner.start()
    try:
        runner.step()
        got.wait_for(1)
        runner.step()
        got.wait_for(2)
        assert [f.index for f in got.frames] == [0, 1] and batched.single == [0, 1] and not batched.calls
        runner.resume()
        assert runner.wait(10)
    finally:
        runner.stop()
    assert [f.index for f in got.frames] == list(range(60))


def test_a_batch_runs_in_the_processing_thread_only(video_file):
    threads = set()

    class Where(Batched):
        def process_batch(self, frames):
            threads.add(threading.current_thread().name)
            return super().process_batch(frames)

    runner, _, frames, _ = run(FileSource(video_file), [Where()], workers=4)
    assert threads == {"vidcv-process"} and len(frames) == 60


@pytest.mark.parametrize("asked, expected", [(None, 4), (2, 2), (1, 1)])
def test_the_pipeline_gathers_what_its_stages_take(asked, expected):
    assert Pipeline([Order(), Batched()]).batch_frames(asked) == expected
    assert Pipeline().batch_frames(asked) == 1
