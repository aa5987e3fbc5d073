"""A constant-velocity Kalman filter of a box, as ByteTrack and BoT-SORT use it.

The state is a box and its velocity, ``(x, y, s, h, vx, vy, vs, vh)``: the centre, a size term ``s`` and the height.
ByteTrack's form ``xyah`` takes ``s`` as the aspect ratio w / h, BoT-SORT's form ``xywh`` as the width. Every noise
is proportional to the box's size (1/20 of it for a position, 1/160 for a velocity, per frame), except the aspect
ratio's, which is fixed: a box twice as big moves and wobbles twice as much.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Form = Literal["xyah", "xywh"]

POSITION = 1.0 / 20  #: standard deviation of a position, as a fraction of the box's size
VELOCITY = 1.0 / 160  #: standard deviation of a velocity per frame, as a fraction of the box's size

# the motion: each component moves by its velocity in one frame
_MOTION = np.eye(8)
_MOTION[:4, 4:] = np.eye(4)


class BoxKalman:
    """Initiate, predict (many tracks at once) and update (one track) the state of a box of the form ``form``."""

    def __init__(self, form: Form) -> None:
        self.form: Form = form

    def _sizes(self, boxes: np.ndarray) -> np.ndarray:
        """(N, 4): what each of the four components' noise is proportional to (the aspect ratio's: 0)."""
        h = boxes[:, 3]
        if self.form == "xyah":
            return np.stack([h, h, np.zeros_like(h), h], axis=1)
        w = boxes[:, 2]
        return np.stack([w, h, w, h], axis=1)

    def _std(self, boxes: np.ndarray, weight: float, aspect: float) -> np.ndarray:
        std = weight * self._sizes(boxes)
        if self.form == "xyah":
            std[:, 2] = aspect
        return std

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state of a new track at the box ``measurement`` (x, y, s, h), standing still."""
        box = np.asarray(measurement, np.float64)[None]
        mean = np.concatenate([box[0], np.zeros(4)])
        std = np.concatenate([self._std(box, 2 * POSITION, 1e-2), self._std(box, 10 * VELOCITY, 1e-5)], axis=1)[0]
        return mean, np.diag(np.square(std))

    def predict(self, means: np.ndarray, covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One frame on: (N, 8) means and (N, 8, 8) covariances."""
        if not len(means):
            return means, covariances
        std = np.concatenate([self._std(means, POSITION, 1e-2), self._std(means, VELOCITY, 1e-5)], axis=1)
        noise = np.zeros_like(covariances)
        noise[:, np.arange(8), np.arange(8)] = np.square(std)
        means = means @ _MOTION.T
        covariances = _MOTION @ covariances @ _MOTION.T + noise
        return means, covariances

    def update(
        self, mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The state corrected by the box ``measurement`` (x, y, s, h) seen in this frame."""
        w, h = POSITION * mean[2], POSITION * mean[3]
        std = (h, h, 1e-1, h) if self.form == "xyah" else (w, h, w, h)
        projected = covariance[:4, :4] + np.diag(np.square(std))
        gain = np.linalg.solve(projected, covariance[:4, :]).T  # (8, 4): P H' S^-1, with P and S symmetric
        innovation = np.asarray(measurement, np.float64) - mean[:4]
        return mean + gain @ innovation, covariance - gain @ projected @ gain.T
