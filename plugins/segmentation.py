"""Segmentation: k-means colour quantisation."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.params import Int
from vidcv.plugin import Plugin
from vidcv.stagecode import CodeContext, StageCode

CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
SEED = 12345


def quantize(image: np.ndarray, k: int, attempts: int) -> np.ndarray:
    """Each pixel replaced by the centre of its k-means cluster (k-means++ seeded with SEED: repeatable)."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    data = image.reshape(-1, channels).astype(np.float32)
    cv2.setRNGSeed(SEED)
    # OpenCV's stubs make bestLabels required; None lets kmeans allocate the labels, as its docs say
    _, labels, centers = cv2.kmeans(data, k, None, CRITERIA, attempts, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]
    return np.clip(np.round(centers), 0, 255).astype(np.uint8)[labels.ravel()].reshape(image.shape)


class KMeans(Plugin):
    """Colour quantisation by k-means clustering."""

    name = "kmeans"
    title = "K-means colours"
    category = "segmentation"
    summary = (
        "Clusters the pixel colours (or gray levels) with cv2.kmeans (k-means++, 10 iterations or "
        "epsilon 1.0, fixed seed so that runs repeat) and paints each pixel with its cluster centre. "
        "Costly on large frames: put a resize before it."
    )
    params = (
        Int("k", 4, 2, 32, help="number of clusters"),
        Int("attempts", 1, 1, 10, help="runs with different starts; the most compact is kept"),
    )

    def process(self, frame: Frame) -> Frame:
        return frame.with_image(quantize(frame.image, self.p.k, self.p.attempts))

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        attempts = "1 attempt" if p.attempts == 1 else f"{p.attempts} attempts"
        return StageCode(
            "return frame.with_image(quantize(frame.image, K, ATTEMPTS))",
            f"k-means colour quantisation, {p.k} clusters, {attempts} (cv2.kmeans, fixed seed)",
            {"K": p.k, "ATTEMPTS": p.attempts},
        )
