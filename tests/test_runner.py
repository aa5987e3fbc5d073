import errno
import threading
import time

import numpy as np
import pytest

from media import decode_index, read_all
from vidcv.errors import OutputError
from vidcv.events import RunEnded, SourceState, StageError, StatsUpdated
from vidcv.frame import Frame
from vidcv.params import Float
from vidcv.pipeline import Pipeline
from vidcv.plugin import Plugin
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink, Sink, VideoSink
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


def wait_until(predicate, timeout: float = 10.0, what: str = "the condition") -> None:
    """Return as soon as ``predicate()`` is true; fail saying ``what`` did not happen by the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.005)  # the poll interval only; the deadline decides nothing but failure


class Collect:
    """A CallbackSink target that keeps the frames; ``wait_for`` blocks until a condition on them holds."""

    def __init__(self):
        self.frames: list[Frame] = []
        self.times: list[float] = []
        self._arrived = threading.Condition()

    def __call__(self, frame):
        with self._arrived:
            self.frames.append(frame)
            self.times.append(time.monotonic())
            self._arrived.notify_all()

    def wait_for(self, count: int = 0, predicate=None, timeout: float = 10.0) -> None:
        """Until ``count`` frames arrived (and ``predicate(frames)`` holds, if given)."""

        def ready():
            return len(self.frames) >= count and (predicate is None or predicate(self.frames))

        with self._arrived:
            if not self._arrived.wait_for(ready, timeout):
                wanted = f"{count} frames" + (" and the condition on them" if predicate else "")
                pytest.fail(f"wanted {wanted} within {timeout} s; arrived: {[f.index for f in self.frames]}")


class Heartbeat:
    """A run observer counting the statistics events, which the sink thread publishes while the run lives
    (paused or not): ``wait_beats(n)`` returns once n more have come, each after a full turn of that thread."""

    def __init__(self):
        self.stats: list[StatsUpdated] = []
        self._beat = threading.Condition()

    def __call__(self, event):
        if isinstance(event, StatsUpdated):
            with self._beat:
                self.stats.append(event)
                self._beat.notify_all()

    def wait_beats(self, n: int, timeout: float = 10.0) -> list[StatsUpdated]:
        with self._beat:
            start = len(self.stats)
            if not self._beat.wait_for(lambda: len(self.stats) >= start + n, timeout):
                pytest.fail(f"{n} statistics events did not come within {timeout} s")
            return self.stats[start:]


def test_file_source_loses_no_frame_and_keeps_order(video_file):
    got = Collect()
    summary = Runner(FileSource(video_file), Pipeline([Sleep(ms=1)]), [CallbackSink(got)], queue_size=2).run()
    assert [f.index for f in got.frames] == list(range(60))
    assert [decode_index(f.image) for f in got.frames] == list(range(60))  # pixels, not just counters
    assert summary.frames == 60 and summary.frames_read == 60 and summary.dropped == 0
    assert summary.frame_age_ms_mean is None  # reported for live sources only


def test_live_source_keeps_only_the_newest_frame_and_counts_drops():
    got = Collect()
    runner = Runner(
        PatternSource("pattern:", 64, 48, fps=400), Pipeline([Sleep(ms=15)]), [CallbackSink(got)], max_frames=120
    )
    summary = runner.run()
    indices = [f.index for f in got.frames]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert summary.dropped > 0
    assert summary.frames == 120 and summary.frames + summary.dropped == summary.frames_read  # 120 written
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
    got = Collect()
    runner = Runner(
        PatternSource("pattern:", 160, 120, fps=30), Pipeline([Sleep(ms=5)]), [VideoSink(out, 30), CallbackSink(got)]
    )
    runner.start()
    got.wait_for(10)  # running, with frames written
    t0 = time.monotonic()
    assert runner.stop(timeout=2.0)
    assert time.monotonic() - t0 < 2.0
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("vidcv-"))
    frames = read_all(out)
    assert len(frames) == runner.frames_written > 0
    assert not list(tmp_path.glob(".*partial*"))


def test_stop_on_a_file_keeps_what_was_processed(video_file, tmp_path):
    out = str(tmp_path / "partial_run.avi")
    got = Collect()
    runner = Runner(FileSource(video_file), Pipeline([Sleep(ms=30)]), [VideoSink(out, 30), CallbackSink(got)])
    runner.start()
    got.wait_for(5)  # a few frames in, far from the end (55 more frames take 1.6 s)
    assert runner.stop()
    frames = read_all(out)
    assert 0 < len(frames) == runner.frames_written < 60
    assert [decode_index(f) for f in frames] == list(range(len(frames)))


def test_a_raising_plugin_is_bypassed_and_the_run_continues(video_file):
    got = Collect()
    pipeline = Pipeline([Boom()])
    errors = []
    summary = Runner(
        FileSource(video_file),
        pipeline,
        [CallbackSink(got)],
        observers=[lambda e: errors.append(e) if isinstance(e, StageError) else None],
    ).run()
    assert len(got.frames) == 60 and summary.stages[0].errors == 1
    assert errors[0].frame_index == 5 and errors[0].stage_name == "boom" and "bad frame" in errors[0].message


def test_max_frames_stops_the_run(video_file):
    got = Collect()
    summary = Runner(FileSource(video_file), Pipeline(), [CallbackSink(got)], max_frames=7).run()
    assert summary.frames == summary.frames_read == 7  # a file: its first 7 frames, none read beyond
    assert [f.index for f in got.frames] == list(range(7))


def test_max_frames_of_a_live_source_counts_frames_written_not_frames_dropped():
    # a pipeline three times slower than the source: most frames are dropped, yet 40 are written
    got, ends = Collect(), []
    runner = Runner(
        PatternSource("pattern:", 64, 48, fps=100),
        Pipeline([Sleep(ms=30)]),
        [CallbackSink(got)],
        max_frames=40,
        observers=[lambda e: ends.append(e) if isinstance(e, RunEnded) else None],
    )
    summary = runner.run()
    assert summary.frames == len(got.frames) == 40
    assert summary.dropped > 40 and summary.frames + summary.dropped == summary.frames_read
    assert runner.error is None and not runner.stopped  # it ended: nobody stopped it
    assert len(ends) == 1 and ends[0].stopped is False and ends[0].summary.frames == 40


def test_pause_and_step(video_file):
    got = Collect()
    heartbeat = Heartbeat()
    runner = Runner(
        FileSource(video_file),
        Pipeline(),
        [CallbackSink(got)],
        queue_size=1,
        observers=[heartbeat],
        stats_interval_s=0.05,
    )
    runner.pause()
    runner.start()
    # the sink thread turned three times with every thread up: a frame let through would have been written
    assert all(s.paused for s in heartbeat.wait_beats(3))
    assert len(got.frames) == 0 and runner.frames_read == 0
    runner.step()
    got.wait_for(1)
    heartbeat.wait_beats(3)  # and a second frame, had the step let two through, would be written by now
    assert len(got.frames) == 1 and runner.frames_read == 1
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
            raise OutputError("cannot write x.bin: disk full after 3 frames")

    runner = Runner(FileSource(video_file), Pipeline(), [CallbackSink(explode)])
    summary = runner.run()
    assert str(runner.error) == "cannot write x.bin: disk full after 3 frames" and summary.frames == 3
    assert runner.failed_in == "output" and runner.stopped and not runner.running


class DiskFullSink(Sink):
    """Writes each frame's index to /dev/full from the fifth frame on: a real ENOSPC, which names no file."""

    path = "/dev/full"

    def __init__(self):
        self.closed = False

    def write(self, frame):
        if frame.index >= 4:
            with open(self.path, "wb") as fh:
                fh.write(b"%d\n" % frame.index)
        self.frames += 1

    def close(self):
        self.closed = True


def test_a_sink_whose_write_fails_with_a_raw_os_error_stops_the_run_naming_its_file(video_file):
    seen = []
    full = DiskFullSink()
    runner = Runner(FileSource(video_file), Pipeline(), [CallbackSink(seen.append), full])
    summary = runner.run()
    assert isinstance(runner.error, OutputError) and runner.failed_in == "output"
    assert str(runner.error) == (
        "cannot write /dev/full: No space left on device; 4 frames were written before it failed"
    )
    assert isinstance(runner.error.__cause__, OSError) and runner.error.__cause__.errno == errno.ENOSPC
    assert summary.frames == 4 and summary.frames_read < 60  # it stopped there, not at the end of the file
    assert [f.index for f in seen] == [0, 1, 2, 3, 4]  # the sink before it had taken the fifth frame
    assert full.closed and not runner.running  # closed all the same, to keep what is valid


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
    heartbeat = Heartbeat()
    runner = Runner(
        FileSource(video_file),
        Pipeline([counter]),
        [CallbackSink(got)],
        queue_size=1,
        hold_at_end=True,
        observers=[heartbeat],
        stats_interval_s=0.05,
    )
    runner.pause()
    runner.start()
    runner.seek(40)
    runner.step()
    got.wait_for(1)
    assert got.frames[0].index == 40 and decode_index(got.frames[0].image) == 40
    runner.resume()
    # at the end, paused, and every frame read has been written
    wait_until(
        lambda: runner.at_end and runner.paused and runner.frames_written == runner.frames_read,
        what="the run to hold at the end with every frame written",
    )
    beats = heartbeat.wait_beats(2)  # the run still goes, held: its sink thread still publishes
    assert all(s.at_end and s.paused for s in beats)
    assert runner.at_end and runner.running and runner.paused  # held open at the end
    assert [f.index for f in got.frames] == list(range(40, 60))
    runner.seek(10)
    runner.step()
    got.wait_for(1, lambda frames: frames[-1].index == 10)
    assert got.frames[-1].index == 10 and not runner.at_end and counter.resets == 2
    assert runner.stop()


def test_sinks_can_be_added_and_removed_while_running(tmp_path):
    out = str(tmp_path / "rec.avi")
    runner = Runner(PatternSource("pattern:", 64, 48, fps=100), Pipeline())
    runner.start()
    wait_until(lambda: runner.frames_written >= 5, what="the run to write frames")
    sink = VideoSink(out, 30)
    runner.add_sink(sink)
    wait_until(lambda: sink.frames >= 10, what="the added sink to get 10 frames")
    runner.remove_sink(sink)
    written = sink.frames
    after = runner.frames_written
    wait_until(lambda: runner.frames_written >= after + 10, what="10 more frames after the removal")
    assert runner.stop()
    assert written > 5 and len(read_all(out)) == written == sink.frames


def test_seek_on_a_live_source_is_refused():
    runner = Runner(PatternSource(), Pipeline())
    with pytest.raises(ValueError, match="cannot seek"):
        runner.seek(3)


class DroppingSource(Source):
    """A live source that goes away twice, reporting it as a stream does: after frame 3 it is back after
    50 ms; after frame 6 it stays away until ``release`` is set."""

    live = True

    def __init__(self):
        super().__init__("dropping")
        self.i = 0
        self.release = threading.Event()

    def _open(self):
        pass

    def read(self):
        if self.stopping or self.i == 10:
            return None
        if self.i in (3, 6):
            self._set_state(SourceState.RECONNECTING, "dropped; attempt 1 in 0.0 s")
            if self.i == 3:
                self.wait(0.05)
            else:
                self.release.wait(30)
            self._set_state(SourceState.OPEN, "reconnected")
        self.i += 1
        return Frame(np.zeros((8, 8, 3), np.uint8), self.i - 1, 0.0)


def test_a_live_sources_outages_are_counted_into_the_summary_and_the_live_statistics():
    source = DroppingSource()
    away_seen = []

    def observe(event):
        if isinstance(event, StatsUpdated) and event.summary.source_outages.outages == 2:
            away_seen.append(event.summary.source_outages)
            source.release.set()  # the readout showed the second outage while it lasted: let the source come back

    runner = Runner(source, Pipeline(), observers=[observe], stats_interval_s=0.01)
    summary = runner.run()
    assert runner.error is None and summary.frames_read == 10
    outages = summary.source_outages
    assert (outages.outages, outages.reconnects, outages.away, outages.current_s) == (2, 2, False, 0.0)
    assert outages.total_s > outages.longest_s >= 0.05  # the first lasted 50 ms, the second until released
    assert away_seen and (away_seen[0].away, away_seen[0].reconnects) == (True, 1)
    assert away_seen[0].total_s >= 0.05 + away_seen[0].current_s  # the current outage is counted in the total
    doc = summary.to_dict()
    assert doc["outages"] == 2 and doc["reconnects"] == 2 and doc["outage_s_total"] >= 0.05


def test_a_file_has_no_outage_figures(video_file):
    runner = Runner(FileSource(video_file), Pipeline(), max_frames=3)
    assert runner.run().source_outages is None
