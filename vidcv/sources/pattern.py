"""A synthetic moving test pattern: a live source that needs no hardware."""

from __future__ import annotations

import time

import cv2
import numpy as np

from vidcv.events import SourceState
from vidcv.frame import Frame
from vidcv.sources.base import Source


class PatternSource(Source):
    """Colour bars, a moving disc and a frame counter, paced at ``fps`` like a camera."""

    live = True

    def __init__(self, spec: str = "pattern:", width: int = 640, height: int = 480, fps: float = 30.0) -> None:
        super().__init__(spec)
        self.size_wh = (width, height)
        self.fps = fps
        self._index = 0
        self._t0 = 0.0
        self._background = self._bars(width, height)

    @staticmethod
    def _bars(width: int, height: int) -> np.ndarray:
        colors = [
            (255, 255, 255),
            (0, 255, 255),
            (255, 255, 0),
            (0, 255, 0),
            (255, 0, 255),
            (0, 0, 255),
            (255, 0, 0),
            (40, 40, 40),
        ]
        img = np.zeros((height, width, 3), np.uint8)
        for i, color in enumerate(colors):
            img[:, i * width // len(colors) : (i + 1) * width // len(colors)] = color
        img[height * 3 // 4 :] = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
        return img

    def _open(self) -> None:
        self._index = 0
        self._t0 = time.monotonic()

    def read(self) -> Frame | None:
        if self.state is not SourceState.OPEN:
            return None
        if self.fps:
            due = self._t0 + self._index / self.fps
            delay = due - time.monotonic()
            if delay > 0 and self.wait(delay):
                return None
        width, height = self.size_wh or (640, 480)
        img = self._background.copy()
        t = self._index / (self.fps or 30.0)
        cx = int(width / 2 + width / 3 * np.sin(t * 1.3))
        cy = int(height / 2 + height / 4 * np.sin(t * 2.1))
        cv2.circle(img, (cx, cy), max(8, min(width, height) // 10), (30, 30, 220), -1, cv2.LINE_AA)
        cv2.putText(
            img,
            f"{self._index:06d}",
            (10, max(30, height // 12)),
            cv2.FONT_HERSHEY_SIMPLEX,
            max(0.5, height / 480),
            (0, 0, 0),
            2,
            cv2.LINE_AA,
        )
        frame = Frame(img, self._index, t * 1000.0)
        self._index += 1
        return frame
