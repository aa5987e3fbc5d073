"""The source contract: open, read frames, close; live or seekable; fps and (estimated) length; its state."""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import cv2
import numpy as np

from vidcv.events import SourceState, SourceStateChanged
from vidcv.frame import Frame, PendingFrame
from vidcv.imageops import to_bgr_uint8
from vidcv.redact import redact

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+

StateReport = Callable[[SourceStateChanged], None]


def quiet_opencv_logs() -> None:
    """Silence OpenCV's own log (``[ WARN:0] ... can't open camera by index``, ``can't be used to capture by
    name``) and FFmpeg's (``moov atom not found``), so that vidcv's one-line messages stand alone.

    OpenCV's level is set at once (``cv2`` is imported by now, so ``OPENCV_LOG_LEVEL`` would come too late);
    FFmpeg's is read from ``OPENCV_FFMPEG_LOGLEVEL`` when OpenCV first opens a capture or writer with it,
    so call this before any is made. A value the user set in the environment is kept.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # for OpenCV code that reads it later
    if os.environ["OPENCV_LOG_LEVEL"].upper() in ("OFF", "SILENT", "DISABLED", "0"):
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


class Source(ABC):
    """A stream of uint8 BGR frames.

    ``live`` sources (cameras, streams, the test pattern) produce frames at their own pace and the
    runner keeps only the newest; other sources are read as fast as they are consumed, losing nothing.

    Life cycle: ``open(stop, report)`` (``_open`` of the subclass), ``read()`` until None, ``close()``.
    ``stop`` is the event that makes every blocking wait inside the source return promptly (the runner
    passes its own); ``report`` hears every change of ``state`` (a ``SourceState``, with a detail), checked
    against the allowed transitions. ``label`` names the source for users (no password in it).
    """

    live: bool = False
    seekable: bool = False
    #: whether ``deliver_gray`` is honoured: frames then come gray (2-D, ``source_image`` too) straight from
    #: the decoder. The runner sets it before opening when the pipeline asks for it (``Pipeline.decode`` is
    #: ``luma``, or ``Runner(gray_source=True)``) and nothing needs colour. ``gray_beside`` (the window's runs,
    #: whose pipeline may change) asks for that gray as the frame's ``image`` with the colour decode kept as its
    #: ``source_image``; the runner may switch it between two reads.
    can_deliver_gray: bool = False
    #: whether ``defer_conversion`` is honoured: ``read_deferred`` then hands frames whose conversion (to BGR, or
    #: to gray with ``deliver_gray``) is still to do, by the thread that processes them. The runner sets it before
    #: opening, for a file whose frames it processes in other threads than the one that reads.
    can_defer_conversion: bool = False

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.deliver_gray = False
        self.gray_beside = False
        self.defer_conversion = False
        self.fps: float | None = None
        self.frame_count: int | None = None
        self.size_wh: tuple[int, int] | None = None
        self._state = SourceState.CLOSED
        self.state_detail = ""
        self._stop = threading.Event()
        self._report: StateReport | None = None

    @property
    def label(self) -> str:
        """The source as shown to users and written to logs and datasets (credentials masked)."""
        return redact(self.spec)

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def stopping(self) -> bool:
        """True once the stop event given to ``open`` is set."""
        return self._stop.is_set()

    def open(self, stop: threading.Event | None = None, report: StateReport | None = None) -> None:
        """Open the source or raise SourceError with a message that says what to do (state FAILED)."""
        self._stop = stop if stop is not None else threading.Event()
        self._report = report
        self._set_state(SourceState.OPENING)
        try:
            self._open()
        except BaseException as exc:
            self._set_state(SourceState.FAILED, str(exc))
            raise
        self._set_state(SourceState.OPEN)

    @abstractmethod
    def _open(self) -> None:
        """Open the device, file or connection; raise SourceError when that is impossible."""

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame, or None when the source has ended (or stop was set)."""

    @property
    def converts_later(self) -> bool:
        """Whether ``read_deferred`` hands frames with their conversion still to do (``defer_conversion`` asked,
        and this source can now)."""
        return False

    def read_deferred(self) -> Frame | PendingFrame | None:
        """``read``, except that with ``defer_conversion`` a source that can (``can_defer_conversion``) hands
        the frame with its conversion still to do (``PendingFrame.frame()`` makes the very frame ``read`` would
        have given)."""
        return self.read()

    def close(self) -> None:
        """Release the device or file; safe to call twice, and on a source that never opened."""
        if self._state is SourceState.CLOSED:
            return
        try:
            self._close()
        finally:
            self._set_state(SourceState.CLOSED)

    def _close(self) -> None:  # noqa: B027 - a hook: a source that holds nothing needs none
        """Release what ``_open`` took."""

    def seek(self, index: int) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot seek")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (at once) when stop is set meanwhile."""
        return self._stop.wait(seconds)

    def describe(self) -> str:
        """One line for logs and the UI."""
        parts = [self.label]
        if self.size_wh:
            parts.append(f"{self.size_wh[0]}x{self.size_wh[1]}")
        if self.fps:
            parts.append(f"{self.fps:g} fps")
        if self.frame_count:
            parts.append(f"{self.frame_count} frames")
        parts.append("live" if self.live else "file")
        return ", ".join(parts)

    def _set_state(self, state: SourceState, detail: str = "") -> None:
        """Move to ``state`` (a bug raises ValueError when the transition is not allowed) and report it."""
        old = self._state
        if state is old and detail == self.state_detail:
            return
        if not old.can_become(state):
            raise ValueError(f"{type(self).__name__}: state {old} cannot become {state}")
        self._state, self.state_detail = state, detail
        if self._report is not None:
            self._report(SourceStateChanged(self.label, old, state, detail))

    def __enter__(self) -> Self:
        if self._state is SourceState.CLOSED:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame


class Capture(Protocol):
    """What a capture source holds: ``cv2.VideoCapture``, or a reader with its ``release``."""

    def release(self) -> None: ...


CaptureT = TypeVar("CaptureT", bound=Capture)


class CaptureSource(Source, Generic[CaptureT]):
    """A source read through ``cv2.VideoCapture`` (files, cameras, streams): one capture, frame numbering
    and timestamps, release on close."""

    def __init__(self, spec: str) -> None:
        super().__init__(spec)
        self._cap: CaptureT | None = None
        self._index = 0
        self._t0 = 0.0

    def _use(self: CaptureSource[cv2.VideoCapture], cap: cv2.VideoCapture) -> None:
        """Take ``cap`` as the capture (opened), with its fps when it knows one; numbering starts again."""
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else None
        self._index = 0
        self._t0 = time.monotonic()

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _close(self) -> None:
        self._release()

    def _frame(self, image: np.ndarray, pts_ms: float | None = None) -> Frame:
        """The next frame from a decoded image: numbered, timestamped (wall clock since open for live
        sources, else the frame's place at the source's fps), normalised to uint8 BGR."""
        if pts_ms is None:
            pts_ms = (time.monotonic() - self._t0) * 1000.0 if self.live else self._index * 1000.0 / (self.fps or 30.0)
        if self.size_wh is None:
            self.size_wh = (image.shape[1], image.shape[0])
        frame = Frame(self._normalised(image), self._index, pts_ms)
        self._index += 1
        return frame

    def _deferred_frame(self, convert: Callable[[], np.ndarray], pts_ms: float) -> PendingFrame:
        """The next frame as ``_frame`` numbers it, its decoded image made by ``convert`` later and normalised as
        ``_frame`` normalises it (``read_deferred``)."""
        pending = PendingFrame(lambda: self._normalised(convert()), self._index, pts_ms)
        self._index += 1
        return pending

    def _normalised(self, image: np.ndarray) -> np.ndarray:
        """A decoded image as frames carry it: uint8 BGR, or gray as decoded with ``deliver_gray``."""
        gray = self.deliver_gray and image.ndim == 2 and image.dtype == np.uint8
        return image if gray else to_bgr_uint8(image)
