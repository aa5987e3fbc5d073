"""The sink contract: receive processed frames in order, finalise on close."""

from __future__ import annotations

from abc import ABC, abstractmethod

from vidcv.frame import Frame


class Sink(ABC):
    """Writes processed frames somewhere. Outputs appear under their final name only when complete."""

    @abstractmethod
    def write(self, frame: Frame) -> None:
        """Take one frame (called from the sink thread, in frame order)."""

    @abstractmethod
    def close(self) -> None:
        """Finalise: flush and rename temporary files to their final names. Safe to call twice."""


class CallbackSink(Sink):
    """Hands each frame to a function (display, tests)."""

    def __init__(self, callback) -> None:  # type: ignore[no-untyped-def]
        self.callback = callback

    def write(self, frame: Frame) -> None:
        self.callback(frame)

    def close(self) -> None:
        pass
