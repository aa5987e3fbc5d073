"""Keypoints: ORB, SIFT and FAST, drawn on the frame."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.imageops import to_bgr, to_gray
from vidcv.params import Choice, Int
from vidcv.plugin import Plugin
from vidcv.stagecode import CodeContext, StageCode
from vidcv.status import StageStatus

KEYPOINT_COLOR = (0, 255, 0)


def strongest(keypoints: Sequence[cv2.KeyPoint], limit: int) -> list[cv2.KeyPoint]:
    """The ``limit`` keypoints of highest response (stable for ties)."""
    return sorted(keypoints, key=lambda k: -k.response)[:limit]


class Features(Plugin):
    """Detect keypoints and draw them."""

    name = "features"
    title = "Keypoints"
    category = "analysis"
    summary = (
        "ORB (cv2.ORB_create), SIFT (cv2.SIFT_create) or FAST (cv2.FastFeatureDetector_create, the "
        "strongest max_features kept) keypoints of the gray image, drawn on the frame in colour "
        "(cv2.drawKeypoints). The stage reports the count as 'keypoints'."
    )
    params = (
        Choice("method", "orb", ("orb", "sift", "fast"), help="detector"),
        Int("max_features", 500, 1, 20000, help="most keypoints kept"),
    )

    def setup(self) -> None:
        p = self.p
        self.detector: cv2.Feature2D
        if p.method == "orb":
            self.detector = cv2.ORB.create(nfeatures=p.max_features)
        elif p.method == "sift":
            self.detector = cv2.SIFT.create(nfeatures=p.max_features)
        else:
            self.detector = cv2.FastFeatureDetector.create()

    found = 0  #: keypoints on the last frame

    def status(self) -> StageStatus:
        return StageStatus(figures={"keypoints": self.found})

    def detect(self, gray: np.ndarray) -> list[cv2.KeyPoint]:
        keypoints = self.detector.detect(gray, None)
        return strongest(keypoints, self.p.max_features) if self.p.method == "fast" else list(keypoints)

    def process(self, frame: Frame) -> Frame:
        keypoints = self.detect(to_gray(frame.image, frame.color_space))
        self.found = len(keypoints)
        # OpenCV's stubs make outImage required; None draws on a copy of the image, as its docs say
        canvas = cv2.drawKeypoints(to_bgr(frame.image, frame.color_space), keypoints, None, KEYPOINT_COLOR)  # type: ignore[call-overload]
        return frame.with_image(canvas, "bgr")

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        body = ["keypoints = DETECTOR.detect(to_gray(frame.image, frame.color_space), None)"]
        if p.method == "fast":
            detector = "cv2.FastFeatureDetector_create()"
            body.append("keypoints = strongest(keypoints, MAX_FEATURES)")
        else:
            detector = f"cv2.{p.method.upper()}_create(nfeatures=MAX_FEATURES)"
        body += [
            "canvas = cv2.drawKeypoints(to_bgr(frame.image, frame.color_space), keypoints, None, KEYPOINT_COLOR)",
            'return frame.with_image(canvas, "bgr")',
        ]
        return StageCode(
            "\n".join(body),
            f"{p.method.upper()} keypoints (the strongest {p.max_features}) drawn on the frame in colour",
            {"MAX_FEATURES": p.max_features},
            {"DETECTOR": detector},
        )
