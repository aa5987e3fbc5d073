"""The Extract dialog: the current source and pipeline into a dataset, with progress, reasons and cancel."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vidcv.dataset.extract import Extraction, ExtractOptions, prepare
from vidcv.dataset.formats import FORMATS
from vidcv.dataset.select import MODES
from vidcv.errors import VidcvError
from vidcv.events import RunEnded, RunEvent, StatsUpdated
from vidcv.presets import dump_preset, parse_preset
from vidcv.redact import redact
from vidcv.runner import Runner
from vidcv.ui.bridge import EventBridge
from vidcv.ui.session import Session
from vidcv.ui.style import ERROR


class ExtractDialog(QDialog):
    """Builds the options, runs the extraction on its own runner (a copy of the pipeline), reports progress.

    ``dataset_chosen(DIR, crops, merge)`` tells the window where snapshots with labels go from now on, and
    whether they are cut out (classify ``--crops``) and may add classes (``--merge``) as this extraction's.
    An option or dataset that cannot be used is said in one line under the options.
    """

    dataset_chosen = Signal(str, bool, bool)

    #: the format entry that keeps the folder's own format (``--format`` not given)
    OWN_FORMAT = "as the dataset in the folder (yolo for a new one)"

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
        self.fmt.addItem(self.OWN_FORMAT, None)
        self.fmt.setItemData(0, "an existing dataset keeps its format; a new one is yolo", Qt.ItemDataRole.ToolTipRole)
        for name, fmt in FORMATS.items():
            self.fmt.addItem(name, name)
            self.fmt.setItemData(self.fmt.count() - 1, fmt.help, Qt.ItemDataRole.ToolTipRole)
        self.crops = QCheckBox("Cut out detections (--crops)")
        self.crops.setToolTip(
            "classify: every detection cut out into the folder of its class, instead of the "
            "whole frame filed by a classifier's top class"
        )
        self.negatives_only = QCheckBox("Frames without objects only (--negatives-only)")
        self.negatives_only.setToolTip(
            "a pipeline without detectors, on purpose: every kept frame is a negative (background images)"
        )
        self.merge = QCheckBox("Merge into a folder vidcv did not make (--merge)")
        self.merge.setToolTip(
            "add to a dataset made by another tool (its own files stay as they are), or add "
            "new classes to an existing dataset"
        )
        self.fmt.currentIndexChanged.connect(self._format_changed)
        self.negatives_only.toggled.connect(self._format_changed)
        self.every = QSpinBox()
        self.every.setRange(1, 10000)
        self.every.setValue(5)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(0, 240)
        self.fps.setToolTip("keep at most this many frames per second (0: use 'every')")
        self.dedupe = QSpinBox()
        self.dedupe.setRange(0, 32)
        self.dedupe.setToolTip("skip frames within this many of 64 hash bits of the last kept one (0: off)")
        self.select = QComboBox()
        self.select.addItem("none: every sampled frame", "")
        for mode, help_text in MODES.items():
            self.select.addItem(mode, mode)
            self.select.setItemData(self.select.count() - 1, help_text, Qt.ItemDataRole.ToolTipRole)
        self.select.setToolTip("keep only the frames most worth labelling, Budget of them (--select)")
        self.budget = QSpinBox()
        self.budget.setRange(1, 1_000_000)
        self.budget.setValue(100)
        self.budget.setToolTip(
            "how many frames the selection keeps (--budget), with or without detections; every/fps thin the "
            "candidates first"
        )
        self.select.currentIndexChanged.connect(self._format_changed)
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
        self.source_label = QLabel(redact(session.source_spec) or "(open a source first)")
        form.addRow("Source", self.source_label)
        form.addRow("Dataset folder", out_row)
        for label, widget in (
            ("Format", self.fmt),
            ("", self.crops),
            ("", self.negatives_only),
            ("", self.merge),
            ("Every N frames", self.every),
            ("or frames per second", self.fps),
            ("Select frames worth labelling", self.select),
            ("Budget (frames)", self.budget),
            ("Skip near-duplicates (bits)", self.dedupe),
            ("Minimum sharpness", self.sharpness),
            ("Negatives per positive", self.negatives),
            ("Classes", self.classes),
            ("Minimum confidence", self.min_conf),
            ("Split train,val,test", self.split),
            ("Split by", self.split_by),
            ("Seed", self.seed),
        ):
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
        self._format_changed()

    def _fit_folder(self) -> None:
        """Wide enough to show the whole folder path (up to about 600 pixels; longer paths scroll)."""
        metrics = self.out.fontMetrics()
        need = metrics.horizontalAdvance(self.out.text()) + 2 * metrics.averageCharWidth() + 12
        self.out.setMinimumWidth(min(max(need, 280), 600))

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder", self.out.text())
        if path:
            self.out.setText(path)

    def _format_changed(self) -> None:
        """The format's help as the box's tooltip; --crops only for classify; a budget only with a selection;
        no negatives ratio with --negatives-only or a selection (which keeps frames without detections)."""
        self.fmt.setToolTip(str(self.fmt.currentData(Qt.ItemDataRole.ToolTipRole) or ""))
        self.crops.setEnabled(self.fmt.currentData() == "classify")
        selecting = bool(self.select.currentData())
        self.budget.setEnabled(selecting)
        self.negatives.setEnabled(not self.negatives_only.isChecked() and not selecting)

    def options(self) -> ExtractOptions:
        return ExtractOptions(
            out=self.out.text(),
            fmt=self.fmt.currentData(),
            every=self.every.value(),
            fps=self.fps.value(),
            dedupe=self.dedupe.value(),
            min_sharpness=self.sharpness.value(),
            negatives=self.negatives.value() if self.negatives.isEnabled() else 0.0,
            classes=self.classes.text(),
            min_conf=self.min_conf.value(),
            split=self.split.text(),
            split_by=self.split_by.currentText(),
            seed=self.seed.value(),
            crops=self.crops.isEnabled() and self.crops.isChecked(),
            negatives_only=self.negatives_only.isChecked(),
            merge=self.merge.isChecked(),
            select=self.select.currentData(),
            budget=self.budget.value() if self.select.currentData() else None,
        )

    def show_error(self, text: str) -> None:
        """One line under the options, in red (a dataset or option that cannot be used)."""
        self.progress.setText(f"error: {redact(text)}")
        self.progress.setStyleSheet(f"color: {ERROR.name()};")

    def start(self) -> bool:
        """Start extracting the current source through a copy of the current pipeline."""
        spec = self.session.source_spec
        self.progress.setStyleSheet("")
        if not spec:
            self.show_error("open a source first")
            return False
        options = self.options()
        live = self.session.runner is not None and self.session.runner.source.live
        if live:
            self.session.stop()  # a camera or stream has one reader: the extraction takes it over
        try:
            pipeline = parse_preset(dump_preset(self.session.pipeline), self.session.registry)
            self.job = prepare(spec, pipeline, options)
        except VidcvError as exc:  # DatasetError (this pipeline cannot label, a foreign folder), DatasetBusy, ...
            self.show_error(str(exc))
            if live:
                self.session.open_source(spec)  # the window shows the source again
            return False
        self.dataset_chosen.emit(self.job.writer.root, options.crops, options.merge)
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
        self.progress.setStyleSheet(f"color: {ERROR.name()};" if self.job.runner.error is not None else "")
        self.progress.setText(f"{state} {self.job.summary()}\nin {self.job.writer.root}")
        if not self.running:
            self.start_button.setEnabled(True)
            self.cancel_button.setText("Close")

    def cancel(self) -> None:
        """Cancel a running extraction (what was written stays a valid dataset), or close the dialog."""
        if self.running:
            assert self.job is not None  # running: a job is
            self.job.runner.stop()
            self.update_progress()
            self.progress.setText("cancelled; " + self.progress.text())
            return
        self.reject()

    def closeEvent(self, event) -> None:
        if self.running:
            assert self.job is not None  # running: a job is
            self.job.runner.stop()
        super().closeEvent(event)
