"""Transport: play/pause, step, seek bar with time, real-time or as fast as possible, record, snapshot."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStyle,
    QStyleOptionButton,
    QStylePainter,
    QWidget,
)

from vidcv.ui import style

#: glyphs that a text may start with for the icon's sake ("● Record", "■ Stop"): the icon shows them instead
GLYPHS = "●■▸▶ "
ICON_SIZE = QSize(16, 16)


def clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


class IconButton(QPushButton):
    """A push button with a drawn icon that stands for what the text begins with: "● Record" shows the
    record icon and "Record"; ``icon_only`` shows the icon alone (the text is its name, its tooltip says
    more). ``text()`` stays as set, for whoever reads it. As wide as the widest of ``texts``, the texts it
    takes in turn, so that switching them moves no button beside it (a second click hits Stop)."""

    def __init__(self, text: str, texts: tuple[str, ...] = (), icon_only: bool = False) -> None:
        super().__init__(text)
        self.texts = texts
        self.icon_only = icon_only

    def shown_text(self, text: str | None = None) -> str:
        """The words drawn beside the icon (for ``text``, or the button's own)."""
        return "" if self.icon_only else (self.text() if text is None else text).lstrip(GLYPHS)

    def sizeHint(self) -> QSize:
        """QPushButton's own measure, of the widest text it shows in turn, without the glyph the icon draws."""
        option = QStyleOptionButton()
        self.initStyleOption(option)
        metrics = self.fontMetrics()
        texts = [self.shown_text(t) for t in (self.text(), *self.texts)]
        option.text = max(texts, key=metrics.horizontalAdvance)
        width, height = metrics.horizontalAdvance(option.text), metrics.height()
        if not self.icon().isNull():
            width += self.iconSize().width() + (4 if option.text else 0)
            height = max(height, self.iconSize().height())
        size = QSize(width, height)
        return self.style().sizeFromContents(QStyle.ContentsType.CT_PushButton, option, size, self)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = self.shown_text()
        painter = QStylePainter(self)
        painter.drawControl(QStyle.ControlElement.CE_PushButton, option)


def button(
    text: str,
    icon: str,
    tip: str,
    checked_icon: str | None = None,
    texts: tuple[str, ...] = (),
    icon_only: bool = False,
) -> IconButton:
    made = IconButton(text, texts, icon_only)
    made.setIcon(style.icon(icon, checked_icon))
    made.setIconSize(ICON_SIZE)
    made.setToolTip(tip)
    return made


class Transport(QWidget):
    """Buttons and the seek bar; the window wires them to the session and calls ``update_position``."""

    seek_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fps, self._count = 30.0, 0  # of the source, for the time display (see configure)
        # playback: icons alone, as players have them (their texts still name them, for screen readers)
        self.play_button = button("Pause", "pause", "Play / pause (Space)", icon_only=True)
        self.step_button = button("Step", "step", "Step one frame (Right)", icon_only=True)
        self.seek = QSlider(Qt.Orientation.Horizontal)
        self.seek.setEnabled(False)
        self.seek.setMinimumWidth(120)  # a wide side pane must not squeeze the seek bar away
        self.seek.sliderReleased.connect(lambda: self.seek_requested.emit(self.seek.value()))
        self.seek.actionTriggered.connect(self._clicked)
        self.time = QLabel("--:--")
        self.realtime = QCheckBox("Real-time")
        self.realtime.setChecked(True)
        self.realtime.setToolTip("play files at their own fps; off: as fast as possible")
        self.record_button = button(
            "● Record", "record", "Record the processed video (R)", checked_icon="stop", texts=("■ Stop", "● Record")
        )
        self.record_button.setCheckable(True)
        self.snapshot_button = button("Snapshot", "snapshot", "Save the processed frame as an image (S)")
        self.dataset_button = button(
            "Dataset", "dataset", "Add frame to dataset (L): the original frame, detections as proposed labels"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        for w in (self.play_button, self.step_button):
            layout.addWidget(w)
        layout.addWidget(self.seek, 1)
        layout.addWidget(self.time)
        layout.addWidget(self.realtime)
        layout.addSpacing(8)  # the outputs, apart from playback
        for widget in (self.record_button, self.snapshot_button, self.dataset_button):
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
        self.play_button.setIcon(style.icon("play" if paused else "pause"))
        if not self.seek.isSliderDown() and self.seek.isEnabled():
            self.seek.setValue(index)
        if live:
            self.time.setText("live")
        else:
            self.time.setText(f"{clock(index / self._fps)} / {clock(self._count / self._fps)}  #{index}")
