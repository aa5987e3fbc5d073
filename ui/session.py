"""The session: one source, one pipeline, one runner, recording and snapshots; no widgets.

The window and its panels call these methods and listen to the signals; everything that touches frames
happens in the runner's threads, and a recording is finalised on a thread of its own (``recording``), so no
method here blocks the GUI thread for longer than a stop (``shutdown`` waits for recordings: quitting).
Kept scene events (``keep_events``: events.jsonl and a clip per event, as ``vidcv run --events-dir``) follow
the run: a fresh events sink for every run and after every seek, the one it replaces finished on a thread of
its own as recordings are.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
from PySide6.QtCore import QObject, Signal

from vidcv.errors import OutputError, VidcvError, error_line
from vidcv.events import RunEvent
from vidcv.fileio import ensure_parent, write_bytes_atomic
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline, Stage
from vidcv.presets import dump_preset, load_preset, parse_preset, save_preset
from vidcv.registry import Registry, default_registry
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink, VideoSink
from vidcv.sinks.base import Sink
from vidcv.sinks.events import EventReceiver, EventsSink
from vidcv.sinks.video import encode_image, keep_killed_recording
from vidcv.sources import parse_source
from vidcv.ui.bridge import EventBridge, FrameBridge
from vidcv.ui.recording import Recording, RecordingCloser

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventsSetup:
    """Where and how the window keeps scene events: ``folder``/events.jsonl and a clip per event from ``pre_s``
    before it to ``post_s`` after; each event's record also goes to ``receivers`` (the events panel)."""

    folder: str
    pre_s: float = 5.0
    post_s: float = 5.0
    receivers: Sequence[EventReceiver] = field(default_factory=tuple)


class KeptEvents(Sink):
    """The runner's handle on an EventsSink, as ``Recording`` is on a video: ``detach`` takes it out of the run
    without closing it, so that its open clip is finished elsewhere. A run that ends with it attached closes it
    as usual."""

    def __init__(self, sink: EventsSink) -> None:
        self.sink = sink
        self.detached = False

    @property
    def path(self) -> str:  # type: ignore[override]
        return self.sink.path

    @property
    def frames(self) -> int:  # type: ignore[override]
        return self.sink.frames

    @property
    def label(self) -> str:
        return self.sink.label

    @property
    def queue_depth(self) -> int:
        return self.sink.queue_depth

    def write(self, frame: Frame) -> None:
        self.sink.write(frame)

    def close(self) -> None:
        if not self.detached:
            self.sink.close()

    def detach(self, runner: Runner | None) -> None:
        """Out of ``runner``'s sinks after the frame being written (if any); the sink stays open."""
        self.detached = True
        if runner is not None:
            runner.remove_sink(self)


class SinkCloser(QObject):
    """Closes detached events sinks on threads of their own (their open clip is encoded to its end);
    ``finished(folder, error)`` fires in the GUI thread once one is closed, ``error`` "" when all went well."""

    finished = Signal(str, str)
    _done = Signal(object, str, str)  # from the closing thread; queued to this object's (the GUI) thread

    def __init__(self) -> None:
        super().__init__()
        self._done.connect(self._report)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def close(self, kept: KeptEvents) -> None:
        thread = threading.Thread(target=self._close, args=(kept,), daemon=True, name="vidcv-events-close")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _close(self, kept: KeptEvents) -> None:  # closing thread
        error = ""
        try:
            kept.sink.close()
        except VidcvError as exc:
            error = str(exc)
        except Exception as exc:  # said in the window rather than lost on a thread
            log.exception("finishing the events in %s failed", kept.label)
            error = f"finishing the events in {kept.label} failed: {error_line(exc)}"
        self._done.emit(threading.current_thread(), kept.sink.folder or "", error)

    def _report(self, thread: threading.Thread, folder: str, error: str) -> None:  # GUI thread
        thread.join()  # it has said its last word: it ends now
        with self._lock:
            self._threads = [t for t in self._threads if t is not thread]
        self.finished.emit(folder, error)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every events sink being finished (quitting); False if one is still going after ``timeout``."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)


class Session(QObject):
    """Owns the run. Signals are emitted in the GUI thread."""

    source_opened = Signal(str)  # description of the new source
    source_failed = Signal(str)  # the error message
    pipeline_changed = Signal()  # stages added, removed, moved, enabled or re-parametrised
    preset_changed = Signal()  # loaded, saved, or the modified mark changed
    recording_changed = Signal(bool)  # recording or not (stopped: the file is being finalised)
    recording_finished = Signal(str, str)  # path, "" or the error: the stopped recording is complete
    run_event = Signal(object)  # an event of the current run (vidcv.events), in the GUI thread
    events_changed = Signal(bool)  # keeping scene events or not
    events_failed = Signal(str)  # a new run could not keep events (its folder): no longer keeping them
    events_finished = Signal(str, str)  # folder, "" or the error: an events sink let go has its clip complete

    def __init__(self, registry: Registry | None = None) -> None:
        super().__init__()
        self.registry = registry or default_registry()
        self.pipeline = Pipeline()
        self.bridge = FrameBridge()
        self.events = EventBridge()
        self.events.received.connect(self._run_event)
        self.runner: Runner | None = None
        self.source_spec = ""
        self.source_error = ""
        self.realtime = True
        self.preset_path = ""
        self.modified = False
        self.recording: Recording | None = None
        self.closer = RecordingCloser()
        self.closer.finished.connect(self.recording_finished)
        self._last_frame: Frame | None = None
        self._last_lock = threading.Lock()
        self.events_setup: EventsSetup | None = None  # how every run keeps its scene events (None: not at all)
        self.kept_events: KeptEvents | None = None  # the current run's events sink
        self.events_closer = SinkCloser()
        self.events_closer.finished.connect(self.events_finished)

    # --- source and run ---------------------------------------------------------------------------------
    def open_source(self, spec: str) -> bool:
        """Stop the current run and start one on ``spec``; False (and source_failed) if it cannot open."""
        self.stop()
        self.source_spec = spec
        try:
            source = parse_source(spec)
            runner = Runner(
                source,
                self.pipeline,
                [CallbackSink(self._on_frame)],
                realtime=self.realtime,
                hold_at_end=True,
                editable=True,  # edits while it runs: a preset's decode: luma is followed frame by frame
            )
            self.events.watch(runner)
            self.runner = runner  # before open: its opening events are this run's
            runner.open()
        except VidcvError as exc:
            self.runner = None
            self.source_error = str(exc)
            self.source_failed.emit(self.source_error)
            return False
        self.source_error = ""
        self.pipeline.request_reset()
        self._renew_events()
        runner.start()
        self.source_opened.emit(source.describe())
        return True

    def _run_event(self, runner: Runner, event: RunEvent) -> None:  # GUI thread
        if runner is self.runner:  # a replaced run may still speak while it stops
            self.run_event.emit(event)

    def retry(self) -> bool:
        return self.open_source(self.source_spec) if self.source_spec else False

    def _on_frame(self, frame: Frame) -> None:  # sink thread
        with self._last_lock:
            self._last_frame = frame
        self.bridge.push(frame)

    @property
    def last_frame(self) -> Frame | None:
        with self._last_lock:
            return self._last_frame

    def stop(self) -> None:
        """Stop the run (joins within 2 s); a recording in progress is finalised in the background."""
        if self.recording is not None:
            self.stop_recording()
        self._let_go_events()
        if self.runner is not None:
            self.runner.stop(timeout=2.0)
            self.runner = None

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop, and wait until every stopped recording is complete on disk (quitting); False if one is still
        being written after ``timeout`` seconds."""
        self.stop()
        try:
            self.pipeline.close()  # what a stage writes at the end (a heatmap's image): written when the window quits
        except Exception as exc:  # noqa: BLE001 - quitting goes on; the reason is said
            log.warning("%s", exc)
        recordings = self.closer.wait(timeout)
        return self.events_closer.wait(timeout) and recordings

    # --- transport ---------------------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self.runner is not None and self.runner.paused

    def toggle_play(self) -> None:
        runner = self.runner
        if runner is None:
            return
        if runner.paused:
            if runner.at_end:
                self._renew_events()  # the clips' time starts again with the video
                runner.seek(0)
            runner.resume()
        else:
            runner.pause()

    def step(self) -> None:
        if self.runner is not None:
            if not self.runner.paused:
                self.runner.pause()
            if self.runner.at_end:
                return
            self.runner.step()

    def seek(self, index: int) -> None:
        runner = self.runner
        if runner is None or not runner.source.seekable:
            return
        if self.kept_events is not None and self.kept_events.frames:
            self._renew_events()  # an events sink takes time going forward: a seek starts a new one
        runner.seek(index)
        if runner.paused:
            runner.step()  # show the frame sought

    def set_realtime(self, realtime: bool) -> None:
        self.realtime = realtime
        if self.runner is not None:
            self.runner.realtime = realtime

    # --- pipeline editing -----------------------------------------------------------------------------
    def _edited(self) -> None:
        self.modified = True
        self.pipeline_changed.emit()
        self.preset_changed.emit()
        self.refresh()

    def refresh(self) -> None:
        """While paused on a file, process the current frame again (the pipeline or a parameter changed)."""
        if self.runner is not None:
            self.runner.refresh()

    def add_stage(self, name: str, index: int | None = None) -> int:
        plugin = self.registry.create(name)
        index = len(self.pipeline) if index is None else index
        self.pipeline.add(plugin, index=index)
        self._edited()
        return index

    def remove_stage(self, index: int) -> None:
        stage = self.pipeline.remove(index)
        stage.plugin.close()
        self._edited()

    def move_stage(self, src: int, dst: int) -> None:
        if src != dst:
            self.pipeline.move(src, dst)
            self._edited()

    def duplicate_stage(self, index: int) -> int:
        stage = self.pipeline.stages[index]
        copy = type(stage.plugin)(**stage.plugin.values())
        self.pipeline.insert(index + 1, Stage(copy, stage.enabled))
        self._edited()
        return index + 1

    def set_enabled(self, index: int, enabled: bool) -> None:
        if self.pipeline.stages[index].enabled != enabled:
            self.pipeline.set_enabled(index, enabled)
            self._edited()

    def set_param(self, index: int, name: str, value: object) -> None:
        """Validated now, applied before the next frame; repeated edits before then coalesce."""
        self.pipeline.set_param(index, name, value)
        self.modified = True
        self.preset_changed.emit()
        self.refresh()

    # --- presets ------------------------------------------------------------------------------------------
    def pipeline_yaml(self) -> str:
        return dump_preset(self.pipeline)

    def load_preset(self, path: str) -> None:
        """Replace the stages with a preset's (raises VidcvError with the preset's own message)."""
        loaded = load_preset(path, self.registry)
        self._replace(loaded)
        self.preset_path = path
        self.modified = False
        self.pipeline_changed.emit()
        self.preset_changed.emit()

    def load_pipeline_yaml(self, text: str, preset_path: str = "") -> None:
        self._replace(parse_preset(text, self.registry, origin=preset_path or "<saved session>"))
        self.preset_path = preset_path
        self.pipeline_changed.emit()
        self.preset_changed.emit()

    def _replace(self, new: Pipeline) -> None:
        old = self.pipeline.stages
        self.pipeline.set_stages(new.stages)
        self.pipeline.description = new.description  # saved back with the stages
        self.pipeline.decode = new.decode  # bgr, or the opt-in luma path, as vidcv run takes it with this preset
        self.pipeline.request_reset()
        for stage in old:
            stage.plugin.close()
        self.refresh()

    def save_preset(self, path: str) -> None:
        save_preset(self.pipeline, path)
        self.preset_path = path
        self.modified = False
        self.preset_changed.emit()

    # --- outputs ------------------------------------------------------------------------------------------
    def start_recording(self, path: str) -> str | None:
        """Record the processed frames to ``path`` from the next frame on. A recording of an earlier vidcv that
        was killed, left at ``path``'s temporary name, is kept beside it as NAME.recovered.mp4 (as `vidcv run`
        does) rather than overwritten: its path is returned (else None)."""
        if self.runner is None:
            raise VidcvError("nothing to record: open a source first")
        if self.recording is not None:
            self.stop_recording()
        if self.closer.busy(path):
            raise VidcvError(f"{path} is still being finished: record again in a moment")
        try:
            kept = keep_killed_recording(path)
        except OSError as exc:
            log.warning("could not keep the cut-off recording left at %s: %s", path, exc.strerror or exc)
            kept = None
        if kept:
            log.warning("kept %s: the recording of an earlier run that was killed, up to its last whole second", kept)
        sink = Recording(VideoSink(path, self.runner.source.fps or 30.0))
        self.runner.add_sink(sink)
        self.recording = sink
        self.recording_changed.emit(True)
        return kept

    def stop_recording(self) -> str | None:
        """Stop recording at once and finalise the file on a thread of its own (``recording_finished`` says when
        it is complete, or why not); returns its path (None if nothing was recording)."""
        sink, self.recording = self.recording, None
        if sink is None:
            return None
        sink.detach(self.runner)
        self.closer.close(sink)
        self.recording_changed.emit(False)
        return sink.path

    def keep_events(self, setup: EventsSetup | None) -> None:
        """Keep the scene events of this run and of every next one as ``setup`` says; None stops keeping them
        (the open clip is finished on a thread of its own: ``events_finished`` says when). Raises VidcvError,
        keeping nothing, when the folder cannot be written."""
        self._let_go_events()
        self.events_setup = None
        if setup is not None and self.runner is not None:
            self._attach_events(setup)
        self.events_setup = setup
        self.events_changed.emit(setup is not None)

    def _attach_events(self, setup: EventsSetup) -> None:
        runner = self.runner
        assert runner is not None
        try:
            sink = EventsSink(
                setup.folder,
                setup.pre_s,
                setup.post_s,
                runner.source.fps or 30.0,
                receivers=setup.receivers,
                source=runner.source.label,
            )
        except OSError as exc:  # making the folder (a file in the way): said as the sink says its own errors
            raise OutputError(f"cannot keep events in {setup.folder}: {exc.strerror or exc}") from None
        self.kept_events = KeptEvents(sink)
        runner.add_sink(self.kept_events)

    def _let_go_events(self) -> None:
        """The current events sink out of the run, finished on a thread of its own."""
        kept, self.kept_events = self.kept_events, None
        if kept is not None:
            kept.detach(self.runner)
            self.events_closer.close(kept)

    def _renew_events(self) -> None:
        """A fresh events sink for the run (a new source, a seek), as ``events_setup`` says; one that cannot be
        made ends keeping events, said through ``events_failed``."""
        self._let_go_events()
        if self.events_setup is None or self.runner is None:
            return
        try:
            self._attach_events(self.events_setup)
        except VidcvError as exc:
            self.events_setup = None
            self.events_failed.emit(str(exc))
            self.events_changed.emit(False)

    def snapshot(self, path: str) -> str:
        """Write the current processed frame as an image (temporary name, then rename)."""
        frame = self.last_frame
        if frame is None:
            raise VidcvError("no frame to save yet")
        ensure_parent(path)
        try:
            data = encode_image(path, frame.image)
        except (cv2.error, OutputError):  # OpenCV 4.x raises for an extension it has no writer for
            raise VidcvError(f"could not write {path}: unknown image extension (use .png or .jpg)") from None
        write_bytes_atomic(path, data)  # OutputError naming the reason (disk full, a planted link)
        return path
