"""ByteTrack and BoT-SORT: identities for the detections of each frame.

Each frame (``MultiTracker.update``):

1. The detections split by score: high (``track_high_thresh`` and above) and low (above ``track_low_thresh``);
   boxes without area are left out.
2. The confirmed tracks and the lost ones are predicted one frame on by their Kalman filters; BoT-SORT first moves
   every track by the camera's motion (``gmc``).
3. First association: those tracks with the high detections, by 1 - IoU (times the score with ``fuse_score``),
   none over ``match_thresh``. A lost track matched is found again under its id.
4. Second association: the confirmed tracks still unmatched with the low detections, by 1 - IoU, none over 0.5
   (ByteTrack's idea: a partly hidden object scores low, yet it is the object). Those still unmatched are lost.
5. The tracks started in the previous frame with the high detections left (cost limit 0.7): matched ones are
   confirmed, the others dropped.
6. A high detection left starts a track when it scores ``new_track_thresh``; in the first frame it is confirmed at
   once, otherwise when it is matched in the next frame. A track lost for more than ``track_buffer`` frames ends
   a frame later, as ByteTrack counts: it can be found again up to ``track_buffer`` + 2 frames after it was last
   matched.
7. A confirmed track and a lost one on the same place (IoU above 0.85) are one object twice: the younger goes.

The result holds the confirmed tracks matched in this frame, each with its Kalman-filtered box, its id (from 1, in
the order the tracks started), the score and class of its detection and that detection's index. Oriented boxes
(``cx, cy, w, h, angle``) are matched by probabilistic IoU; the filter follows their centre and size with the long
side as width, and the angle is the detection's, turned by half turns to stay next to the track's.

ByteTrack's filter state is ``xyah``, BoT-SORT's ``xywh`` (``kalman``); BoT-SORT here has no appearance
(re-identification) model, as the ``track`` stage used it before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import count

import numpy as np

from vidcv.inference.rotated import probiou
from vidcv.mot.assignment import assign
from vidcv.mot.gmc import CameraMotion
from vidcv.mot.kalman import BoxKalman

METHODS = ("bytetrack", "botsort")

#: cost limits of the second association (low detections) and of the tracks started in the previous frame
LOW_MATCH = 0.5
NEW_MATCH = 0.7
#: a confirmed track and a lost one closer than this in 1 - IoU are the same object
DUPLICATE = 0.15

TRACKED, LOST, ENDED = "tracked", "lost", "ended"


@dataclass(frozen=True)
class TrackerSettings:
    """The ``track`` stage's parameters, ``track_buffer`` in frames of this video; ``gmc``: BoT-SORT's camera-motion
    method (``gmc.METHODS``) or None."""

    method: str = "bytetrack"
    track_high_thresh: float = 0.25
    track_low_thresh: float = 0.1
    new_track_thresh: float = 0.25
    track_buffer: int = 30
    match_thresh: float = 0.8
    fuse_score: bool = True
    gmc: str | None = "sparseOptFlow"


@dataclass(frozen=True)
class Tracked:
    """The confirmed tracks of one frame: ``boxes`` (K, 4) xyxy or (K, 5) xywhr, ``ids``, ``scores``, ``classes``
    and ``index``, the detection each matched in this frame."""

    boxes: np.ndarray
    ids: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    index: np.ndarray


class _Detections:
    """One frame's detections as the tracker reads them: the filter's measurements, the boxes IoU compares
    (float32, as the boxes of the tracks), scores, classes, angles."""

    def __init__(self, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, form: str) -> None:
        boxes = np.asarray(boxes, np.float32)
        self.oriented = boxes.shape[1] == 5
        self.scores = np.asarray(scores, np.float32)
        self.classes = np.asarray(classes, np.float32)
        if self.oriented:
            xywh, angle = boxes[:, :4].copy(), boxes[:, 4].astype(np.float64)
            upright = xywh[:, 2] < xywh[:, 3]  # the long side as width: one form for the same rectangle
            xywh[upright] = xywh[upright][:, [0, 1, 3, 2]]
            angle[upright] += math.pi / 2
            self.angles = angle
        else:
            wh = boxes[:, 2:4] - boxes[:, :2]
            xywh = np.concatenate([boxes[:, :2] + wh / 2, wh], axis=1)
            self.angles = np.zeros(len(boxes))
        self.valid = (xywh[:, 2] > 0) & (xywh[:, 3] > 0)
        top_left = xywh[:, :2] - xywh[:, 2:] / 2
        centre = top_left + xywh[:, 2:] / 2
        if form == "xyah":
            with np.errstate(divide="ignore", invalid="ignore"):
                size = xywh[:, 2] / xywh[:, 3]
            self.measurements = np.concatenate([centre, size[:, None], xywh[:, 3:4]], axis=1)
        else:
            self.measurements = np.concatenate([centre, xywh[:, 2:]], axis=1)
        if self.oriented:
            self.compare = np.concatenate([centre, xywh[:, 2:], self.angles[:, None]], axis=1).astype(np.float32)
            cos, sin = np.abs(np.cos(self.angles)), np.abs(np.sin(self.angles))
            half = np.stack([xywh[:, 2] * cos + xywh[:, 3] * sin, xywh[:, 2] * sin + xywh[:, 3] * cos], axis=1) / 2
            self.xyxy = np.concatenate([xywh[:, :2] - half, xywh[:, :2] + half], axis=1)  # the rotated box's bounds
        else:
            self.compare = self.xyxy = np.concatenate([top_left, top_left + xywh[:, 2:]], axis=1)


class _Track:
    """One object's track: its filter state, id, state, and what the detection it last matched said."""

    __slots__ = ("angle", "cls", "confirmed", "covariance", "first", "index", "last", "mean", "score", "state", "tid")

    def __init__(self, mean: np.ndarray, covariance: np.ndarray, tid: int, frame: int) -> None:
        self.mean, self.covariance = mean, covariance
        self.tid = tid
        self.state = TRACKED
        self.confirmed = frame == 1
        self.first = self.last = frame
        self.score, self.cls, self.index, self.angle = 0.0, 0.0, -1, 0.0

    def take(self, dets: _Detections, i: int, first: bool = False) -> None:
        """What the detection ``i`` says besides its box (``first``: the detection that starts the track)."""
        self.score, self.cls, self.index = float(dets.scores[i]), float(dets.classes[i]), int(i)
        angle = float(dets.angles[i])
        if not first:  # the half turn nearest the track's angle: it never flips
            angle -= math.pi * round((angle - self.angle) / math.pi)
        self.angle = angle


class MultiTracker:
    """ByteTrack or BoT-SORT (``settings.method``) over the frames of one video."""

    def __init__(self, settings: TrackerSettings) -> None:
        if settings.method not in METHODS:
            raise ValueError(f"tracking method {settings.method!r}: one of {', '.join(METHODS)}")
        self.settings = settings
        self.botsort = settings.method == "botsort"
        self.kalman = BoxKalman("xywh" if self.botsort else "xyah")
        self.motion = CameraMotion(settings.gmc) if self.botsort and settings.gmc else None
        self.tracked: list[_Track] = []  # matched in the last frame (confirmed or started then)
        self.lost: list[_Track] = []
        self.frame = 0
        self._ids = count(1)
        self.oriented: bool | None = None

    # the boxes of the tracks, as the detections' ``compare``
    def _compare(self, tracks: list[_Track]) -> np.ndarray:
        if not tracks:
            return np.zeros((0, 5 if self.oriented else 4), np.float32)
        means = np.array([t.mean[:4] for t in tracks])
        if self.kalman.form == "xyah":
            wh = np.stack([means[:, 2] * means[:, 3], means[:, 3]], axis=1)
        else:
            wh = means[:, 2:4]
        if self.oriented:
            angles = np.array([t.angle for t in tracks])
            return np.concatenate([means[:, :2], wh, angles[:, None]], axis=1).astype(np.float32)
        top_left = means[:, :2] - wh / 2
        return np.concatenate([top_left, top_left + wh], axis=1).astype(np.float32)

    def _iou(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if not len(a) or not len(b):
            return np.zeros((len(a), len(b)), np.float32)
        if self.oriented:
            return probiou(a, b).astype(np.float32)
        top_left = np.maximum(a[:, None, :2], b[None, :, :2])
        bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
        inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
        area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
        area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
        iou: np.ndarray = inter / (area_a[:, None] + area_b[None] - inter + np.float32(1e-7))
        return iou.astype(np.float32)

    def _cost(self, tracks: list[_Track], dets: _Detections, which: np.ndarray, fuse: bool) -> np.ndarray:
        """1 - IoU of ``tracks`` with the detections ``which``; with ``fuse``, 1 - IoU * score."""
        iou = self._iou(self._compare(tracks), dets.compare[which])
        cost: np.ndarray = 1 - (iou * dets.scores[which][None] if fuse else iou)
        return cost

    def _predict(self, tracks: list[_Track]) -> None:
        if not tracks:
            return
        means = np.array([t.mean for t in tracks])
        covariances = np.array([t.covariance for t in tracks])
        for i, t in enumerate(tracks):
            if t.state != TRACKED:  # a lost track keeps its course but stops growing or shrinking
                means[i, 7] = 0
                if self.botsort:
                    means[i, 6] = 0
        means, covariances = self.kalman.predict(means, covariances)
        for t, mean, covariance in zip(tracks, means, covariances):
            t.mean, t.covariance = mean, covariance

    def _warp(self, tracks: list[_Track], warp: np.ndarray) -> None:
        """Move the tracks' states by the camera's motion (a 2x3 warp of rotation, scale and translation)."""
        if not tracks:
            return
        rotation = warp[:, :2]
        transform = np.kron(np.eye(4), rotation)
        # sizes never change sign: an upright box's size follows the bounds of the turned box, an oriented box's
        # only the scale (its angle takes the rotation)
        sizes = np.linalg.norm(rotation[:, 0]) * np.eye(2) if self.oriented else np.abs(rotation)
        transform[2:4, 2:4] = transform[6:8, 6:8] = sizes
        turn = math.atan2(rotation[1, 0], rotation[0, 0])
        for t in tracks:
            t.mean = transform @ t.mean
            t.mean[:2] += warp[:, 2]
            t.covariance = transform @ t.covariance @ transform.T
            if self.oriented:
                t.angle += turn

    def _update(self, track: _Track, dets: _Detections, i: int) -> None:
        track.mean, track.covariance = self.kalman.update(track.mean, track.covariance, dets.measurements[i])
        track.take(dets, i)
        track.state, track.confirmed, track.last = TRACKED, True, self.frame

    def update(
        self, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, image: np.ndarray | None = None
    ) -> Tracked:
        """Track one frame's detections: ``boxes`` (N, 4) xyxy or (N, 5) xywhr, their scores and classes;
        ``image`` (BGR) for BoT-SORT's camera-motion compensation."""
        s = self.settings
        self.frame += 1
        if not len(boxes) and self.oriented is not None:  # no detection: nothing says what kind they are
            boxes = np.zeros((0, 5 if self.oriented else 4), np.float32)
        dets = _Detections(boxes, scores, classes, self.kalman.form)
        if dets.oriented != self.oriented:  # oriented boxes, or upright ones, from now on: start afresh
            self.tracked, self.lost, self.oriented = [], [], dets.oriented
        high = np.flatnonzero(dets.valid & (dets.scores >= s.track_high_thresh))
        low = np.flatnonzero(dets.valid & (dets.scores > s.track_low_thresh) & (dets.scores < s.track_high_thresh))

        started = [t for t in self.tracked if not t.confirmed]
        pool = [t for t in self.tracked if t.confirmed] + self.lost
        self._predict(pool)
        if self.motion is not None and image is not None:
            self._warp(pool + started, self.motion.estimate(image, dets.xyxy[high]))

        # 1: confirmed and lost tracks with the high detections
        pairs, pool_left, high_left = assign(self._cost(pool, dets, high, s.fuse_score), s.match_thresh)
        found_again: list[_Track] = []
        for t, d in pairs.tolist():
            if pool[t].state != TRACKED:
                found_again.append(pool[t])
            self._update(pool[t], dets, int(high[d]))
        # 2: the confirmed tracks left with the low detections
        left = [pool[t] for t in pool_left.tolist() if pool[t].state == TRACKED]
        pairs, left_over, _ = assign(self._cost(left, dets, low, fuse=False), LOW_MATCH)
        for t, d in pairs.tolist():
            self._update(left[t], dets, int(low[d]))
        newly_lost = [left[t] for t in left_over.tolist()]
        for t in newly_lost:
            t.state = LOST
        # 3: the tracks started in the previous frame with the high detections left
        high = high[high_left]
        pairs, started_left, high_left = assign(self._cost(started, dets, high, s.fuse_score), NEW_MATCH)
        for t, d in pairs.tolist():
            self._update(started[t], dets, int(high[d]))
        for t in started_left.tolist():
            started[t].state = ENDED
        # 4: new tracks
        new: list[_Track] = []
        for d in high[high_left].tolist():
            if dets.scores[d] >= s.new_track_thresh:
                track = _Track(*self.kalman.initiate(dets.measurements[d]), next(self._ids), self.frame)
                track.take(dets, d, first=True)
                new.append(track)
        # a track lost for more than track_buffer frames ends, one frame after that is seen (ByteTrack's count): it
        # can be found again up to track_buffer + 2 frames after it was last matched
        for t in self.lost:
            if t.state == LOST and self.frame - t.last > s.track_buffer + 1:
                t.state = ENDED

        self.tracked = [t for t in self.tracked if t.state == TRACKED] + new + found_again
        self.lost = [t for t in self.lost if t.state == LOST] + newly_lost
        self._drop_duplicates()
        return self._result()

    def _drop_duplicates(self) -> None:
        """A confirmed or new track and a lost one in the same place: the one followed for fewer frames goes (the
        tracked one when equal)."""
        if not self.tracked or not self.lost:
            return
        close = 1 - self._iou(self._compare(self.tracked), self._compare(self.lost)) < DUPLICATE
        drop_tracked, drop_lost = set(), set()
        for a, b in zip(*np.nonzero(close)):
            ta, tb = self.tracked[a], self.lost[b]
            if ta.last - ta.first > tb.last - tb.first:
                drop_lost.add(int(b))
            else:
                drop_tracked.add(int(a))
        self.tracked = [t for i, t in enumerate(self.tracked) if i not in drop_tracked]
        self.lost = [t for i, t in enumerate(self.lost) if i not in drop_lost]

    def _result(self) -> Tracked:
        shown = [t for t in self.tracked if t.confirmed]
        return Tracked(
            boxes=self._compare(shown).astype(np.float64),  # float32 values, as IoU compares them
            ids=np.array([t.tid for t in shown], np.int64),
            scores=np.array([t.score for t in shown], np.float64),
            classes=np.array([t.cls for t in shown], np.float64),
            index=np.array([t.index for t in shown], np.int64),
        )
