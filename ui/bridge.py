"""From the runner's threads to the GUI thread: frames (a queued signal, newest wins, one waiting at most)
and run events (a queued signal each)."""

from __future__ import annotations

import threading
from functools import partial

from PySide6.QtCore import QObject, Signal

from vidcv.events import RunEvent
from vidcv.frame import Frame
from vidcv.runner import Runner


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


class EventBridge(QObject):
    """Run events from the runner's threads to the GUI thread, through a queued signal.

    ``watch(runner)`` subscribes; ``received(runner, event)`` fires in the GUI thread with the runner that
    sent the event, so that a listener can ignore what a run it has already replaced still says.
    """

    received = Signal(object, object)

    def watch(self, runner: Runner) -> None:
        runner.subscribe(partial(self._forward, runner))

    def _forward(self, runner: Runner, event: RunEvent) -> None:  # runner threads
        self.received.emit(runner, event)
