"""Dataset > Train…: train a YOLO model on a dataset in a child process, with epochs and mAP shown live, the
plots when it ends, Cancel, and Use in pipeline (the new ONNX model into the window's yolo stage).

Training never runs in the window's process: ``vidcv.training`` starts ultralytics in a child of its own and
this dialog reads its events on a timer, so the window stays responsive and a crash of the training is only a
failed run.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from vidcv.errors import VidcvError
from vidcv.training.events import Batch, EpochEnd, Failed, Finished, Note, Started, Status, Stopped, TrainingEvent
from vidcv.training.process import TrainingProcess, TrainOptions, start_training
from vidcv.ui.style import ERROR

MODELS = ("yolo11n.yaml", "yolov8n.yaml", "yolo11s.yaml")  #: built from their yaml: nothing is downloaded
PLOTS = ("results.png", "confusion_matrix.png", "BoxPR_curve.png", "PR_curve.png", "MaskPR_curve.png")
POLL_MS = 200


def metric_text(metrics: dict[str, float]) -> str:
    """``mAP50 0.812 · mAP50-95 0.534`` from ultralytics' metric names (a classifier's top-1 accuracy)."""
    shown = []
    for key, value in metrics.items():
        short = key.replace("(B)", "").replace("(M)", " mask").replace("(P)", " pose")
        if short.startswith(("mAP50", "accuracy_top1")) and value is not None:
            shown.append(f"{short} {value:.3f}")
    return " · ".join(shown[:4])


class TrainDialog(QDialog):
    """Options, live progress, plots and Use in pipeline (``use_model`` with the ONNX file)."""

    use_model = Signal(str)

    def __init__(self, dataset: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.process: TrainingProcess | None = None
        self.finished_event: Finished | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

        self.dataset = QLineEdit(dataset)
        browse = QPushButton("…")
        browse.clicked.connect(self._choose_dataset)
        row = QHBoxLayout()
        row.addWidget(self.dataset, 1)
        row.addWidget(browse)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItems(["(matching the dataset)", *MODELS])
        self.model.setToolTip(
            "a model yaml builds a new model (nothing is downloaded); a .pt file of yours is trained further "
            "(transfer learning)"
        )
        pick_pt = QPushButton("Weights…")
        pick_pt.clicked.connect(self._choose_weights)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(pick_pt)
        self.epochs = self._spin(1, 10000, 50)
        self.imgsz = self._spin(0, 4096, 0, "0: 640 (224 for a classifier)")
        self.batch = self._spin(1, 1024, 16)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "0"])
        self.out = QLineEdit()
        self.out.setPlaceholderText("runs/train-DATASET-N (a new folder)")

        form = QFormLayout()
        form.addRow("Dataset", row)
        form.addRow("Model", model_row)
        form.addRow("Epochs", self.epochs)
        form.addRow("Image size", self.imgsz)
        form.addRow("Batch", self.batch)
        form.addRow("Device", self.device)
        form.addRow("Run folder", self.out)

        self.progress = QProgressBar()
        self.progress.setFormat("epoch %v of %m")
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        self.plots = QTabWidget()
        self.plots.hide()

        self.start_button = QPushButton("Train")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.use_button = QPushButton("Use in pipeline")
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("put the trained ONNX model into the window's yolo stage (one is added if none)")
        self.use_button.clicked.connect(self._use)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.cancel_button, self.use_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.state)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.plots, 3)
        layout.addLayout(buttons)
        self.resize(720, 560)

    @staticmethod
    def _spin(low: int, high: int, value: int, tip: str = "") -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    def _choose_dataset(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder", self.dataset.text())
        if path:
            self.dataset.setText(path)

    def _choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights to start from", "", "PyTorch weights (*.pt)")
        if path:
            self.model.setEditText(path)

    def options(self) -> TrainOptions:
        model = self.model.currentText().strip()
        return TrainOptions(
            dataset=self.dataset.text().strip(),
            model="" if model.startswith("(") else model,
            epochs=self.epochs.value(),
            imgsz=self.imgsz.value(),
            batch=self.batch.value(),
            device=self.device.currentText(),
            out=self.out.text().strip(),
            workers=0,
        )

    # --- running --------------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the training; a bad option or dataset is said in one line and nothing starts."""
        if self.process is not None:
            return False
        try:
            self.process = start_training(self.options())
        except VidcvError as exc:
            self._say(str(exc), error=True)
            return False
        self.finished_event = None
        self.plots.clear()
        self.plots.hide()
        self.use_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, max(1, self.epochs.value()))
        self.progress.setValue(0)
        self._say("starting the training process…")
        self.timer.start()
        return True

    def cancel(self) -> None:
        """Stop the training: the last complete epoch's ``last.pt`` stays."""
        if self.process is not None:
            self.process.cancel()
            self._say("stopping after the batch in hand…")

    def poll(self) -> None:
        if self.process is None:
            return
        for event in self.process.poll():
            self.show_event(event)

    def show_event(self, event: TrainingEvent) -> None:
        if isinstance(event, Started):
            self.progress.setRange(0, event.epochs)
            self._say(
                f"training {event.task} on {event.device} from {os.path.basename(event.model)}; run: {event.run_dir}"
            )
        elif isinstance(event, Batch):
            losses = " ".join(f"{k} {v:.3f}" for k, v in event.losses.items())
            self.state.setText(f"epoch {event.epoch}/{event.epochs}, batch {event.batch}/{event.batches}  {losses}")
        elif isinstance(event, EpochEnd):
            self.progress.setValue(event.epoch)
            losses = " ".join(f"{k} {v:.3f}" for k, v in event.losses.items())
            self.log.appendPlainText(f"epoch {event.epoch}/{event.epochs}: {losses}  {metric_text(event.metrics)}")
        elif isinstance(event, Status):
            self.state.setText(event.text)
        elif isinstance(event, Note):
            self.log.appendPlainText(("warning: " if event.warning else "") + event.message)
        elif isinstance(event, Finished):
            self.finished_event = event
            self._ended(f"done: {event.onnx} ({metric_text(event.metrics)}); preset {event.preset}")
            self.show_plots(event.run_dir)
            self.use_button.setEnabled(True)
        elif isinstance(event, Stopped):
            kept = f"; {event.last_pt} keeps epoch {event.epoch}" if event.last_pt else "; no epoch was complete"
            self._ended(f"stopped{kept}")
        elif isinstance(event, Failed):
            self._ended(event.message, error=True)

    def _ended(self, text: str, error: bool = False) -> None:
        self.timer.stop()
        if self.process is not None:
            self.process.close()
            self.process = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._say(text, error)

    def show_plots(self, run_dir: str) -> None:
        """ultralytics' plots of the run, one tab each."""
        self.plots.clear()
        for name in PLOTS:
            path = os.path.join(run_dir, name)
            if not os.path.isfile(path):
                continue
            label = QLabel()
            label.setPixmap(QPixmap(path).scaledToWidth(640, Qt.TransformationMode.SmoothTransformation))
            scroll = QScrollArea()
            scroll.setWidget(label)
            self.plots.addTab(scroll, os.path.splitext(name)[0].replace("_", " "))
        self.plots.setVisible(self.plots.count() > 0)

    def _use(self) -> None:
        if self.finished_event is not None:
            self.use_model.emit(self.finished_event.onnx)

    def _say(self, text: str, error: bool = False) -> None:
        self.state.setText(text)
        self.state.setStyleSheet(f"color: {ERROR.name()};" if error else "")
        self.log.appendPlainText(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the dialog stops a training still running (its last complete epoch stays)."""
        if self.process is not None:
            self.process.cancel()
            self.process.wait(10)
            self.process.close()
            self.process = None
        self.timer.stop()
        super().closeEvent(event)
