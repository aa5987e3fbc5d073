"""Video files and image sequences, written under a temporary name and renamed when complete."""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from vidcv.errors import OutputError
from vidcv.fileio import atomic_path, commit, partial_name
from vidcv.frame import Frame
from vidcv.sinks.base import Sink, check_writable

log = logging.getLogger(__name__)

#: extension -> FourCC; each is written and read back by pip's opencv-python (tested).
VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "XVID"}
SEQUENCE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


class VideoSink(Sink):
    """A video file; the codec follows the extension (see VIDEO_CODECS). Gray frames are written as BGR."""

    def __init__(self, path: str, fps: float) -> None:
        ext = os.path.splitext(path)[1].lower()
        if ext not in VIDEO_CODECS:
            raise OutputError(f"cannot write video '{path}': unknown extension '{ext}'; "
                              f"use one of {', '.join(VIDEO_CODECS)} (or a folder or frame_%05d.png for images)")
        check_writable(path)
        self.path = path
        self.fps = fps if fps and fps > 0 else 30.0
        self.fourcc = VIDEO_CODECS[ext]
        self.frames = 0
        self._tmp = partial_name(path)
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._warned_resize = False
        self._closed = False

    def write(self, frame: Frame) -> None:
        image = _bgr(frame.image)
        h, w = image.shape[:2]
        if self._writer is None:
            writer = cv2.VideoWriter(self._tmp, cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h))
            if not writer.isOpened():
                raise OutputError(f"cannot write video {self.path} with codec {self.fourcc} at {w}x{h}")
            self._writer, self._size = writer, (w, h)
        elif (w, h) != self._size:
            if not self._warned_resize:
                log.warning("frame size changed from %dx%d to %dx%d; resizing to fit %s",
                            *self._size, w, h, self.path)
                self._warned_resize = True
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(np.ascontiguousarray(image))
        self.frames += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is None:  # said by the run's summary, or by its error when it failed
            log.info("no frame was processed, so %s was not written", self.path)
            return
        self._writer.release()
        commit(self.path)


class ImageSequenceSink(Sink):
    """One image per frame: a printf pattern (``out/frame_%05d.png``) or a folder (``frame_%06d.png`` inside).

    Files are named by frame index; each is written to a temporary name and renamed.
    """

    def __init__(self, target: str) -> None:
        if "%" in target:
            pattern = target
            try:
                pattern % 0
            except (TypeError, ValueError):
                raise OutputError(f"bad image pattern '{target}': use one integer field, e.g. out/frame_%05d.png") \
                    from None
        else:
            pattern = os.path.join(target, "frame_%06d.png")
        ext = os.path.splitext(pattern)[1].lower()
        if ext not in SEQUENCE_EXTENSIONS:
            raise OutputError(f"bad image pattern '{target}': unknown image extension '{ext}'; "
                              f"use one of {', '.join(SEQUENCE_EXTENSIONS)}")
        check_writable(pattern % 0, shown=target)
        self.pattern = pattern
        self.frames = 0

    def write(self, frame: Frame) -> None:
        path = self.pattern % frame.index
        with atomic_path(path) as tmp:
            if not cv2.imwrite(tmp, frame.image):
                raise OutputError(f"could not write {path} (disk full or not writable?)")
        self.frames += 1

    def close(self) -> None:
        pass


class ImageFileSink(Sink):
    """One image file for a run of one frame (``vidcv run photo.jpg -o out.png``), written atomically."""

    def __init__(self, path: str) -> None:
        check_writable(path)
        self.path = path
        self.frames = 0

    def write(self, frame: Frame) -> None:
        if self.frames:
            raise OutputError(f"{self.path} holds one image, and a second frame came: for several frames give "
                              f"a pattern such as {os.path.splitext(self.path)[0]}_%05d.png or a folder")
        with atomic_path(self.path) as tmp:
            if not cv2.imwrite(tmp, frame.image):
                raise OutputError(f"could not write {self.path} (disk full or not writable?)")
        self.frames = 1

    def close(self) -> None:
        if not self.frames:
            log.warning("no frame was processed, so %s was not written", self.path)


def make_output_sink(target: str, fps: float, single_frame: bool = False) -> Sink:
    """A video sink for a video extension, an image-sequence sink for a pattern or a folder, one image file for
    an image name when the run has ``single_frame`` (one image in, or --max-frames 1); OutputError at once for
    a name it cannot write or a place where no file can be created."""
    ext = os.path.splitext(target)[1].lower()
    if "%" in target or target.endswith(("/", os.sep)) or os.path.isdir(target):
        return ImageSequenceSink(target)
    if ext in VIDEO_CODECS:
        return VideoSink(target, fps)
    if ext in SEQUENCE_EXTENSIONS and single_frame:
        return ImageFileSink(target)
    if ext in SEQUENCE_EXTENSIONS:
        raise OutputError(f"output '{target}' is a single image name; for an image sequence give a pattern "
                          f"such as {os.path.splitext(target)[0]}_%05d{ext} or a folder (one image name takes a "
                          "source of one frame, or --max-frames 1)")
    if not ext:
        return ImageSequenceSink(target)
    raise OutputError(f"cannot write '{target}': unknown extension '{ext}'; use a video "
                      f"({', '.join(VIDEO_CODECS)}), a folder, or an image pattern such as out/frame_%05d.png")


def check_output(target: str) -> None:
    """Raise OutputError now when no file can be created where ``target`` points (a run checks this before it
    opens its source): beside a video or image file, in a folder, in the folder of an image pattern. The
    name itself is checked when the sink is made. No file is left behind (a missing folder is made)."""
    if "%" in target or target.endswith(("/", os.sep)) or os.path.isdir(target) or not os.path.splitext(target)[1]:
        folder = os.path.dirname(target) if "%" in target else target
        check_writable(os.path.join(folder or ".", "frame_000000.png"), shown=target)
    else:
        check_writable(target)
