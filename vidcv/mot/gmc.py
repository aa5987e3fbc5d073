"""Camera-motion compensation for BoT-SORT: how the whole picture moved since the previous frame.

``CameraMotion.estimate(image, boxes)`` returns a 2x3 affine warp (rotation, uniform scale, translation) from the
previous frame's pixels to this one's, measured on a half-size gray copy of the frame, by one of four methods:

``sparseOptFlow``  corners (Shi-Tomasi) of the previous frame followed by pyramidal Lucas-Kanade optical flow;
                   the cheapest, and BoT-SORT's default
``orb``            FAST corners with ORB descriptors, matched to the previous frame's with a ratio test
``sift``           SIFT keypoints and descriptors, matched the same way
``ecc``            the whole image aligned by enhanced correlation (a Euclidean motion): slow, no features needed

The feature methods leave out a 2 % border and the detections' boxes (objects move on their own), drop matches
that moved more than a quarter of the frame or far from the others, and fit the warp with RANSAC
(``cv2.estimateAffinePartial2D``). When too few points remain, the warp is the identity: the tracks are then only
predicted by their own motion, as without compensation.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

METHODS = ("sparseOptFlow", "orb", "sift", "ecc")

#: fewer points than this (after filtering) give no warp: the identity is used
MIN_POINTS = 5


def _identity() -> np.ndarray:
    return np.eye(2, 3)


class CameraMotion:
    """The camera's motion between consecutive frames, by ``method`` (one of METHODS) on frames shrunk by
    ``downscale``."""

    def __init__(self, method: str, downscale: int = 2) -> None:
        if method not in METHODS:
            raise ValueError(f"camera-motion method {method!r}: one of {', '.join(METHODS)}")
        self.method = method
        self.downscale = max(1, int(downscale))
        self.detector: cv2.Feature2D | None = None
        self.extractor: cv2.Feature2D | None = None
        self.matcher: cv2.DescriptorMatcher | None = None
        if method == "orb":
            self.detector = cv2.FastFeatureDetector.create(20)
            self.extractor = cv2.ORB.create()
            self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        elif method == "sift":
            self.detector = self.extractor = cv2.SIFT.create(nOctaveLayers=3, contrastThreshold=0.02, edgeThreshold=20)
            self.matcher = cv2.BFMatcher(cv2.NORM_L2)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (a new source, a seek): the next estimate is the identity."""
        self.previous: np.ndarray | None = None
        self.points: np.ndarray | None = None  # sparseOptFlow's corners of the previous frame
        self.keypoints: tuple[cv2.KeyPoint, ...] = ()
        self.descriptors: np.ndarray | None = None

    def _gray(self, image: np.ndarray, blur: bool = False) -> np.ndarray:
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if self.downscale > 1:
            if blur:
                gray = cv2.GaussianBlur(gray, (3, 3), 1.5)
            h, w = gray.shape[:2]
            gray = cv2.resize(gray, (w // self.downscale, h // self.downscale))
        return np.ascontiguousarray(gray)

    def estimate(self, image: np.ndarray, boxes: np.ndarray | None = None) -> np.ndarray:
        """The 2x3 warp from the previous frame to ``image`` (BGR or gray), in full-size pixels; ``boxes`` (N, 4
        xyxy): the detections, whose pixels the feature methods leave out. The identity for the first frame."""
        if self.method == "ecc":
            return self._ecc(image)
        if self.method == "sparseOptFlow":
            return self._optical_flow(image)
        return self._features(image, boxes)

    def _fit(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """The warp that moves ``before`` onto ``after`` (points in the shrunk frame), or the identity."""
        if len(before) < MIN_POINTS:
            log.debug("camera motion: %d points, too few; no compensation this frame", len(before))
            return _identity()
        warp, _ = cv2.estimateAffinePartial2D(before, after, method=cv2.RANSAC)
        if warp is None:
            return _identity()
        warp = np.asarray(warp, np.float64)
        warp[:, 2] *= self.downscale
        return warp

    def _optical_flow(self, image: np.ndarray) -> np.ndarray:
        gray = self._gray(image)
        corners = cv2.goodFeaturesToTrack(
            gray, maxCorners=400, qualityLevel=0.01, minDistance=0, blockSize=3, useHarrisDetector=False, k=0.04
        )
        previous, points = self.previous, self.points
        self.previous, self.points = gray, corners
        if previous is None or points is None or previous.shape != gray.shape:
            return _identity()
        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, gray, points, np.empty_like(points))  # no initial flow
        found = status.ravel().astype(bool)
        return self._fit(points[found].reshape(-1, 2), moved[found].reshape(-1, 2))

    def _features(self, image: np.ndarray, boxes: np.ndarray | None) -> np.ndarray:
        assert self.detector is not None and self.extractor is not None and self.matcher is not None
        gray = self._gray(image)
        h, w = gray.shape[:2]
        mask = np.zeros_like(gray)
        mask[int(0.02 * h) : int(0.98 * h), int(0.02 * w) : int(0.98 * w)] = 255
        if boxes is not None:
            for x1, y1, x2, y2 in (np.asarray(boxes, np.float64)[:, :4] / self.downscale).astype(np.int64).tolist():
                mask[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)] = 0
        keypoints = self.detector.detect(gray, mask)
        keypoints, descriptors = self.extractor.compute(gray, keypoints)
        previous, before_points, before_descriptors = self.previous, self.keypoints, self.descriptors
        self.previous, self.keypoints, self.descriptors = gray, tuple(keypoints), descriptors
        if previous is None or previous.shape != gray.shape:
            return _identity()
        if before_descriptors is None or descriptors is None or not len(before_descriptors) or not len(descriptors):
            return _identity()
        reach = 0.25 * np.array([w, h])
        before, after = [], []
        for pair in self.matcher.knnMatch(before_descriptors, descriptors, k=2):
            if len(pair) < 2 or pair[0].distance >= 0.9 * pair[1].distance:  # the ratio test
                continue
            a, b = before_points[pair[0].queryIdx].pt, keypoints[pair[0].trainIdx].pt
            if abs(a[0] - b[0]) < reach[0] and abs(a[1] - b[1]) < reach[1]:
                before.append(a)
                after.append(b)
        if not before:
            return _identity()
        before_xy, after_xy = np.asarray(before, np.float32), np.asarray(after, np.float32)
        shift = after_xy - before_xy
        usual = (np.abs(shift - shift.mean(axis=0)) <= 2.5 * shift.std(axis=0)).all(axis=1)
        return self._fit(before_xy[usual], after_xy[usual])

    def _ecc(self, image: np.ndarray) -> np.ndarray:
        gray = self._gray(image, blur=True)
        previous, self.previous = self.previous, gray
        if previous is None or previous.shape != gray.shape:
            return _identity()
        warp = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 5000, 1e-6)
        everywhere = np.full_like(gray, 255)  # a mask of every pixel: as none, and the stubs want one here
        try:
            _, found = cv2.findTransformECC(previous, gray, warp, cv2.MOTION_EUCLIDEAN, criteria, everywhere, 1)
        except cv2.error as exc:  # no convergence on a flat or changing image
            log.debug("camera motion (ecc): %s; no compensation this frame", str(exc).strip().splitlines()[-1])
            return _identity()
        out = np.asarray(found, np.float64)
        out[:, 2] *= self.downscale
        return out
