"""Track motion: age, speed and trail of every track id, as per-detection data for trackers to attach."""

from __future__ import annotations

from collections import deque

import numpy as np

from vidcv.detections import TRACK_AGE, TRACK_SPEED, TRAIL, Detections

MAX_TRAIL = 64  #: centre positions kept per track for trails and speed


class TrackHistory:
    """Remembers each track's recent centres; ``annotate`` adds ``track_age`` (frames since first seen),
    ``speed_px_s`` (centre speed over the trail, source pixels per second) and ``trail`` (recent centres,
    oldest first) to tracked detections. Tracks unseen for ``forget_after`` frames are forgotten."""

    def __init__(self, forget_after: int = 60) -> None:
        self.forget_after = forget_after
        self.history: dict[int, deque[tuple[float, float, float]]] = {}
        self.first_seen: dict[int, int] = {}
        self.last_seen: dict[int, int] = {}
        self.frame_count = 0

    def annotate(self, dets: Detections, pts_ms: float) -> Detections:
        """``dets`` with their motion fields (untracked rows, id < 0: age 0, speed NaN, no trail)."""
        self.frame_count += 1
        n = len(dets)
        ages, speeds = np.zeros(n, np.int32), np.full(n, np.nan, np.float32)
        trails = [np.zeros((0, 2), np.float32) for _ in range(n)]
        ids = dets.tracker_id if dets.tracker_id is not None else np.full(n, -1, np.int64)
        for i, (box, tid) in enumerate(zip(dets.xyxy, ids.tolist())):
            if tid < 0:
                continue
            trail = self.history.setdefault(tid, deque(maxlen=MAX_TRAIL))
            trail.append((float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2, pts_ms))
            self.first_seen.setdefault(tid, self.frame_count)
            self.last_seen[tid] = self.frame_count
            ages[i] = self.frame_count - self.first_seen[tid] + 1
            speeds[i] = 0.0
            if len(trail) >= 2 and trail[-1][2] > trail[0][2]:
                dx, dy = trail[-1][0] - trail[0][0], trail[-1][1] - trail[0][1]
                speeds[i] = np.hypot(dx, dy) / ((trail[-1][2] - trail[0][2]) / 1000.0)
            trails[i] = np.array([(x, y) for x, y, _ in trail], np.float32)
        for tid in [t for t, last in self.last_seen.items() if self.frame_count - last > self.forget_after]:
            for table in (self.history, self.first_seen, self.last_seen):
                table.pop(tid, None)
        fields: dict[str, np.ndarray | list[np.ndarray]] = {
            TRACK_AGE.name: ages,
            TRACK_SPEED.name: speeds,
            TRAIL.name: trails,
        }
        return dets.with_data(**fields)
