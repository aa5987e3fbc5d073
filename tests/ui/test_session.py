"""The GUI session (ui/session.py) without any widget: sources, run events, pipeline edits, presets, outputs."""

import os
import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QObject, Slot

from media import read_all, record_then_kill, vidcv_threads
from vidcv.bundled import sample_video
from vidcv.errors import VidcvError
from vidcv.events import RunEnded, SourceState, SourceStateChanged, StageError, StatsUpdated
from vidcv.frame import Frame

pytestmark = pytest.mark.timeout(60)

WAIT_MS = 10000


class Recorder(QObject):
    """Lives in the GUI thread: queued signals from the runner's threads reach it there, in order."""

    def __init__(self):
        super().__init__()
        self.items = []

    @Slot(object, object)
    def pair(self, runner, event):
        self.items.append((runner, event))


@pytest.fixture
def session(qtbot):
    from vidcv.ui.session import Session

    s = Session()
    yield s
    assert s.shutdown(10)  # stopped, and every recording complete on disk
    assert s.runner is None
    assert vidcv_threads() == []


def collect(signal):
    got = []
    signal.connect(lambda *args: got.append(args[0] if len(args) == 1 else args))
    return got


def run_to_end(qtbot, session, path):
    """Open a short file without pacing and wait until it is held at its end with its last frame shown."""
    n = len(read_all(path))
    session.set_realtime(False)
    assert session.open_source(path)
    qtbot.waitUntil(
        lambda: session.runner.at_end and session.last_frame is not None and session.last_frame.index == n - 1,
        timeout=WAIT_MS,
    )
    return n


# --- sources ------------------------------------------------------------------------------------------


def test_a_missing_file_fails_with_a_message_naming_it(qtbot, session, tmp_path):
    missing = str(tmp_path / "nowhere" / "missing.mp4")
    opened = collect(session.source_opened)
    with qtbot.waitSignal(session.source_failed, timeout=1000) as blocker:
        assert session.open_source(missing) is False
    assert missing in blocker.args[0]
    assert session.source_error == blocker.args[0]
    assert session.runner is None and opened == []
    assert session.source_spec == missing
    assert session.last_frame is None


def test_the_sample_plays_frames_and_stats_arrive_in_the_gui_thread(qtbot, session):
    ready = collect(session.bridge.frame_ready)
    events = []
    session.run_event.connect(lambda e: events.append((e, threading.current_thread() is threading.main_thread())))
    with qtbot.waitSignal(session.source_opened, timeout=1000) as blocker:
        assert session.open_source(sample_video()) is True
    assert "sample.mp4" in blocker.args[0]
    assert session.runner is not None and session.source_error == ""
    qtbot.waitUntil(lambda: len(ready) > 0, timeout=WAIT_MS)
    frame = session.bridge.take()
    assert isinstance(frame, Frame) and frame.image.shape == frame.source_image.shape
    assert session.last_frame is not None
    assert np.array_equal(session.last_frame.image, session.last_frame.source_image)  # empty pipeline
    qtbot.waitUntil(lambda: any(isinstance(e, StatsUpdated) for e, _ in events), timeout=WAIT_MS)
    assert all(in_gui for _, in_gui in events)
    stats = next(e for e, _ in events if isinstance(e, StatsUpdated))
    assert stats.paused is False and stats.position >= 0


def test_events_of_a_replaced_run_are_not_passed_on(qtbot, session, make_video):
    recorder = Recorder()
    session.events.received.connect(recorder.pair)  # after the session's own connection: delivered after it
    seen = collect(session.run_event)
    assert session.open_source(sample_video())
    qtbot.waitUntil(lambda: any(isinstance(e, StatsUpdated) for e in seen), timeout=WAIT_MS)
    old = session.runner
    assert session.open_source(make_video("second.mp4", 30))
    new = session.runner
    assert new is not None and new is not old and old.stopped
    seen.clear()  # nothing was delivered since: no event loop ran inside open_source
    # the new run's statistics come from its sink thread, queued after all the old run said while stopping;
    # by the time the recorder hears them, the session has handled everything queued before
    qtbot.waitUntil(lambda: any(r is new and isinstance(e, StatsUpdated) for r, e in recorder.items), timeout=WAIT_MS)
    old_end = [e for r, e in recorder.items if r is old and isinstance(e, RunEnded)]
    assert len(old_end) == 1 and old_end[0].stopped  # the old run did speak while it stopped...
    assert not any(e is old_end[0] for e in seen)  # ...but was not passed on
    from_new = [e for r, e in recorder.items if r is new]
    assert seen and all(any(e is x for x in from_new) for e in seen)
    # the same through the bridge's signal, deterministically
    stale, fresh = StageError(0, "stale", 1, "from the old run"), StageError(0, "fresh", 1, "from the new run")
    seen.clear()
    session.events.received.emit(old, stale)  # GUI thread: delivered at once
    assert seen == []
    session.events.received.emit(new, fresh)
    assert seen == [fresh]


def test_the_opening_events_of_the_new_run_are_passed_on(session):
    seen = collect(session.run_event)
    assert session.open_source(sample_video())
    states = [e.new for e in seen if isinstance(e, SourceStateChanged)]
    assert SourceState.OPEN in states


# --- pipeline editing -------------------------------------------------------------------------------------


def test_pipeline_edits_emit_and_mark_modified(session):
    changed, preset = collect(session.pipeline_changed), collect(session.preset_changed)
    names = lambda: [s.plugin_name for s in session.pipeline.stages]  # noqa: E731
    assert session.modified is False
    assert session.add_stage("blur") == 0
    assert session.modified is True and len(changed) == 1 and len(preset) == 1
    assert session.add_stage("flip") == 1
    assert session.add_stage("color", index=0) == 0
    assert names() == ["color", "blur", "flip"] and len(changed) == 3
    session.move_stage(2, 0)
    assert names() == ["flip", "color", "blur"] and len(changed) == 4 and len(preset) == 4
    session.move_stage(1, 1)  # no move, no signal
    assert len(changed) == 4
    session.set_enabled(1, False)
    assert session.pipeline.stages[1].enabled is False and len(changed) == 5
    session.set_enabled(1, False)  # unchanged: no signal
    assert len(changed) == 5
    session.set_param(2, "ksize", 9)  # only the preset changes (the stages are the same)
    assert len(changed) == 5 and len(preset) == 6
    assert session.duplicate_stage(2) == 3
    assert names() == ["flip", "color", "blur", "blur"] and len(changed) == 6
    original, copy = session.pipeline.stages[2], session.pipeline.stages[3]
    assert copy.plugin is not original.plugin and copy.plugin.values()["ksize"] == 9
    assert [session.pipeline.stage_name(i) for i in range(4)] == ["flip", "color", "blur#1", "blur#2"]
    session.duplicate_stage(1)  # a disabled stage's copy is disabled too
    assert names() == ["flip", "color", "color", "blur", "blur"]
    assert [s.enabled for s in session.pipeline.stages] == [True, False, False, True, True]
    session.remove_stage(0)
    assert names() == ["color", "color", "blur", "blur"]
    assert len(changed) == 8 and len(preset) == 9 and session.modified is True


def test_save_and_load_preset_round_trip(qtbot, session, tmp_path):
    session.add_stage("blur")
    session.set_param(0, "ksize", 7)
    session.add_stage("flip")
    session.set_enabled(1, False)
    path = str(tmp_path / "presets" / "mine.yaml")
    with qtbot.waitSignal(session.preset_changed, timeout=1000):
        session.save_preset(path)
    assert session.modified is False and session.preset_path == path
    assert os.listdir(tmp_path / "presets") == ["mine.yaml"]  # no partial file left
    saved_yaml = session.pipeline_yaml()
    # change everything, then load the preset back
    session.remove_stage(0)
    session.add_stage("color")
    assert session.modified is True
    changed = collect(session.pipeline_changed)
    with qtbot.waitSignal(session.preset_changed, timeout=1000):
        session.load_preset(path)
    assert len(changed) == 1
    assert session.modified is False and session.preset_path == path
    stages = session.pipeline.stages
    assert [s.plugin_name for s in stages] == ["blur", "flip"]
    assert stages[0].plugin.values()["ksize"] == 7
    assert [s.enabled for s in stages] == [True, False]
    assert session.pipeline_yaml() == saved_yaml


def test_loading_a_bad_preset_raises_and_keeps_the_pipeline(session, tmp_path):
    session.add_stage("flip")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages:\n  - plugin: no_such_plugin\n")
    with pytest.raises(VidcvError):
        session.load_preset(str(bad))
    assert [s.plugin_name for s in session.pipeline.stages] == ["flip"]
    assert session.preset_path == ""


# --- outputs ------------------------------------------------------------------------------------------------


def test_snapshot_writes_the_last_processed_frame(qtbot, session, make_video, tmp_path):
    session.add_stage("color")  # to gray: the snapshot is the processed image, not the source
    run_to_end(qtbot, session, make_video("short.mp4", 5))
    frame = session.last_frame
    assert frame.image.ndim == 2
    path = str(tmp_path / "snaps" / "shot.png")
    assert session.snapshot(path) == path
    written = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert written is not None and written.shape == frame.image.shape
    assert np.array_equal(written, frame.image)
    assert os.listdir(tmp_path / "snaps") == ["shot.png"]


def test_snapshot_without_a_frame_raises(session, tmp_path):
    with pytest.raises(VidcvError, match="no frame"):
        session.snapshot(str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()


def test_snapshot_with_an_unknown_extension_raises_a_user_error(qtbot, session, make_video, tmp_path):
    run_to_end(qtbot, session, make_video("short.mp4", 3))
    with pytest.raises(VidcvError, match="unknown image extension"):
        session.snapshot(str(tmp_path / "out" / "x.notanimage"))
    assert os.listdir(tmp_path / "out") == []  # no temporary file left either


def test_recording_writes_a_readable_video(qtbot, session, tmp_path):
    toggles = collect(session.recording_changed)
    assert session.open_source(sample_video())
    path = str(tmp_path / "rec" / "out.mp4")
    session.start_recording(path)
    assert toggles == [True]
    sink = session.recording
    assert sink is not None and sink.path == path
    qtbot.waitUntil(lambda: sink.frames >= 5, timeout=WAIT_MS)
    with qtbot.waitSignal(session.recording_finished, timeout=WAIT_MS) as finished:
        assert session.stop_recording() == path
        assert toggles == [True, False] and session.recording is None
    assert finished.args == [path, ""]
    assert session.stop_recording() is None  # nothing recording: nothing to do
    frames = read_all(path)
    assert len(frames) > 0 and len(frames) == sink.frames
    assert frames[0].shape == session.last_frame.source_image.shape
    assert os.listdir(tmp_path / "rec") == ["out.mp4"]
    assert session.runner is not None and session.runner.running  # the run goes on


def test_stop_finalises_a_recording_in_progress(qtbot, session, tmp_path):
    toggles = collect(session.recording_changed)
    assert session.open_source(sample_video())
    path = str(tmp_path / "rec.avi")
    session.start_recording(path)
    qtbot.waitUntil(lambda: session.recording.frames >= 2, timeout=WAIT_MS)
    assert session.shutdown(10)
    assert toggles == [True, False]
    assert session.recording is None and session.runner is None
    assert len(read_all(path)) > 0


def test_start_recording_without_a_source_raises(session, tmp_path):
    toggles = collect(session.recording_changed)
    with pytest.raises(VidcvError, match="open a source"):
        session.start_recording(str(tmp_path / "x.mp4"))
    assert session.recording is None and toggles == []
    assert not (tmp_path / "x.mp4").exists()


def test_stop_stops_the_runner(qtbot, session):
    assert session.open_source(sample_video())
    qtbot.waitUntil(lambda: session.last_frame is not None, timeout=WAIT_MS)
    runner = session.runner
    assert runner.running
    session.stop()
    assert session.runner is None
    assert runner.stopped and not runner.running
    assert runner.wait(0)
    assert vidcv_threads() == []
    session.stop()  # twice: nothing to do


def test_stopping_a_recording_returns_at_once_and_the_file_is_finalised_in_the_background(qtbot, session, tmp_path):
    assert session.open_source("pattern:320x240@30")
    path = str(tmp_path / "rec.mp4")
    session.start_recording(path)
    video = session.recording.video
    qtbot.waitUntil(lambda: video.frames >= 5, timeout=WAIT_MS)
    closing, release = threading.Event(), threading.Event()
    real_close = video.close

    def slow_close():  # a long recording's rewrite, held until the test lets it go
        closing.set()
        release.wait(30)
        real_close()

    video.close = slow_close
    finished = collect(session.recording_finished)
    assert session.stop_recording() == path  # returns while the file is still being finalised
    assert closing.wait(10) and finished == [] and not os.path.exists(path)
    assert [t.name for t in vidcv_threads()].count("vidcv-recording-close") == 1
    seen = session.last_frame.index
    qtbot.waitUntil(lambda: session.last_frame.index > seen + 3, timeout=WAIT_MS)  # the video goes on meanwhile
    with pytest.raises(VidcvError, match="still being finished"):
        session.start_recording(path)  # its temporary file is in use
    with qtbot.waitSignal(session.recording_finished, timeout=WAIT_MS) as done:
        release.set()
    assert done.args == [path, ""]
    assert len(read_all(path)) == video.frames >= 5 and os.listdir(tmp_path) == ["rec.mp4"]


def test_a_recording_that_cannot_be_finished_says_why(qtbot, session, tmp_path):
    from vidcv.fileio import visible_partial_name

    assert session.open_source("pattern:320x240@30")
    path = str(tmp_path / "rec.mp4")
    session.start_recording(path)
    qtbot.waitUntil(
        lambda: os.path.exists(visible_partial_name(path)), timeout=WAIT_MS
    )  # at the encoder's first packet
    os.remove(visible_partial_name(path))  # the file being written is gone (a cleaner, another program)
    with qtbot.waitSignal(session.recording_finished, timeout=WAIT_MS) as done:
        session.stop_recording()
    assert done.args[0] == path
    assert done.args[1].startswith(f"writing {path} failed: No such file or directory")
    assert "nothing playable was kept" in done.args[1] and "\n" not in done.args[1]
    assert os.listdir(tmp_path) == []


def test_a_killed_recording_left_at_the_same_name_is_kept_as_recovered(qtbot, session, tmp_path):
    from vidcv.fileio import visible_partial_name

    path = str(tmp_path / "rec.mp4")
    partial = visible_partial_name(path)
    record_then_kill(["pattern:320x240@30", "-q", "-o", path], partial)
    left = len(read_all(partial))
    assert left >= 30
    assert session.open_source("pattern:320x240@30")
    kept = session.start_recording(path)
    assert kept == str(tmp_path / "rec.recovered.mp4")
    assert len(read_all(kept)) == left  # the killed recording, whole fragments only, instead of overwritten
    qtbot.waitUntil(lambda: session.recording.frames >= 5, timeout=WAIT_MS)
    with qtbot.waitSignal(session.recording_finished, timeout=WAIT_MS) as done:
        session.stop_recording()
    assert done.args == [path, ""]
    assert sorted(os.listdir(tmp_path)) == ["rec.mp4", "rec.recovered.mp4"]
    assert len(read_all(kept)) == left


def test_quitting_writes_what_a_stage_saves_at_the_end(qtbot, session, make_video, tmp_path):
    # the heatmap's image is written when the pipeline closes: the window closes it when it quits
    heat = tmp_path / "heat.png"
    session.add_stage("heatmap")
    session.set_param(0, "save", str(heat))
    run_to_end(qtbot, session, make_video(frames=10))
    assert not heat.exists()
    session.shutdown(10)
    assert heat.is_file()
