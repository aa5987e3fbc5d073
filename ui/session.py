"""The session: one source, one pipeline, one runner, recording and snapshots; no widgets.

The window and its panels call these methods and listen to the signals; everything that touches frames
happens in the runner's threads, and a recording is finalised on a thread of its own (``recording``), so no
method here blocks the GUI thread for longer than a stop (``shutdown`` waits for recordings: quitting).
"""

from __future__ import annotations

import logging
import threading

import cv2
from PySide6.QtCore import QObject, Signal

from vidcv.errors import OutputError, VidcvError
from vidcv.events import RunEvent
from vidcv.fileio import ensure_parent, write_bytes_atomic
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline, Stage
from vidcv.presets import dump_preset, load_preset, parse_preset, save_preset
from vidcv.registry import Registry, default_registry
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink, VideoSink
from vidcv.sinks.video import encode_image, keep_killed_recording
from vidcv.sources import parse_source
from vidcv.ui.bridge import EventBridge, FrameBridge
from vidcv.ui.recording import Recording, RecordingCloser

log = logging.getLogger(__name__)


class Session(QObject):
    """Owns the run. Signals are emitted in the GUI thread."""

    source_opened = Signal(str)  # description of the new source
    source_failed = Signal(str)  # the error message
    pipeline_changed = Signal()  # stages added, removed, moved, enabled or re-parametrised
    preset_changed = Signal()  # loaded, saved, or the modified mark changed
    recording_changed = Signal(bool)  # recording or not (stopped: the file is being finalised)
    recording_finished = Signal(str, str)  # path, "" or the error: the stopped recording is complete
    run_event = Signal(object)  # an event of the current run (vidcv.events), in the GUI thread

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
        if self.runner is not None:
            self.runner.stop(timeout=2.0)
            self.runner = None

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop, and wait until every stopped recording is complete on disk (quitting); False if one is still
        being written after ``timeout`` seconds."""
        self.stop()
        return self.closer.wait(timeout)

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
