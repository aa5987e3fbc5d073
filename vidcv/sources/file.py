"""Video files, read in order without losing a frame; truncation is detected and reported."""

from __future__ import annotations

import logging
import os

import cv2

from vidcv.errors import SourceError, TruncatedVideoError
from vidcv.events import SourceState
from vidcv.frame import Frame
from vidcv.sources.base import CaptureSource

log = logging.getLogger(__name__)


def default_decode_threads() -> int:
    """FFmpeg threads for one file: half the cores. The runner already decodes in a thread of its own,
    beside the processing thread; FFmpeg's frame threads on every core on top of that oversubscribe
    the machine (on 2 cores, 1 decode thread gave 470 fps against 420 for FFmpeg's default, 720p)."""
    return max(1, (os.cpu_count() or 2) // 2)


class FileSource(CaptureSource):
    """A video file decoded with OpenCV's FFmpeg backend (``decode_threads`` FFmpeg threads, 0 = all cores)."""

    live = False
    seekable = True

    def __init__(self, path: str, decode_threads: int | None = None) -> None:
        super().__init__(path)
        self.path = path
        self.decode_threads = default_decode_threads() if decode_threads is None else decode_threads
        self._first = None

    def _open(self) -> None:
        if not os.path.isfile(self.path):
            raise SourceError(f"no such video file: {self.path} (check the path)")
        if os.path.getsize(self.path) == 0:
            raise SourceError(f"cannot read {self.path}: the file is empty")
        cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, self.decode_threads])
        ok, first = (cap.read() if cap.isOpened() else (False, None))
        if not ok or first is None:
            cap.release()
            raise SourceError(f"cannot read {self.path} as a video: OpenCV could not decode it "
                              "(is it a video file, and complete? try re-encoding it with ffmpeg)")
        self._use(cap)
        self.fps = self.fps or 30.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        self.size_wh = (first.shape[1], first.shape[0])
        self._first = first

    def read(self) -> Frame | None:
        if self._cap is None:
            return None
        if self._first is not None:
            img, self._first = self._first, None
        else:
            ok, img = self._cap.read()
            if not ok or img is None:
                self._end()
                return None
        return self._frame(img)

    def _end(self) -> None:
        expected = self.frame_count
        read = self._index
        # Container frame counts can be estimates; only a clear shortfall means a damaged file.
        if expected and expected - read > max(2, expected // 100):
            message = (f"{self.path} ended after frame {read - 1} although its header announces {expected} frames: "
                       f"the file looks truncated or damaged; the {read} good frames were processed and kept")
            self._set_state(SourceState.FAILED, "truncated")
            raise TruncatedVideoError(message)
        self._set_state(SourceState.ENDED)

    def seek(self, index: int) -> None:
        if self._cap is None:
            raise SourceError("seek on a closed source")
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, max(0, index))
        self._index = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES))
        self._first = None
        self._set_state(SourceState.OPEN)
