"""Frame: the image being processed, the untouched source image, and what was found on it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidcv.detections import Detections


@dataclass
class Frame:
    """One frame travelling through the pipeline.

    ``image`` is what the stages transform (uint8, HxW or HxWx3); ``source_image`` is the frame as the
    source delivered it (uint8 BGR) and is never modified, so that overlays and datasets use the
    original pixels. ``color_space`` names the space of a 3-channel ``image`` (``bgr`` out of every
    source); a 2-D image is always ``gray``. ``pts_ms`` is the presentation time, ``captured_at`` the
    ``time.monotonic()`` of capture (frame age for live sources). ``stage_images`` holds the output of
    each stage run so far on this frame, by stage index (a disabled stage passes its input on), so that a
    later stage can combine with an earlier one (a mask, say).
    """

    image: np.ndarray
    index: int
    pts_ms: float
    source_image: np.ndarray | None = None
    detections: Detections = field(default_factory=Detections.empty)
    color_space: str = "bgr"
    captured_at: float = field(default_factory=time.monotonic)
    meta: dict[str, Any] = field(default_factory=dict)
    stage_images: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.source_image is None:
            self.source_image = self.image
        if self.image.ndim == 2:
            self.color_space = "gray"

    @property
    def size_wh(self) -> tuple[int, int]:
        """Width and height of the current image."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    def with_image(self, image: np.ndarray, color_space: str | None = None) -> Frame:
        """This frame with a new processed image (same index, source image and detections)."""
        self.image = image
        self.color_space = "gray" if image.ndim == 2 else (color_space or self.color_space)
        if self.color_space == "gray" and image.ndim == 3:
            self.color_space = "bgr"
        return self
