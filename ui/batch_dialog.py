"""The Batch dialog (File > Batch...): the current pipeline over chosen video files or folders into an output
folder, as ``vidcv batch`` does with the local engine; one row per input, an overall bar, Cancel.

The batch runs in a thread of its own (``vidcv-batch``) on a copy of the pipeline taken when Start is pressed
(its preset text), so edits made meanwhile in the window do not reach it; its events come to the GUI thread
through a queued Qt signal (``BatchBridge``).
"""

from __future__ import annotations

import logging
import os
import threading

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vidcv.batch.driver import BatchOptions, BatchReport, run_batch
from vidcv.batch.events import BatchEnded, BatchEvent, BatchStarted, InputFinished, InputProgress, InputStarted
from vidcv.batch.inputs import common_parent, expand_inputs
from vidcv.batch.ledger import LEDGER_NAME
from vidcv.errors import VidcvError, error_line
from vidcv.fileio import ensure_parent
from vidcv.presets import dump_preset, parse_preset
from vidcv.redact import redact
from vidcv.registry import Registry
from vidcv.ui.session import Session
from vidcv.ui.style import ERROR

log = logging.getLogger(__name__)

RED = ERROR.name()
COLUMNS = ("Input", "Status", "Frames", "fps")


class BatchBridge(QObject):
    """Batch events from the batch's thread to the GUI thread: ``event(BatchEvent)`` for each event,
    ``ended(report or None, error text)`` once, when ``run_batch`` returned or raised."""

    batch_event = Signal(object)  # not "event": that name is QObject.event(), which Qt calls
    ended = Signal(object, str)

    def forward(self, event: BatchEvent) -> None:  # the batch's thread
        self.batch_event.emit(event)


def _run(
    preset: str,
    registry: Registry,
    sources: list[str],
    options: BatchOptions,
    stop: threading.Event,
    bridge: BatchBridge,
) -> None:
    """The batch's thread: the pipeline rebuilt from its preset text, the batch, then ``ended``."""
    report: BatchReport | None = None
    error = ""
    try:
        pipeline = parse_preset(preset, registry, origin="the window's pipeline")
        try:
            report = run_batch(sources, pipeline, options, bridge.forward, stop)
        finally:
            pipeline.close()
    except VidcvError as exc:  # the pipeline, the output folder (another batch writing there), the engine
        error = str(exc)
    except Exception as exc:  # said in the dialog's one line, the traceback in the log
        log.exception("the batch stopped")
        error = f"the batch stopped: {error_line(exc)}"
    bridge.ended.emit(report, error)


class BatchDialog(QDialog):
    """Inputs (files or folders), output folder, workers, save video, max frames; Start runs the window's
    pipeline as it is then, with the local engine. What cannot start is said in one red line."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Batch: the current pipeline over many videos")
        self.specs: list[str] = []  #: files and folders chosen, expanded at Start
        self.sources: list[str] = []  #: the videos of the batch running or last run
        self.report: BatchReport | None = None
        self.out_dir = ""  #: the output folder of the batch running or last run
        self.interrupted = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._frames: dict[int, int] = {}  #: frames so far of each running input
        self._done_frames = 0  #: frames of the inputs finished in this run
        self._heading = ""  #: "processing N inputs with W workers"

        self.inputs = QListWidget()
        self.inputs.setMaximumHeight(90)
        add_files = QPushButton("Add files…")
        add_files.clicked.connect(self._choose_files)
        add_folder = QPushButton("Add folder…")
        add_folder.clicked.connect(self._choose_folder)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear_inputs)
        in_buttons = QHBoxLayout()
        for button in (add_files, add_folder, clear):
            in_buttons.addWidget(button)
        in_buttons.addStretch(1)
        in_box = QVBoxLayout()
        in_box.addWidget(self.inputs)
        in_box.addLayout(in_buttons)
        self.out = QLineEdit(os.path.join(os.path.expanduser("~"), "vidcv", "batch"))
        self.out.setMinimumWidth(360)
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.clicked.connect(self._browse_out)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        self.workers = QSpinBox()
        self.workers.setRange(1, max(64, 4 * (os.cpu_count() or 1)))
        self.workers.setValue(os.cpu_count() or 1)
        self.workers.setToolTip("worker processes, each taking one input at a time (default: one per core)")
        self.save_video = QCheckBox("Save each processed video (--save-video)")
        self.max_frames = QSpinBox()
        self.max_frames.setRange(0, 2**31 - 1)
        self.max_frames.setSpecialValueText("all")
        self.max_frames.setToolTip("process at most this many frames of each input (all: the whole video)")
        self.pipeline_label = QLabel()
        form = QFormLayout()
        form.addRow("Pipeline", self.pipeline_label)
        form.addRow("Inputs", in_box)
        form.addRow("Output folder", out_row)
        form.addRow("Workers", self.workers)
        form.addRow("", self.save_video)
        form.addRow("Max frames per input", self.max_frames)

        self.rows = QTreeWidget()
        self.rows.setRootIsDecorated(False)
        self.rows.setHeaderLabels(list(COLUMNS))
        self.rows.setMinimumHeight(160)
        header = self.rows.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        for column in (2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.bar = QProgressBar()  # says what is chosen until Start, then "%v of %m inputs" (show_idle)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton("Close", QDialogButtonBox.ButtonRole.RejectRole)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.rows, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.bridge = BatchBridge()
        self.bridge.batch_event.connect(self._event)
        self.bridge.ended.connect(self._ended)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.resize(720, 560)
        self._show_pipeline()
        self.show_idle()

    # --- choosing ---------------------------------------------------------------------------------------------
    def _show_pipeline(self) -> None:
        name = os.path.basename(self.session.preset_path) if self.session.preset_path else "unsaved"
        stages = len(self.session.pipeline.stages)
        self.pipeline_label.setText(
            f"{name}, {stages} stage{'s' if stages != 1 else ''}, as it is when Start is pressed"
        )

    def add_inputs(self, specs: list[str]) -> None:
        """Add video files or folders (a folder: its videos, subfolders included) to the inputs."""
        for spec in specs:
            if spec and spec not in self.specs:
                self.specs.append(spec)
                self.inputs.addItem(spec + (os.sep if os.path.isdir(spec) else ""))
        self.show_idle()

    def clear_inputs(self) -> None:
        self.specs.clear()
        self.inputs.clear()
        self.show_idle()

    def show_idle(self) -> None:
        """Before a batch has run, the bar says what is chosen, not a count of inputs that are not known yet (a
        folder's videos are found at Start): an empty bar read '0 of 100 inputs', Qt's default range. After a
        batch it keeps that batch's count."""
        if self.running or self.sources:
            return
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        if not self.specs:
            self.bar.setFormat("no inputs yet: add videos or a folder")
        else:
            chosen = len(self.specs)
            self.bar.setFormat(
                f"{chosen} file{'s' if chosen != 1 else ''} or folder{'s' if chosen != 1 else ''} chosen: "
                "Start processes the videos in them"
            )

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self,
            "Videos to process",
            self._start_folder(),
            "Videos (*.mp4 *.m4v *.mov *.avi *.mkv *.webm *.mpg *.ts);;All files (*)",
        )
        self.add_inputs(paths)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of videos", self._start_folder())
        if path:
            self.add_inputs([path])

    def _start_folder(self) -> str:
        return os.path.dirname(self.specs[-1]) if self.specs else os.path.expanduser("~")

    def _browse_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.out.text())
        if path:
            self.out.setText(path)

    def options(self) -> BatchOptions:
        return BatchOptions(
            self.out.text().strip(),
            "local",
            self.workers.value(),
            None,
            self.save_video.isChecked(),
            self.max_frames.value() or None,
        )

    # --- running ----------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True from Start until the batch's thread has said it ended."""
        return self._thread is not None

    def show_error(self, text: str) -> None:
        """One line under the list, in red."""
        self.message.setText(f"error: {redact(text).splitlines()[0] if text else 'unknown'}")
        self.message.setStyleSheet(f"color: {RED};")

    def start(self) -> bool:
        """Expand the inputs, check the output folder, and run the pipeline as it is now over them."""
        if self.running:
            return False
        self.message.setStyleSheet("")
        self.message.setText("")
        options = self.options()
        if not self.specs:
            self.show_error("no input: add video files or a folder of videos first")
            return False
        if not options.out_dir:
            self.show_error("no output folder: choose where the results go")
            return False
        try:
            sources = expand_inputs(self.specs, exclude=[options.out_dir])
            if os.path.exists(options.out_dir) and not os.path.isdir(options.out_dir):
                raise VidcvError(f"the output folder {options.out_dir} is a file: choose a folder")
            ensure_parent(os.path.join(options.out_dir, LEDGER_NAME))
        except VidcvError as exc:  # no video in a folder, an output folder that cannot be made or written
            self.show_error(str(exc))
            return False
        preset = dump_preset(self.session.pipeline)  # a copy: edits in the window from now on do not race
        self._show_pipeline()
        self.sources, self.report, self.interrupted = sources, None, False
        self.out_dir = os.path.abspath(options.out_dir)
        self._frames.clear()
        self._done_frames, self._heading = 0, f"processing {len(sources)} inputs"
        self._fill_rows(sources)
        self.bar.setFormat("%v of %m inputs")
        self.bar.setRange(0, len(sources))
        self.bar.setValue(0)
        self.message.setText(
            f"starting {len(sources)} input{'s' if len(sources) != 1 else ''} with "
            f"{min(options.workers or 1, len(sources))} worker(s)…"
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_run,
            name="vidcv-batch",
            daemon=True,
            args=(preset, self.session.registry, sources, options, self._stop, self.bridge),
        )
        self._thread.start()
        self.start_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        return True

    def _fill_rows(self, sources: list[str]) -> None:
        self.rows.clear()
        parent = common_parent(sources)
        for source in sources:
            item = QTreeWidgetItem([os.path.relpath(os.path.abspath(source), parent), "waiting", "", ""])
            item.setToolTip(0, source)
            for column in (2, 3):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.rows.addTopLevelItem(item)

    def row(self, index: int) -> QTreeWidgetItem:
        item = self.rows.topLevelItem(index)
        assert item is not None  # a row for every input
        return item

    def statuses(self) -> list[str]:
        """Each row's status text, in input order."""
        return [self.row(i).text(1) for i in range(self.rows.topLevelItemCount())]

    def _event(self, event: BatchEvent) -> None:  # GUI thread
        if isinstance(event, BatchStarted):
            workers = f"{event.workers} worker{'s' if event.workers != 1 else ''}"
            skipped = f", {event.skipped} complete from an earlier run" if event.skipped else ""
            self._heading = f"processing {event.inputs} inputs with {workers}{skipped}"
            self._show_running()
        elif isinstance(event, InputStarted):
            self._set(event.index, "running", "0", "")
            self.row(event.index).setToolTip(1, f"in {event.worker}")
        elif isinstance(event, InputProgress):
            self._frames[event.index] = event.frames
            self._set(event.index, "running", str(event.frames), "")
            self._show_running()
        elif isinstance(event, InputFinished):
            self._finished(event.index, event.record.status, event.record.frames, event.record.fps, event.record.error)
        elif isinstance(event, BatchEnded):
            self.interrupted = event.interrupted

    def _show_running(self) -> None:
        if self.running and not self._stop.is_set():
            frames = self._done_frames + sum(self._frames.values())
            self.message.setText(f"{self._heading}… {frames} frames so far")

    def _set(self, index: int, status: str, frames: str, fps: str) -> None:
        item = self.row(index)
        item.setText(1, status)
        item.setText(2, frames)
        item.setText(3, fps)

    def _finished(self, index: int, status: str, frames: int, fps: float, error: str | None) -> None:
        self._frames.pop(index, None)
        if status != "skipped":
            self._done_frames += frames
        item = self.row(index)
        if status == "failed":
            text = f"failed: {redact(error or 'unknown error')}"
            self._set(index, text, str(frames), "")
            item.setToolTip(1, text)
            for column in range(len(COLUMNS)):
                item.setForeground(column, QBrush(QColor(RED)))
        elif status == "skipped":
            self._set(index, "skipped (complete from an earlier run)", str(frames), "")
        else:
            self._set(index, "done", str(frames), f"{fps:.1f}")
        self.bar.setValue(self.bar.value() + 1)
        self._show_running()

    def _ended(self, report: BatchReport | None, error: str) -> None:  # GUI thread
        if self._thread is not None:
            self._thread.join()  # it has returned from run_batch: this is its last step
        self._thread = None
        self.report = report
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Close")
        kept = {s.source: s for s in report.stopped if s.kept} if report is not None else {}
        for i, status in enumerate(self.statuses()):
            if status in ("waiting", "running"):
                stopped = kept.get(self.sources[i]) if i < len(self.sources) else None
                if stopped is not None:
                    text = f"cancelled ({stopped.kept} frames kept: resumes at frame {stopped.resume_frame})"
                else:
                    text = "cancelled (not kept)" if status == "running" else "not started"
                self._set(i, text, self.row(i).text(2), "")
        if report is None:
            self.show_error(error)
            return
        self.message.setStyleSheet(f"color: {RED};" if report.count("failed") else "")
        self.message.setText(self.summary())

    def summary(self) -> str:
        """The final line: what was done, failed and skipped, frames and speed, where the results are."""
        report = self.report
        if report is None:
            return ""
        text = (
            f"done {report.count('ok')}, failed {report.count('failed')}, skipped {report.count('skipped')}; "
            f"{report.frames} frames at {report.fps:.1f} fps in {report.wall_s:.1f} s; results in "
            f"{self.out_dir}"
        )
        failed = [self.row(i).text(0) for i, status in enumerate(self.statuses()) if status.startswith("failed")]
        if failed:
            text += f"; failed: {', '.join(failed)} (hover a row for its error)"
        if report.interrupted:
            total = len(report.records) + len(report.not_done)
            resumable = [s for s in report.stopped if s.kept]
            kept = (
                f", {len(resumable)} in progress kept ({report.kept} frames) to resume where they stopped"
                if resumable
                else ""
            )
            text = (
                f"cancelled: {len(report.records)} of {total} inputs finished and kept{kept} (Start again does the "
                f"rest); " + text
            )
        return text

    def cancel(self) -> None:
        """Stop a running batch (finished inputs are kept; the ones in hand resume where they stopped when their
        pipeline has no state, else restart next time), or close."""
        if self.running:
            self._stop.set()
            self.cancel_button.setEnabled(False)
            self.message.setStyleSheet("")
            self.message.setText("cancelling: the inputs in hand stop, the finished ones are kept…")
            return
        self.reject()

    def reject(self) -> None:
        """Escape or Close: cancels a running batch first (the dialog stays to show how it ended)."""
        if self.running:
            self.cancel()
            return
        super().reject()

    def shutdown(self) -> None:
        """Stop a running batch and wait for its thread (closing the dialog, quitting the application)."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            thread.join()

    def closeEvent(self, event) -> None:
        if self.running:
            self.shutdown()
            QCoreApplication.sendPostedEvents()  # the batch's last events and ``ended``
        super().closeEvent(event)
