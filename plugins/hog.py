"""HOG people detection with OpenCV's default people detector."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.detections import Detections, xywh_to_xyxy
from vidcv.errors import ParamError
from vidcv.frame import Frame
from vidcv.imageops import to_bgr
from vidcv.params import Float, Int
from vidcv.plugin import Plugin, Produces


def suppress(boxes_xywh: np.ndarray, scores: np.ndarray, overlap: float) -> np.ndarray:
    """Indices kept by non-maximum suppression (cv2.dnn.NMSBoxes) at IoU ``overlap``; all when 0."""
    if overlap <= 0 or len(boxes_xywh) == 0:
        return np.arange(len(boxes_xywh))
    ranked = scores - scores.min() + 1.0  # SVM margins may be negative; NMSBoxes wants scores > 0, order is kept
    keep = cv2.dnn.NMSBoxes(boxes_xywh.tolist(), ranked.tolist(), 0.0, overlap)
    return np.asarray(keep, np.int64).reshape(-1)


class HogPeople(Plugin):
    """Pedestrians by HOG + linear SVM (Dalal-Triggs)."""

    name = "hog_people"
    title = "HOG people detector"
    category = "detection"
    summary = (
        "cv2.HOGDescriptor with its default people detector (64x128 windows), detectMultiScale on the "
        "BGR or gray frame (other spaces converted to BGR), then non-maximum suppression of overlapping "
        "boxes (cv2.dnn.NMSBoxes; 0 turns it off). Confidence is the SVM margin through a sigmoid. "
        "Slow on large frames: put a resize before it."
    )
    params = (
        Int("win_stride", 8, 4, 64, step=4, help="window step in pixels (a multiple of 4)"),
        Int("padding", 8, 0, 64, step=4, help="padding around each window, in pixels"),
        Float("scale", 1.05, 1.01, 2.0, step=0.01, help="image pyramid step"),
        Float("hit_threshold", 0.0, -2.0, 5.0, step=0.1, help="SVM margin a window needs", provenance=True),
        Int("group_threshold", 2, 0, 10, help="OpenCV's own grouping of similar boxes (0: none)"),
        Float("overlap", 0.3, 0.0, 1.0, step=0.05, help="IoU above which the weaker box is suppressed (0: off)"),
    )

    def setup(self) -> None:
        self.hog = cv2.HOGDescriptor()
        # OpenCV's stubs leave out this name, and type HOGDescriptor.getDefaultPeopleDetector as returning a
        # Sequence, though it returns the float32 array that setSVMDetector takes
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]
        if self.p.win_stride % 4:
            raise ParamError(
                f"parameter 'win_stride' = {self.p.win_stride} is not allowed: expected a multiple "
                "of 4 (the HOG block stride)"
            )

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, y, w, h) boxes and SVM weights from detectMultiScale with this plugin's parameters."""
        p = self.p
        win_w, win_h = self.hog.winSize
        if image.shape[0] < win_h or image.shape[1] < win_w:  # smaller than one window: nothing to find
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        boxes, weights = self.hog.detectMultiScale(
            image,
            hitThreshold=p.hit_threshold,
            winStride=(p.win_stride, p.win_stride),
            padding=(p.padding, p.padding),
            scale=p.scale,
            groupThreshold=p.group_threshold,
        )
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(weights, np.float32).reshape(-1)

    def produces(self) -> Produces:
        return Produces.DETECTIONS

    def process(self, frame: Frame) -> Frame:
        image = frame.image
        if image.ndim == 3 and frame.color_space != "bgr":
            image = to_bgr(image, frame.color_space)
        boxes, weights = self.detect(image)
        keep = suppress(boxes, weights, self.p.overlap)
        boxes, weights = boxes[keep], weights[keep]
        xyxy = xywh_to_xyxy(boxes)
        found = Detections(xyxy, 1.0 / (1.0 + np.exp(-weights)), np.zeros(len(boxes), np.int32), {0: "person"})
        return frame.with_detections_added(frame.detections_to_source(found))
