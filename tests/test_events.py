"""Run events: the source-state machine, the hub, and what a runner tells its observers."""

import threading

import numpy as np
import pytest

from media import write_video
from vidcv.errors import SourceError, TruncatedVideoError
from vidcv.events import TRANSITIONS, EventHub, RunEnded, SourceState, SourceStateChanged, StageError, StatsUpdated
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline
from vidcv.plugin import Plugin
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink
from vidcv.sources import FileSource, PatternSource
from vidcv.sources.base import Source

S = SourceState


def test_every_state_has_its_transitions_and_can_close():
    assert set(TRANSITIONS) == set(SourceState)
    for state in SourceState:
        assert state is S.CLOSED or state.can_become(S.CLOSED)
    assert S.CLOSED.can_become(S.OPENING) and not S.CLOSED.can_become(S.OPEN)
    assert S.ENDED.can_become(S.OPEN) and not S.ENDED.can_become(S.RECONNECTING)
    assert S.FAILED.can_become(S.OPENING) and not S.FAILED.can_become(S.OPEN)
    assert str(S.RECONNECTING) == "reconnecting" and S.OPEN == "open"


class Scripted(Source):
    """A source that goes where the test sends it."""

    def _open(self) -> None:
        pass

    def read(self) -> Frame | None:
        return None


def test_a_source_reports_each_change_once_and_refuses_a_wrong_one():
    seen = []
    src = Scripted("scripted")
    src.open(report=seen.append)
    src._set_state(S.OPEN)  # no change: nothing reported
    src._set_state(S.ENDED)
    with pytest.raises(ValueError, match="state ended cannot become reconnecting"):
        src._set_state(S.RECONNECTING)
    src.close()
    src.close()  # twice is safe and says nothing more
    assert [(e.old, e.new) for e in seen] == [
        (S.CLOSED, S.OPENING),
        (S.OPENING, S.OPEN),
        (S.OPEN, S.ENDED),
        (S.ENDED, S.CLOSED),
    ]
    assert all(e.source == "scripted" for e in seen)


def test_a_source_that_cannot_open_is_failed_with_the_reason(tmp_path):
    seen = []
    src = FileSource(str(tmp_path / "missing.mp4"))
    with pytest.raises(SourceError):
        src.open(report=seen.append)
    assert src.state is S.FAILED and seen[-1].new is S.FAILED and "no such video file" in seen[-1].detail


def test_the_hub_survives_a_failing_observer(caplog):
    got = []

    def broken(event):
        raise RuntimeError("observer bug")

    hub = EventHub([broken, got.append])
    assert hub
    event = StageError(0, "blur", 3, "boom")
    hub.emit(event)
    assert got == [event] and "observer bug" in caplog.text
    hub.unsubscribe(got.append)  # a bound method is a new object each time: nothing removed
    hub.emit(event)
    assert got == [event, event]
    assert not EventHub()


class Record:
    """An observer that keeps every event and lets a test wait for one kind."""

    def __init__(self) -> None:
        self.events = []
        self._cond = threading.Condition()

    def __call__(self, event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]

    def wait_for(self, predicate, timeout=10.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: any(predicate(e) for e in self.events), timeout), self.events


def test_a_file_run_tells_its_states_stats_and_end(video_file):
    record = Record()
    runner = Runner(FileSource(video_file), Pipeline(), observers=[record], stats_interval_s=0.0)
    summary = runner.run()
    states = [(e.old, e.new) for e in record.of(SourceStateChanged)]
    assert states == [(S.CLOSED, S.OPENING), (S.OPENING, S.OPEN), (S.OPEN, S.ENDED), (S.ENDED, S.CLOSED)]
    stats = record.of(StatsUpdated)
    assert stats and all(isinstance(e.summary.fps, float) for e in stats)
    assert [e.position for e in stats] == sorted(e.position for e in stats)
    end = record.events[-1]
    assert isinstance(end, RunEnded) and end.error is None and not end.stopped
    assert end.summary.frames == summary.frames == 60
    assert len(record.of(RunEnded)) == 1


class Boom(Plugin):
    name = "boom"

    def process(self, frame: Frame) -> Frame:
        if frame.index % 20 == 5:
            raise ValueError("bad frame")
        return frame


def test_stage_errors_reach_observers_with_stage_and_frame(video_file):
    record = Record()
    Runner(FileSource(video_file), Pipeline([Boom()]), observers=[record]).run()
    errors = record.of(StageError)
    assert [(e.stage_index, e.stage_name, e.frame_index) for e in errors] == [
        (0, "boom", 5),
        (0, "boom", 25),
        (0, "boom", 45),
    ]
    assert "ValueError: bad frame" in errors[0].message and "bypassed for that frame" in str(errors[0])


def test_a_truncated_file_fails_the_source_and_ends_the_run_with_the_error(tmp_path):
    data = open(write_video(str(tmp_path / "full.avi"), 60), "rb").read()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])  # AVI keeps its header: the run stops at the damage
    record = Record()
    runner = Runner(FileSource(str(cut)), Pipeline(), observers=[record])
    runner.run()
    end = record.of(RunEnded)[0]
    # a source failure ends the run after the frames already read (no stop asked): the error says why
    assert isinstance(end.error, TruncatedVideoError) and not end.stopped and end.summary.frames == 30
    assert [e.new for e in record.of(SourceStateChanged)][-2:] == [S.FAILED, S.CLOSED]


def test_stats_keep_coming_while_paused_and_say_so():
    record = Record()
    got = threading.Event()
    runner = Runner(
        PatternSource("pattern:", 64, 48, 200.0),
        Pipeline(),
        [CallbackSink(lambda f: got.set())],
        observers=[record],
        stats_interval_s=0.05,
    )
    runner.start()
    try:
        assert got.wait(5)
        runner.pause()
        record.wait_for(lambda e: isinstance(e, StatsUpdated) and e.paused)
        n = len(record.of(StatsUpdated))
        record.wait_for(lambda e: isinstance(e, StatsUpdated) and e.paused and record.of(StatsUpdated).index(e) > n)
    finally:
        runner.stop()
    end = record.of(RunEnded)[0]
    assert end.stopped and end.error is None


def test_a_stop_reaches_a_source_waiting_inside_read():
    """The runner opens the source with its own stop event: a source blocked in a long wait returns at once."""
    entered = threading.Event()

    class Slow(Source):
        live = True

        def _open(self) -> None:
            pass

        def read(self) -> Frame | None:
            entered.set()
            if self.wait(60.0):
                return None
            return Frame(np.zeros((4, 4, 3), np.uint8), 0, 0.0)

    runner = Runner(Slow("slow"), Pipeline())
    runner.start()
    assert entered.wait(5)
    assert runner.stop(timeout=2.0)


def test_a_source_opened_elsewhere_is_refused(video_file):
    src = FileSource(video_file)
    src.open()
    with pytest.raises(RuntimeError, match="already open"):
        Runner(src, Pipeline()).start()
    src.close()
