"""Frames from the runner's sink thread to the GUI thread: a queued signal, newest wins, one waiting at most."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from vidcv.frame import Frame


class FrameBridge(QObject):
    """``push`` from any thread; ``frame_ready`` fires in the GUI thread; ``take`` returns the newest frame.

    A frame pushed while another is still waiting replaces it (counted in ``replaced``), so a slow display
    never queues frames or slows the pipeline.
    """

    frame_ready = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self.replaced = 0

    def push(self, frame: Frame) -> None:
        with self._lock:
            waiting = self._latest is not None
            self._latest = frame
            if waiting:
                self.replaced += 1
        if not waiting:
            self.frame_ready.emit()

    def take(self) -> Frame | None:
        with self._lock:
            frame, self._latest = self._latest, None
        return frame
