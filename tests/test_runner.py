import threading
import time

import numpy as np
import pytest

from media import decode_index, read_all
from vidcv.events import StageError
from vidcv.frame import Frame
from vidcv.params import Float
from vidcv.pipeline import Pipeline
from vidcv.plugin import Plugin
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink, VideoSink
from vidcv.sources import FileSource, PatternSource
from vidcv.sources.base import Source


class Sleep(Plugin):
    name = "sleep"
    params = (Float("ms", 20.0, 0.0, 1000.0),)

    def process(self, frame):
        time.sleep(self.p.ms / 1000.0)
        return frame


class Boom(Plugin):
    name = "boom"

    def process(self, frame):
        if frame.index == 5:
            raise ValueError("bad frame")
        return frame


class Collect:
    def __init__(self):
        self.frames: list[Frame] = []
        self.times: list[float] = []

    def __call__(self, frame):
        self.frames.append(frame)
        self.times.append(time.monotonic())


def test_file_source_loses_no_frame_and_keeps_order(video_file):
    got = Collect()
    summary = Runner(FileSource(video_file), Pipeline([Sleep(ms=1)]), [CallbackSink(got)], queue_size=2).run()
    assert [f.index for f in got.frames] == list(range(60))
    assert [decode_index(f.image) for f in got.frames] == list(range(60))  # pixels, not just counters
    assert summary.frames == 60 and summary.frames_read == 60 and summary.dropped == 0
    assert summary.frame_age_ms_mean is None  # reported for live sources only


def test_live_source_keeps_only_the_newest_frame_and_counts_drops():
    got = Collect()
    runner = Runner(PatternSource("pattern:", 64, 48, fps=400), Pipeline([Sleep(ms=15)]), [CallbackSink(got)],
                    max_frames=120)
    summary = runner.run()
    indices = [f.index for f in got.frames]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert summary.dropped > 0
    assert summary.frames + summary.dropped == summary.frames_read == 120
    assert max(np.diff(indices)) > 1  # the processor skipped ahead to the newest frame
    assert summary.frame_age_ms_mean is not None and summary.frame_age_ms_mean < 1000


def test_realtime_paces_a_file_at_its_own_fps(make_video):
    path = make_video("paced.mp4", frames=15, fps=30.0)
    got = Collect()
    Runner(FileSource(path), Pipeline(), [CallbackSink(got)], realtime=True).run()
    released = np.array([f.captured_at for f in got.frames])  # when the source let each frame go
    due = np.array([f.pts_ms for f in got.frames]) / 1000.0
    assert len(got.frames) == 15
    assert np.all(released - released[0] >= due - due[0] - 0.002)  # never ahead of the clock
    fast = Collect()
    Runner(FileSource(path), Pipeline(), [CallbackSink(fast)]).run()
    assert fast.times[-1] - fast.times[0] < got.times[-1] - got.times[0]


def test_stop_joins_every_thread_promptly_and_finalises_the_output(tmp_path):
    out = str(tmp_path / "live.mp4")
    runner = Runner(PatternSource("pattern:", 160, 120, fps=30), Pipeline([Sleep(ms=5)]),
                    [VideoSink(out, 30)])
    runner.start()
    time.sleep(0.8)
    t0 = time.monotonic()
    assert runner.stop(timeout=2.0)
    assert time.monotonic() - t0 < 2.0
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("vidcv-"))
    frames = read_all(out)
    assert len(frames) == runner.frames_written > 0
    assert not list(tmp_path.glob(".*partial*"))


def test_stop_on_a_file_keeps_what_was_processed(video_file, tmp_path):
    out = str(tmp_path / "partial_run.avi")
    runner = Runner(FileSource(video_file), Pipeline([Sleep(ms=30)]), [VideoSink(out, 30)])
    runner.start()
    time.sleep(0.5)
    assert runner.stop()
    frames = read_all(out)
    assert 0 < len(frames) == runner.frames_written < 60
    assert [decode_index(f) for f in frames] == list(range(len(frames)))


def test_a_raising_plugin_is_bypassed_and_the_run_continues(video_file):
    got = Collect()
    pipeline = Pipeline([Boom()])
    errors = []
    summary = Runner(FileSource(video_file), pipeline, [CallbackSink(got)],
                     observers=[lambda e: errors.append(e) if isinstance(e, StageError) else None]).run()
    assert len(got.frames) == 60 and summary.stages[0].errors == 1
    assert errors[0].frame_index == 5 and errors[0].stage_name == "boom" and "bad frame" in errors[0].message


def test_max_frames_stops_the_run(video_file):
    summary = Runner(FileSource(video_file), Pipeline(), max_frames=7).run()
    assert summary.frames == 7


def test_pause_and_step(video_file):
    got = Collect()
    runner = Runner(FileSource(video_file), Pipeline(), [CallbackSink(got)], queue_size=1)
    runner.pause()
    runner.start()
    time.sleep(0.3)
    assert len(got.frames) == 0
    runner.step()
    deadline = time.monotonic() + 2
    while len(got.frames) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert len(got.frames) == 1
    runner.resume()
    assert runner.wait(10)
    runner.stop()
    assert [f.index for f in got.frames] == list(range(60))


class FailingSource(Source):
    live = False

    def __init__(self, fail_after):
        super().__init__("failing")
        self.fail_after, self.i = fail_after, 0

    def _open(self):
        pass

    def read(self):
        if self.i == self.fail_after:
            from vidcv.errors import SourceError
            raise SourceError("the disk went away")
        self.i += 1
        return Frame(np.zeros((8, 8, 3), np.uint8), self.i - 1, 0.0)


def test_a_source_failure_ends_the_run_with_its_error_and_keeps_the_output(tmp_path):
    out = str(tmp_path / "o.mp4")
    runner = Runner(FailingSource(10), Pipeline(), [VideoSink(out, 30)])
    summary = runner.run()
    assert "disk went away" in str(runner.error)
    assert summary.frames == 10 and len(read_all(out)) == 10


def test_a_sink_failure_stops_the_run(video_file):
    def explode(frame):
        if frame.index == 3:
            raise OSError("No space left on device")

    runner = Runner(FileSource(video_file), Pipeline(), [CallbackSink(explode)])
    summary = runner.run()
    assert isinstance(runner.error, OSError) and summary.frames == 3
    assert not runner.running


def test_a_runner_runs_once(video_file):
    runner = Runner(FileSource(video_file), Pipeline(), max_frames=1)
    runner.run()
    with pytest.raises(RuntimeError):
        runner.start()


def test_seek_continues_from_the_new_position_and_resets_stateful_plugins(video_file):
    class Counter(Plugin):
        name = "counter"
        stateful = True

        def setup(self):
            self.resets = 0

        def reset(self):
            self.resets += 1

        def process(self, frame):
            return frame

    got = Collect()
    counter = Counter()
    runner = Runner(FileSource(video_file), Pipeline([counter]), [CallbackSink(got)], queue_size=1,
                    hold_at_end=True)
    runner.pause()
    runner.start()
    runner.seek(40)
    runner.step()
    deadline = time.monotonic() + 5
    while not got.frames and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got.frames[0].index == 40 and decode_index(got.frames[0].image) == 40
    runner.resume()
    while not runner.at_end and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert runner.at_end and runner.running and runner.paused  # held open at the end
    assert [f.index for f in got.frames] == list(range(40, 60))
    runner.seek(10)
    runner.step()
    while got.frames[-1].index != 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got.frames[-1].index == 10 and not runner.at_end and counter.resets == 2
    assert runner.stop()


def test_sinks_can_be_added_and_removed_while_running(tmp_path):
    out = str(tmp_path / "rec.avi")
    runner = Runner(PatternSource("pattern:", 64, 48, fps=100), Pipeline())
    runner.start()
    time.sleep(0.2)
    sink = VideoSink(out, 30)
    runner.add_sink(sink)
    time.sleep(0.3)
    runner.remove_sink(sink)
    written = sink.frames
    time.sleep(0.2)
    assert runner.stop()
    assert written > 5 and len(read_all(out)) == written == sink.frames


def test_seek_on_a_live_source_is_refused():
    runner = Runner(PatternSource(), Pipeline())
    with pytest.raises(ValueError, match="cannot seek"):
        runner.seek(3)
