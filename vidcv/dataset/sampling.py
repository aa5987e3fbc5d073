"""Which frames to keep: every N or F per second, no near-duplicates, no blurred frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


def dhash(image: np.ndarray, size: int = 8) -> int:
    """Difference hash: 64 bits from a 9x8 gray thumbnail; near-identical frames differ in few bits."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(gray, (size + 1, size), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the gray image: low means blurred."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


@dataclass
class Sampler:
    """Decides frame by frame; ``skipped`` counts the reasons.

    ``every``: keep one frame in N; ``fps``: keep at most F per second of source time (by timestamp);
    ``dedupe``: skip a frame whose dHash differs from the last kept one in at most this many of 64 bits
    (0 turns it off; 5 is a good start); ``min_sharpness``: skip frames whose Laplacian variance is lower.
    """

    every: int = 1
    fps: float = 0.0
    dedupe: int = 0
    min_sharpness: float = 0.0
    skipped: dict[str, int] = field(default_factory=lambda: {"not sampled": 0, "duplicate": 0, "blurred": 0})
    _last_pts: float | None = None
    _last_hash: int | None = None
    _seen: int = 0

    def accept(self, image: np.ndarray, pts_ms: float) -> bool:
        self._seen += 1
        if self.fps > 0:
            if self._last_pts is not None and pts_ms - self._last_pts < 1000.0 / self.fps - 1e-6:
                self.skipped["not sampled"] += 1
                return False
        elif (self._seen - 1) % max(1, self.every):
            self.skipped["not sampled"] += 1
            return False
        if self.min_sharpness > 0 and sharpness(image) < self.min_sharpness:
            self.skipped["blurred"] += 1
            return False
        if self.dedupe > 0:
            h = dhash(image)
            if self._last_hash is not None and (h ^ self._last_hash).bit_count() <= self.dedupe:
                self.skipped["duplicate"] += 1
                return False
            self._last_hash = h
        self._last_pts = pts_ms
        return True
