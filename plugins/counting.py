"""Counting tracked objects across a line (per direction) or in a polygon zone (occupancy and entries)."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.drawing import draw_panel, labelled_boxes
from vidcv.frame import Frame
from vidcv.imageops import to_bgr
from vidcv.params import Bool, Choice, Ints
from vidcv.plugin import Plugin
from vidcv.status import EventKind, SceneEvent, StageStatus

LINE_COLOR, ZONE_COLOR = (0, 220, 255), (255, 160, 0)


def side_of(line: np.ndarray, points: np.ndarray) -> np.ndarray:
    """+1 on the right of someone walking along the line on screen from its first point to its second,
    -1 on the left, 0 on it (the sign of the cross product in image axes, whose y points down)."""
    (x1, y1), (x2, y2) = line
    return np.sign((x2 - x1) * (points[:, 1] - y1) - (y2 - y1) * (points[:, 0] - x1)).astype(int)


def along(line: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Where each point projects on the segment: 0 at its first point, 1 at its second."""
    a, b = line
    d = b - a
    return ((points - a) @ d) / max(float(d @ d), 1e-9)


class Count(Plugin):
    """Count confirmed tracks crossing a line or entering a zone."""

    name = "count"
    title = "Count (line or zone)"
    category = "tracking"
    summary = (
        "Counts the tracks of a track stage before it (untracked detections are ignored). Line: each "
        "crossing of the segment by a track's anchor point counts once, 'in' from the right to the left "
        "of someone walking along the line on screen from its first point to its second (upwards across "
        "a line drawn left to right), 'out' the other way. Zone: the "
        "tracks inside the four-corner polygon now ('occupancy') and how many came in ('entries', once "
        "per entry; a track first seen inside counts as an entry). The stage reports the counts: the "
        "stats, the readout and the detection log show them; 'draw' writes them on the frame."
    )
    stateful = True
    params = (
        Choice("mode", "line", ("line", "zone"), help="count across a line or inside a zone"),
        Ints("line", (0, 0, 0, 0), -16384, 16384, help="line: x1, y1, x2, y2 in source pixels"),
        Ints("zone", (0, 0, 0, 0, 0, 0, 0, 0), -16384, 16384, help="zone: four corners x1, y1, ..., x4, y4"),
        Choice("anchor", "center", ("center", "bottom"), help="point of a box that counts (bottom: feet)"),
        Bool("draw", True, help="draw the line or zone and the counts on the frame"),
    )

    def setup(self) -> None:
        self.last: dict[int, int] = {}  # line: last side per track; zone: inside (1) or not (0)
        self.counts = {"in": 0, "out": 0} if self.p.mode == "line" else {"occupancy": 0, "entries": 0}
        self.corner = 0  # where the counts were written last (an index into drawing.CORNERS): they stay there
        self.panel: tuple[int, int, int, int] | None = None  # ... and the rectangle they took on the last frame
        self.events: list[SceneEvent] = []  # line crossings and zone entries on the frame just processed

    def reset(self) -> None:
        self.setup()

    def region_params(self, x: int, y: int, width: int, height: int) -> dict[str, list[int]]:
        if self.p.mode == "zone":
            return {"zone": [x, y, x + width, y, x + width, y + height, x, y + height]}
        return {"line": [x, y + height // 2, x + width, y + height // 2]}

    def status(self) -> StageStatus:
        return StageStatus(counts=self.counts, events=tuple(self.events))

    def _anchors(self, xyxy: np.ndarray) -> np.ndarray:
        x = (xyxy[:, 0] + xyxy[:, 2]) / 2
        y = xyxy[:, 3] if self.p.anchor == "bottom" else (xyxy[:, 1] + xyxy[:, 3]) / 2
        return np.stack([x, y], axis=1)

    def process(self, frame: Frame) -> Frame:
        dets = frame.detections
        tracked = np.zeros(len(dets), bool) if dets.tracker_id is None else dets.tracker_id >= 0
        ids = dets.tracker_id[tracked] if dets.tracker_id is not None and tracked.any() else np.zeros(0, np.int64)
        points = self._anchors(dets.xyxy[tracked]) if tracked.any() else np.zeros((0, 2))
        names = [dets.class_name(int(c)) for c in dets.class_id[tracked]]
        self.events = []
        if self.p.mode == "line":
            crossed = self._count_line(ids, points)
        else:
            crossed = self._count_zone(ids, points)
        kind = EventKind.LINE_CROSS if self.p.mode == "line" else EventKind.ZONE_ENTER
        for j, direction in crossed:
            self.events.append(
                SceneEvent(
                    kind,
                    frame.index,
                    float(frame.pts_ms),
                    class_name=names[j],
                    track_id=int(ids[j]),
                    direction=direction,
                )
            )
        if self.p.draw:
            frame = self._draw(frame)
        return frame

    def _count_line(self, ids: np.ndarray, points: np.ndarray) -> list[tuple[int, str]]:
        """Count the crossings; which tracks (by position in ``ids``) crossed, and which way."""
        line = np.array(self.p.line, np.float64).reshape(2, 2)
        if not np.any(line[0] != line[1]):
            return []
        crossed: list[tuple[int, str]] = []
        sides, positions = side_of(line, points), along(line, points)
        for j, (tid, side, pos) in enumerate(zip(ids.tolist(), sides.tolist(), positions.tolist())):
            if side == 0:
                continue
            before = self.last.get(tid)
            self.last[tid] = side
            if before is not None and before != side and 0.0 <= pos <= 1.0:
                direction = "in" if before > 0 else "out"
                self.counts[direction] += 1
                crossed.append((j, direction))
        return crossed

    def _count_zone(self, ids: np.ndarray, points: np.ndarray) -> list[tuple[int, str]]:
        """Count occupancy and entries; which tracks (by position in ``ids``) came in."""
        polygon = np.array(self.p.zone, np.float32).reshape(4, 2)
        inside = [cv2.pointPolygonTest(polygon, (float(x), float(y)), False) >= 0 for x, y in points]
        entered: list[tuple[int, str]] = []
        for j, (tid, now) in enumerate(zip(ids.tolist(), inside)):
            if now and self.last.get(tid, 0) == 0:
                self.counts["entries"] += 1
                entered.append((j, ""))
            self.last[tid] = int(now)
        self.counts["occupancy"] = int(sum(inside))
        return entered

    def _draw(self, frame: Frame) -> Frame:
        canvas = to_bgr(frame.image, frame.color_space).copy()
        to_image = np.eye(3) if frame.to_source is None else np.linalg.inv(frame.to_source)
        shape = np.array(self.p.line if self.p.mode == "line" else self.p.zone, np.float64).reshape(-1, 2)
        pts = (shape @ to_image[:2, :2].T + to_image[:2, 2]).round().astype(np.int32)
        if self.p.mode == "line":
            cv2.line(canvas, tuple(pts[0]), tuple(pts[1]), LINE_COLOR, 2)
        else:
            cv2.polylines(canvas, [pts], True, ZONE_COLOR, 2)
        # in a corner clear of the boxes and of the labels that annotate or the window draw over them later
        text = "  ".join(f"{k} {v}" for k, v in self.counts.items())
        h, w = canvas.shape[:2]
        avoid = labelled_boxes(frame.detections_to_image(frame.detections), (w, h))
        self.corner, self.panel = draw_panel(canvas, text, avoid, self.corner)
        return frame.with_image(canvas, "bgr")
