"""Transport: play/pause, step, seek bar with time, real-time or as fast as possible, record, snapshot."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget


def clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


class Transport(QWidget):
    """Buttons and the seek bar; the window wires them to the session and calls ``update_position``."""

    seek_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fps, self._count = 30.0, 0  # of the source, for the time display (see configure)
        self.play_button = QPushButton("Pause")
        self.step_button = QPushButton("Step ▸")
        self.seek = QSlider(Qt.Orientation.Horizontal)
        self.seek.setEnabled(False)
        self.seek.setMinimumWidth(120)  # a wide side pane must not squeeze the seek bar away
        self.seek.sliderReleased.connect(lambda: self.seek_requested.emit(self.seek.value()))
        self.seek.actionTriggered.connect(self._clicked)
        self.time = QLabel("--:--")
        self.realtime = QCheckBox("Real-time")
        self.realtime.setChecked(True)
        self.realtime.setToolTip("play files at their own fps; off: as fast as possible")
        self.record_button = QPushButton("● Record")
        self.record_button.setCheckable(True)
        self.snapshot_button = QPushButton("Snapshot")
        self.dataset_button = QPushButton("+ Dataset")
        self.dataset_button.setToolTip("Add frame to dataset (L): the original frame, detections as proposed labels")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        for w in (self.play_button, self.step_button):
            layout.addWidget(w)
        layout.addWidget(self.seek, 1)
        layout.addWidget(self.time)
        for widget in (self.realtime, self.record_button, self.snapshot_button, self.dataset_button):
            layout.addWidget(widget)

    def _clicked(self, action: int) -> None:
        if not self.seek.isSliderDown() and action in (
            QSlider.SliderAction.SliderPageStepAdd,
            QSlider.SliderAction.SliderPageStepSub,
        ):
            self.seek_requested.emit(self.seek.sliderPosition())

    def configure(self, frame_count: int | None, fps: float | None, seekable: bool) -> None:
        self._fps = fps or 30.0
        self._count = frame_count or 0
        self.seek.setEnabled(seekable and bool(frame_count))
        self.seek.setRange(0, max(0, (frame_count or 1) - 1))
        self.seek.setPageStep(max(1, (frame_count or 10) // 10))

    def update_position(self, index: int, paused: bool, live: bool) -> None:
        self.play_button.setText("Play" if paused else "Pause")
        if not self.seek.isSliderDown() and self.seek.isEnabled():
            self.seek.setValue(index)
        if live:
            self.time.setText("live")
        else:
            self.time.setText(f"{clock(index / self._fps)} / {clock(self._count / self._fps)}  #{index}")
