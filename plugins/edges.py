"""Edge detectors."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.imageops import to_gray
from vidcv.params import Bool, Choice, Float
from vidcv.plugin import Plugin


class Canny(Plugin):
    """Canny edges; colour input is converted to gray first."""

    name = "canny"
    title = "Canny edges"
    category = "edges"
    summary = ("Canny edge detector (cv2.Canny) on the gray image (colour frames are converted to gray first); "
               "'auto' sets the thresholds from the median: (1 -/+ sigma) * median.")
    params = (
        Float("low", 50.0, 0.0, 1000.0, step=1.0, help="lower hysteresis threshold"),
        Float("high", 150.0, 0.0, 1000.0, step=1.0, help="upper hysteresis threshold"),
        Choice("aperture", 3, (3, 5, 7), help="Sobel aperture size"),
        Bool("l2gradient", False, help="use the L2 norm for the gradient magnitude"),
        Bool("auto", False, help="derive low and high from the image median"),
        Float("sigma", 0.33, 0.0, 1.0, step=0.01, help="auto: spread around the median"),
    )

    def thresholds(self, gray: np.ndarray) -> tuple[float, float]:
        """(low, high) as used for this image."""
        if not self.p.auto:
            return self.p.low, self.p.high
        median = float(np.median(gray))
        return max(0.0, (1.0 - self.p.sigma) * median), min(255.0, (1.0 + self.p.sigma) * median)

    def process(self, frame: Frame) -> Frame:
        gray = to_gray(frame.image, frame.color_space)
        low, high = self.thresholds(gray)
        edges = cv2.Canny(gray, low, high, apertureSize=self.p.aperture, L2gradient=self.p.l2gradient)
        return frame.with_image(edges)
