"""A small player for an event's clip: decoded with PyAV on a QTimer, play/pause and a position slider.

A clip still being written grows as ``NAME.partial.mp4`` (a fragment a second): the player says "still
recording", plays what is whole so far, reads the file again when it reaches its end, and goes over to
``NAME.mp4`` once the clip is complete.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import av
import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from vidcv.fileio import visible_partial_name
from vidcv.frame import Frame
from vidcv.ui import style
from vidcv.ui.video_view import VideoView

log = logging.getLogger(__name__)

#: how often a growing clip is read again once the player has shown all of it (ms)
RELOAD_MS = 500


class ClipReader:
    """The frames of one MP4 by index. ``reload`` indexes the packets' times without decoding (a growing file:
    as far as it is whole); ``frame(i)`` decodes forward from the keyframe at or before frame ``i``, or simply
    on when ``i`` is the frame after the last one read."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.container: av.container.InputContainer | None = None
        self.times: list[int] = []  #: each frame's pts (stream time base), in presentation order
        self.keys: list[int] = []  #: the keyframes' pts
        self.time_base = 1 / 1000
        self.fps = 30.0
        self._frames: Iterator[av.VideoFrame] | None = None  # the decoder's frames, going forward
        self._next = -1  # the index the decoder gives next
        self.reload()

    def reload(self) -> None:
        """Read the file again (it may have grown); frames already indexed keep their index."""
        self.close()
        self.times, self.keys = [], []
        try:
            container = av.open(self.path)
        except (av.error.FFmpegError, OSError) as exc:  # not one whole fragment yet, or gone
            log.debug("cannot open %s yet: %s", self.path, exc)
            return
        self.container = container
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        self.time_base = float(stream.time_base or self.time_base)
        times, keys = [], []
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                times.append(int(packet.pts))
                if packet.is_keyframe:
                    keys.append(int(packet.pts))
        except av.error.FFmpegError as exc:  # the fragment being written: what came before it stays
            log.debug("read %s up to %d frames: %s", self.path, len(times), exc)
        self.times, self.keys = sorted(times), sorted(keys)
        if len(self.times) > 1:
            step = float(np.median(np.diff(self.times))) * self.time_base
            self.fps = 1 / step if step > 0 else self.fps
        elif stream.average_rate:
            self.fps = float(stream.average_rate)

    def __len__(self) -> int:
        return len(self.times)

    def seconds(self, index: int) -> float:
        """Frame ``index``'s time from the clip's first frame."""
        return (self.times[index] - self.times[0]) * self.time_base if self.times else 0.0

    def frame(self, index: int) -> np.ndarray | None:
        """Frame ``index`` as BGR, or None when it cannot be decoded (yet)."""
        if self.container is None or not 0 <= index < len(self.times):
            return None
        stream = self.container.streams.video[0]
        target = self.times[index]
        try:
            if self._frames is None or index != self._next:
                key = max([k for k in self.keys if k <= target] or [self.times[0]])
                self.container.seek(key, stream=stream, backward=True)
                self._frames = self.container.decode(stream)
            for decoded in self._frames:
                if decoded.pts is None or decoded.pts < target:
                    continue
                self._next = index + 1
                return decoded.to_ndarray(format="bgr24")
        except av.error.FFmpegError as exc:
            log.debug("cannot decode frame %d of %s: %s", index, self.path, exc)
        self._frames, self._next = None, -1
        return None

    def close(self) -> None:
        self._frames, self._next = None, -1
        if self.container is not None:
            self.container.close()
            self.container = None


class ClipPlayer(QDialog):
    """Plays the clip ``path`` (its final name; while it is written, its ``.partial.mp4`` is read)."""

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.partial = visible_partial_name(path)
        self.setWindowTitle(f"Clip — {os.path.basename(path)}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.position = -1  #: the frame shown (-1: none yet)
        self.shown = 0  #: frames shown since the player opened
        self.playing = True
        self._reloaded_at = 0  # ms waited at the end of a growing clip since it was read last
        self.view = VideoView()
        self.view.setMinimumSize(480, 270)
        self.play_button = QPushButton()
        self.play_button.clicked.connect(self.toggle_play)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.sliderMoved.connect(self.seek)
        self.slider.valueChanged.connect(self._slider_changed)
        self.time_label = QLabel("–")
        self.state_label = QLabel()
        self.state_label.setStyleSheet(f"color: {style.RECORD.name()};")
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.view, 1)
        layout.addLayout(controls)
        layout.addWidget(self.state_label)
        self.reader = ClipReader(self.current_path())
        self._update_state()
        self._show_play_state()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(max(10, round(1000 / self.reader.fps)))
        self.resize(720, 480)

    # --- what is read ------------------------------------------------------------------------------------
    @property
    def growing(self) -> bool:
        """The clip is still being written (only its partial file is there)."""
        return not os.path.exists(self.path) and os.path.exists(self.partial)

    def current_path(self) -> str:
        return self.partial if self.growing else self.path

    def _update_state(self) -> None:
        if self.growing:
            self.state_label.setText("● still recording: plays what is written so far")
        elif not os.path.exists(self.path):
            self.state_label.setText("the clip is not there (moved or removed)")
        else:
            self.state_label.setText("")
        self.slider.setRange(0, max(0, len(self.reader) - 1))
        self._show_time()

    def _reload(self) -> None:
        """Read the clip again: more of a growing one, or the finished file that replaced it."""
        self.reader.path = self.current_path()
        self.reader.reload()
        self.timer.setInterval(max(10, round(1000 / self.reader.fps)))
        self._update_state()

    # --- playing -----------------------------------------------------------------------------------------
    def _tick(self) -> None:
        if not self.playing:
            return
        nxt = self.position + 1
        if nxt >= len(self.reader) or not self.show_frame(nxt):
            if self.reader.path != self.path or self.growing:  # more may be there now, or the finished file
                self._reloaded_at += self.timer.interval()
                if self._reloaded_at >= RELOAD_MS:
                    self._reloaded_at = 0
                    self._reload()
            else:
                self.playing = False  # the end
                self._show_play_state()

    def show_frame(self, index: int) -> bool:
        image = self.reader.frame(index)
        if image is None:
            return False
        self.position = index
        self.shown += 1
        self.view.show_frame(Frame(image, index, self.reader.seconds(index) * 1000))
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self._show_time()
        return True

    def _show_time(self) -> None:
        n = len(self.reader)
        if n == 0:
            self.time_label.setText("waiting for the clip's first second")
            return
        at = self.reader.seconds(max(0, self.position))
        self.time_label.setText(f"{at:.1f} / {self.reader.seconds(n - 1):.1f} s")

    def toggle_play(self) -> None:
        self.playing = not self.playing
        if self.playing and self.position >= len(self.reader) - 1 and not self.growing:
            self.position = -1  # at the end: from the start again
        self._show_play_state()

    def _show_play_state(self) -> None:
        self.play_button.setIcon(style.icon("pause" if self.playing else "play"))
        self.play_button.setToolTip("Pause" if self.playing else "Play")

    def seek(self, index: int) -> None:
        """Show frame ``index`` (the slider); playing goes on from there."""
        self.show_frame(index)

    def _slider_changed(self, index: int) -> None:
        if not self.slider.isSliderDown() and index != self.position:
            self.seek(index)  # a click on the groove, the keys

    def closeEvent(self, event: QCloseEvent) -> None:
        self.timer.stop()
        self.reader.close()
        super().closeEvent(event)
