"""The source contract: open, read frames, close; live or seekable; fps and (estimated) length."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator

from vidcv.frame import Frame


class Source(ABC):
    """A stream of uint8 BGR frames.

    ``live`` sources (cameras, streams, the test pattern) produce frames at their own pace and the
    runner keeps only the newest; other sources are read as fast as they are consumed, losing nothing.
    ``read`` returns the next frame, or None at the end. ``state`` is a short word for the UI
    (``opening``, ``open``, ``reconnecting``, ``ended``, ``closed``); listeners hear every change.
    """

    live: bool = False
    seekable: bool = False

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.fps: float | None = None
        self.frame_count: int | None = None
        self.size_wh: tuple[int, int] | None = None
        self.state = "closed"
        self.state_detail = ""
        self._listeners: list[Callable[[str, str], None]] = []
        #: set by the runner to make blocking waits inside the source return promptly on stop
        self.stop_event = threading.Event()

    @abstractmethod
    def open(self) -> None:
        """Open the source or raise SourceError with a message that says what to do."""

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame, or None when the source has ended."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file; safe to call twice."""

    def seek(self, index: int) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot seek")

    def describe(self) -> str:
        """One line for logs and the UI."""
        parts = [self.spec]
        if self.size_wh:
            parts.append(f"{self.size_wh[0]}x{self.size_wh[1]}")
        if self.fps:
            parts.append(f"{self.fps:g} fps")
        if self.frame_count:
            parts.append(f"{self.frame_count} frames")
        parts.append("live" if self.live else "file")
        return ", ".join(parts)

    def on_state(self, listener: Callable[[str, str], None]) -> None:
        self._listeners.append(listener)

    def _set_state(self, state: str, detail: str = "") -> None:
        self.state, self.state_detail = state, detail
        for listener in self._listeners:
            listener(state, detail)

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame
