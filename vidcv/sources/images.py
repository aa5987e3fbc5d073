"""An image folder or glob, read in natural order as a seekable, non-live source."""

from __future__ import annotations

import glob
import logging
import os
import re

import cv2
import numpy as np

from vidcv.errors import SourceError
from vidcv.frame import Frame
from vidcv.imageops import to_bgr_uint8
from vidcv.events import SourceState
from vidcv.sources.base import Source

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".pgm", ".ppm", ".pbm")


def natural_key(path: str) -> list[object]:
    """Sort key that puts frame_2 before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path)]


def list_images(spec: str) -> list[str]:
    """Image files of a folder, a glob, or a single image path, naturally sorted."""
    if os.path.isdir(spec):
        paths = [os.path.join(spec, name) for name in os.listdir(spec)]
    elif glob.has_magic(spec):
        paths = glob.glob(spec)
    else:
        paths = [spec]
    return sorted((p for p in paths if p.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(p)),
                  key=natural_key)


class ImageFolderSource(Source):
    """Every image of a folder or glob, as frames at a nominal ``fps`` (used for timestamps and pacing)."""

    live = False
    seekable = True

    def __init__(self, spec: str, fps: float = 30.0) -> None:
        super().__init__(spec)
        self.fps = fps
        self._paths: list[str] = []
        self._index = 0

    def _open(self) -> None:
        self._paths = list_images(self.spec)
        if not self._paths:
            raise SourceError(f"no images found in {self.spec} "
                              f"(looked for {', '.join(IMAGE_EXTENSIONS[:6])} ...)")
        self.frame_count = len(self._paths)
        self._index = 0

    def read(self) -> Frame | None:
        while self._index < len(self._paths):
            path = self._paths[self._index]
            index = self._index
            self._index += 1
            img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            if img is None:
                log.warning("skipping %s: not a readable image", path)
                continue
            img = to_bgr_uint8(img)
            if self.size_wh is None:
                self.size_wh = (img.shape[1], img.shape[0])
            return Frame(np.ascontiguousarray(img), index, index * 1000.0 / (self.fps or 30.0), path=path)
        self._set_state(SourceState.ENDED)
        return None

    def seek(self, index: int) -> None:
        self._index = min(max(0, index), len(self._paths))
        self._set_state(SourceState.OPEN)
