"""The terminal progress of a run (vidcv/cli/progress.py): a run observer drawing a tqdm bar, and run_to_end."""

import io
import os
import re
import signal
import sys
from typing import ClassVar

import pytest
import tqdm

from media import vidcv_threads
from vidcv.cli.progress import Progress, run_to_end
from vidcv.events import RunEnded, SourceState, SourceStateChanged, StageError, StatsUpdated
from vidcv.pipeline import Pipeline
from vidcv.runner import Runner
from vidcv.sources import FileSource, PatternSource
from vidcv.stats import RunSummary, format_table


class FakeBar:
    """Stands in for tqdm.tqdm: records what Progress asks of its bar."""

    made: ClassVar[list["FakeBar"]] = []

    def __init__(self, **kw):
        self.kw, self.n, self.updates, self.postfixes, self.closed = kw, 0, [], [], False
        self.draws = []  # the postfix on screen at each redraw (tqdm redraws on update and refresh)
        FakeBar.made.append(self)

    def update(self, n):
        self.updates.append(n)
        self.n += n
        self.draws.append(self.postfixes[-1] if self.postfixes else {})

    def set_postfix(self, postfix, refresh=True):
        self.postfixes.append(dict(postfix))
        if refresh:
            self.refresh()

    def refresh(self):
        self.draws.append(self.postfixes[-1] if self.postfixes else {})

    def close(self):
        self.closed = True


@pytest.fixture
def fake_bar(monkeypatch):
    FakeBar.made = []
    monkeypatch.setattr(tqdm, "tqdm", FakeBar)  # Progress imports tqdm.tqdm when it enters
    return FakeBar.made


@pytest.fixture
def no_bar(monkeypatch):
    def refuse(*args, **kw):
        raise AssertionError("a disabled Progress made a bar")

    monkeypatch.setattr(tqdm, "tqdm", refuse)


def summary(frames, wall_s, dropped=0, recent_fps=999.0):
    """A run's figures: ``frames`` in ``wall_s`` seconds; ``recent_fps``, the rate of the last seconds that a
    statistics event carries as its ``fps``, is never what the bar shows."""
    return RunSummary(frames, frames + dropped, wall_s, recent_fps, dropped, recent_fps, None, None)


def stats(frames, wall_s, dropped=0):
    return StatsUpdated(summary(frames, wall_s, dropped), frames - 1, False, False)


def test_a_bar_follows_the_statistics_and_the_source_state_of_a_live_run(fake_bar):
    runner = Runner(PatternSource("pattern:", 64, 48), Pipeline())  # never started: the test plays the run
    emit = runner.events.emit
    with Progress(runner, total=10, enabled=True) as progress:
        assert len(fake_bar) == 1 and runner.events  # one bar, and the progress hears the run
        bar = fake_bar[0]
        assert bar.kw["total"] == 10 and bar.kw["unit"] == "frame" and bar.kw["leave"] is False
        assert bar.kw["file"] is sys.stderr
        emit(SourceStateChanged("pattern:", SourceState.CLOSED, SourceState.OPENING))
        emit(SourceStateChanged("pattern:", SourceState.OPENING, SourceState.OPEN))
        emit(stats(4, 0.2))  # 20 fps so far
        emit(SourceStateChanged("pattern:", SourceState.OPEN, SourceState.RECONNECTING, "attempt 3 in 2.0 s"))
        emit(StageError(0, "blur", 5, "bad frame"))  # not drawn
        emit(stats(7, 0.56, dropped=2))  # 12.5
        emit(SourceStateChanged("pattern:", SourceState.RECONNECTING, SourceState.OPEN, "reconnected"))
        emit(RunEnded(summary(10, 0.5, dropped=2, recent_fps=10.0), None, False))  # 20
        assert bar.updates == [4, 3, 3] and bar.n == 10
        reconnecting = "reconnecting attempt 3 in 2.0 s"
        assert bar.draws == [
            {"fps": "0.0", "dropped": "0", "source": "opening"},  # a state is drawn as it comes
            {"fps": "0.0", "dropped": "0"},
            {"fps": "20.0", "dropped": "0"},  # live: dropped shown
            # drawn at once, before the next statistics (frames stand still while a stream is away)
            {"fps": "20.0", "dropped": "0", "source": reconnecting},
            {"fps": "12.5", "dropped": "2", "source": reconnecting},
            {"fps": "12.5", "dropped": "2"},  # open again: no source state, drawn at once too
            {"fps": "20.0", "dropped": "2"},
        ]
        assert not bar.closed
    assert bar.closed and not runner.events  # closed and unsubscribed on exit
    progress(stats(12, 0.4))  # a late event draws nothing
    assert bar.updates == [4, 3, 3]


def test_a_file_run_shows_no_drops(fake_bar, video_file):
    runner = Runner(FileSource(video_file), Pipeline())
    with Progress(runner, total=60, enabled=True):
        runner.events.emit(stats(5, 0.05))
    assert fake_bar[0].postfixes == [{"fps": "100.0"}] and fake_bar[0].closed


def test_a_disabled_progress_never_makes_a_bar(no_bar, video_file):
    runner = Runner(FileSource(video_file), Pipeline())
    with Progress(runner, total=60, enabled=False) as progress:
        assert not runner.events  # not even subscribed
        runner.run()
        progress(stats(60, 0.6))  # drawing without a bar is a no-op
    assert progress._bar is None


def test_progress_is_off_when_stderr_is_no_terminal(no_bar, monkeypatch, video_file):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    progress = Progress(Runner(FileSource(video_file), Pipeline()), total=60)
    assert progress.enabled is False


def test_run_to_end_returns_none_for_a_normal_run_and_the_runner_has_ended(no_bar, video_file):
    runner = Runner(FileSource(video_file), Pipeline())  # a closed source: the runner opens it
    assert run_to_end(runner, 60, quiet=True) is None
    assert runner.wait(0) and not runner.running and runner.error is None
    assert runner.frames_written == 60 and vidcv_threads() == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_run_to_end_stops_on_a_real_signal_absorbs_a_second_and_restores_the_handlers(no_bar, signum):
    runner = Runner(PatternSource("pattern:", 64, 48, fps=30), Pipeline())  # live: it would never end
    sent = []

    def signal_twice(event):  # in a runner thread: the signals go to the process, handled in the main thread
        if isinstance(event, StatsUpdated) and event.summary.frames >= 3 and not sent:
            sent.append(signum)
            os.kill(os.getpid(), signum)
            os.kill(os.getpid(), signum)

    runner.subscribe(signal_twice)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert run_to_end(runner, None, quiet=True) == signum
    assert sent and runner.stopped and not runner.running and vidcv_threads() == []
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


class TerminalIO(io.StringIO):
    def isatty(self):
        return True


def test_run_to_end_draws_a_real_bar_on_a_terminal(monkeypatch, video_file):
    terminal = TerminalIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    bars = []

    class RecordedTqdm(tqdm.tqdm):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            bars.append(self)

        def close(self):
            self.n_at_close = self.n
            super().close()

    monkeypatch.setattr(tqdm, "tqdm", RecordedTqdm)
    runner = Runner(FileSource(video_file), Pipeline())
    assert run_to_end(runner, 60, quiet=False) is None
    assert len(bars) == 1
    bar = bars[0]
    # stop() joined the runner's threads inside the bar's lifetime, so the end of the run was drawn
    assert bar.total == 60 and bar.n_at_close == 60
    assert "fps=" in str(bar.postfix)
    assert "0/60" in terminal.getvalue()  # drawn on the terminal (stderr)
    # one rate: tqdm's own (frame/s) is not drawn, and the last fps drawn is the summary line's
    assert "frame/s" not in terminal.getvalue() and terminal.getvalue().count("fps=") >= 1
    assert bar.postfix == f"fps={runner.summary().fps:.1f}"
    assert f"= {runner.summary().fps:.1f} fps" in format_table(runner.summary())


def test_a_live_counter_shows_one_rate_too(monkeypatch):
    terminal = TerminalIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    runner = Runner(PatternSource("pattern:", 64, 48, fps=200), Pipeline(), max_frames=40)
    assert run_to_end(runner, None, quiet=False) is None
    drawn = terminal.getvalue()
    assert re.search(r"\d+frame \[\d\d:\d\d, fps=[\d.]+, dropped=\d+\]", drawn), drawn
    assert "frame/s" not in drawn and "it/s" not in drawn


def test_extract_of_a_file_has_a_total_thinned_by_every_and_fps(tmp_path):
    from vidcv.bundled import sample_video
    from vidcv.cli.extract import expected_frames
    from vidcv.dataset.extract import ExtractOptions, prepare
    from vidcv.presets import find_preset, load_preset

    pipeline = load_preset(find_preset("shapes"))
    for options, total in (
        (ExtractOptions(out=str(tmp_path / "a"), every=5), 60),  # the sample: 300 frames at 30 fps
        (ExtractOptions(out=str(tmp_path / "b"), fps=2.0), 20),
        (ExtractOptions(out=str(tmp_path / "c"), every=5, max_frames=7), 7),
    ):
        job = prepare(sample_video(), pipeline, options)
        try:
            assert expected_frames(job, options) == total
        finally:
            job.writer.close()
    pipeline.close()
