"""The Extract dialog: the current source and pipeline into a dataset, with progress, reasons and cancel."""

from __future__ import annotations

import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from vidcv.dataset.extract import ExtractOptions, Extraction, prepare
from vidcv.errors import VidcvError
from vidcv.events import RunEnded, RunEvent, StatsUpdated
from vidcv.presets import dump_preset, parse_preset
from vidcv.runner import Runner
from vidcv.ui.bridge import EventBridge
from vidcv.ui.session import Session


class ExtractDialog(QDialog):
    """Builds the options, runs the extraction on its own runner (a copy of the pipeline), reports progress.

    ``dataset_chosen(DIR)`` tells the window where snapshots with labels go from now on.
    """

    dataset_chosen = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.job: Extraction | None = None
        self.setWindowTitle("Extract a dataset")
        self.out = QLineEdit(os.path.join(os.path.expanduser("~"), "vidcv", "datasets", "dataset"))
        self.out.textChanged.connect(self._fit_folder)
        self._fit_folder()
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        self.fmt = QComboBox()
        self.fmt.addItems(["yolo", "yolo-seg", "coco"])
        self.every = QSpinBox()
        self.every.setRange(1, 10000)
        self.every.setValue(5)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(0, 240)
        self.fps.setToolTip("keep at most this many frames per second (0: use 'every')")
        self.dedupe = QSpinBox()
        self.dedupe.setRange(0, 32)
        self.dedupe.setToolTip("skip frames within this many of 64 hash bits of the last kept one (0: off)")
        self.sharpness = QDoubleSpinBox()
        self.sharpness.setRange(0, 100000)
        self.negatives = QDoubleSpinBox()
        self.negatives.setRange(0, 10)
        self.negatives.setSingleStep(0.05)
        self.classes = QLineEdit()
        self.classes.setPlaceholderText("all classes")
        self.min_conf = QDoubleSpinBox()
        self.min_conf.setRange(0, 1)
        self.min_conf.setSingleStep(0.05)
        self.split = QLineEdit("0.8,0.1,0.1")
        self.split_by = QComboBox()
        self.split_by.addItems(["chunk", "frame"])
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        form = QFormLayout()
        form.addRow("Source", QLabel(session.source_spec or "(open a source first)"))
        form.addRow("Dataset folder", out_row)
        for label, widget in (("Format", self.fmt), ("Every N frames", self.every), ("or frames per second", self.fps),
                              ("Skip near-duplicates (bits)", self.dedupe), ("Minimum sharpness", self.sharpness),
                              ("Negatives per positive", self.negatives), ("Classes", self.classes),
                              ("Minimum confidence", self.min_conf), ("Split train,val,test", self.split),
                              ("Split by", self.split_by), ("Seed", self.seed)):
            form.addRow(label, widget)
        self.progress = QLabel("")
        self.progress.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton("Close", QDialogButtonBox.ButtonRole.RejectRole)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self.events = EventBridge()
        self.events.received.connect(self._run_event)

    def _fit_folder(self) -> None:
        """Wide enough to show the whole folder path (up to about 600 pixels; longer paths scroll)."""
        metrics = self.out.fontMetrics()
        need = metrics.horizontalAdvance(self.out.text()) + 2 * metrics.averageCharWidth() + 12
        self.out.setMinimumWidth(min(max(need, 280), 600))

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder", self.out.text())
        if path:
            self.out.setText(path)

    def options(self) -> ExtractOptions:
        return ExtractOptions(self.out.text(), self.fmt.currentText(), self.every.value(), self.fps.value(),
                              self.dedupe.value(), self.sharpness.value(), self.negatives.value(), self.classes.text(),
                              self.min_conf.value(), self.split.text(), self.split_by.currentText(), self.seed.value())

    def start(self) -> bool:
        """Start extracting the current source through a copy of the current pipeline."""
        spec = self.session.source_spec
        if not spec:
            self.progress.setText("Open a source first.")
            return False
        live = self.session.runner is not None and self.session.runner.source.live
        if live:
            self.session.stop()  # a camera or stream has one reader: the extraction takes it over
        pipeline = parse_preset(dump_preset(self.session.pipeline), self.session.registry)
        try:
            self.job = prepare(spec, pipeline, self.options())
        except VidcvError as exc:
            self.progress.setText(f"error: {exc}")
            return False
        self.dataset_chosen.emit(self.job.writer.root)
        self.events.watch(self.job.runner)
        self.job.runner.start()
        self.start_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        return True

    def _run_event(self, runner: Runner, event: RunEvent) -> None:
        if self.job is not None and runner is self.job.runner and isinstance(event, (StatsUpdated, RunEnded)):
            self.update_progress()

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.runner.running

    def update_progress(self) -> None:
        if self.job is None:
            return
        state = "extracting…" if self.running else "done."
        if self.job.runner.error is not None:
            state = f"stopped: {self.job.runner.error}"
        self.progress.setText(f"{state} {self.job.summary()}\nin {self.job.writer.root}")
        if not self.running:
            self.start_button.setEnabled(True)
            self.cancel_button.setText("Close")

    def cancel(self) -> None:
        """Cancel a running extraction (what was written stays a valid dataset), or close the dialog."""
        if self.running:
            self.job.runner.stop()
            self.update_progress()
            self.progress.setText("cancelled; " + self.progress.text())
            return
        self.reject()

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.running:
            self.job.runner.stop()
        super().closeEvent(event)
