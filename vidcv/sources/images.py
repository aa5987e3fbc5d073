"""An image folder or glob, read in natural order as a seekable, non-live source."""

from __future__ import annotations

import glob
import logging
import os
import re

import cv2
import numpy as np

from vidcv.errors import SourceError
from vidcv.events import SourceState
from vidcv.frame import Frame
from vidcv.imageops import to_bgr_uint8
from vidcv.sources.base import Source

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".pgm", ".ppm", ".pbm")


def natural_key(path: str) -> list[object]:
    """Sort key that puts frame_2 before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path)]


#: Video extensions that, found where images were expected, point the user to ``vidcv batch``.
VIDEO_HINTS = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv")


def _candidates(spec: str) -> list[str]:
    """The files a folder or a glob names (a plain path: itself), naturally sorted."""
    if os.path.isdir(spec):
        paths = [os.path.join(spec, name) for name in os.listdir(spec)]
    elif glob.has_magic(spec):
        paths = glob.glob(spec)
    else:
        paths = [spec]
    return sorted((p for p in paths if os.path.isfile(p)), key=natural_key)


def list_images(spec: str) -> list[str]:
    """Image files of a folder, a glob, or a single image path, naturally sorted."""
    return [p for p in _candidates(spec) if p.lower().endswith(IMAGE_EXTENSIONS)]


class ImageFolderSource(Source):
    """Every image of a folder or glob, as frames at a nominal ``fps`` (used for timestamps and pacing)."""

    live = False
    seekable = True

    def __init__(self, spec: str, fps: float = 30.0) -> None:
        super().__init__(spec)
        self.fps = fps
        self._paths: list[str] = []
        self._index = 0
        self._first: tuple[int, np.ndarray] | None = None  #: the first readable image, decoded by ``_open``

    def _open(self) -> None:
        self._paths = list_images(self.spec)
        if not self._paths:
            videos = [p for p in _candidates(self.spec) if p.lower().endswith(VIDEO_HINTS)]
            if videos:
                raise SourceError(
                    f"{self.spec} names {len(videos)} video file{'s' if len(videos) > 1 else ''}, "
                    f"not images: vidcv run reads one video (vidcv run {videos[0]}); for all of them "
                    f"use vidcv batch '{self.spec}' -p PIPELINE -o OUT_DIR"
                )
            raise SourceError(f"no images found in {self.spec} (looked for {', '.join(IMAGE_EXTENSIONS[:6])} ...)")
        self.frame_count = len(self._paths)
        self._index = 0
        # A source none of whose images can be read is an error, not a run of 0 frames.
        self._first = next(
            ((i, img) for i in range(len(self._paths)) if (img := self._decode(self._paths[i])) is not None), None
        )
        if self._first is None:
            if len(self._paths) == 1:
                raise SourceError(
                    f"{self._paths[0]} is not a readable image: the file is damaged, empty or not "
                    "the image its name says (check that it opens in an image viewer)"
                )
            raise SourceError(
                f"none of the {len(self._paths)} images in {self.spec} is readable (the first is "
                f"{self._paths[0]}): they are damaged, empty or not the images their names say"
            )
        self.size_wh = (self._first[1].shape[1], self._first[1].shape[0])

    @staticmethod
    def _decode(path: str) -> np.ndarray | None:
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        return None if img is None else to_bgr_uint8(img)

    def read(self) -> Frame | None:
        while self._index < len(self._paths):
            path = self._paths[self._index]
            index = self._index
            self._index += 1
            if self._first is not None and self._first[0] == index:
                img: np.ndarray | None = self._first[1]
                self._first = None  # decoded once, for open; later passes (after a seek) read the file again
            else:
                img = self._decode(path)
            if img is None:
                log.warning("skipping %s: not a readable image", path)
                continue
            return Frame(np.ascontiguousarray(img), index, index * 1000.0 / (self.fps or 30.0), path=path)
        self._set_state(SourceState.ENDED)
        return None

    def seek(self, index: int) -> None:
        self._index = min(max(0, index), len(self._paths))
        self._set_state(SourceState.OPEN)
