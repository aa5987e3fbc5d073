"""Speed of each track: image pixels per second from its recent anchor points, metres per second with a scale."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from vidcv.detections import TRACK_SPEED, data_field
from vidcv.frame import Frame
from vidcv.imageops import to_bgr
from vidcv.params import Bool, Choice, Float, Ints
from vidcv.plugin import Plugin
from vidcv.status import StageStatus

SPEED_M = data_field(
    "speed_m_s",
    np.float32,
    fill=np.nan,
    logged=True,
    help="speed of the track's anchor in metres per second (a speed stage with a scale; empty without one)",
)
COORD_LIMIT = 16384
#: a track not seen for this long is forgotten (the track stage gave its id up long before)
FORGET_MS = 60_000.0
UNITS = {"m/s": 1.0, "km/h": 3.6, "mph": 3600 / 1609.344}
LABEL_COLOR = (255, 255, 255)
SCALE_COLOR = (0, 220, 255)


def anchors(xyxy: np.ndarray, anchor: str) -> np.ndarray:
    """Each box's anchor point: its bottom centre (feet) or its centre, in the boxes' pixels."""
    x = (xyxy[:, 0] + xyxy[:, 2]) / 2
    y = xyxy[:, 3] if anchor == "bottom" else (xyxy[:, 1] + xyxy[:, 3]) / 2
    return np.stack([x, y], axis=1)


def velocity(t_ms: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Least-squares velocity (units per second) of ``points`` (K, 2) seen at ``t_ms`` (K,): the slope of the
    straight line through them, exact for steady motion whatever the intervals, steadier than the first and
    last alone when the points jitter. NaN for fewer than two distinct times."""
    t = (t_ms - t_ms.mean()) / 1000.0
    spread = float(t @ t)
    if len(t) < 2 or spread <= 0:
        return np.full(2, np.nan)
    return (t @ (points - points.mean(axis=0))) / spread


class Speed(Plugin):
    """Measure each track's speed in pixels per second, and in metres per second once a scale is given."""

    name = "speed"
    title = "Speed (pixels and metres per second)"
    category = "tracking"
    summary = (
        "Speed of each track of a track stage before it, from its anchor (the box's bottom centre by default) over "
        "the last 'window' seconds: a straight line fitted through its points at the frames' timestamps, so uneven "
        "frame intervals and small jitter do no harm. Per detection, logged: speed_px_s (source pixels per "
        "second, in place of the track stage's estimate) and, with a scale, speed_m_s; empty where untracked and "
        "on a track's first frame. Scales: 'line', two points 'line_m' metres apart (right for a view straight "
        "down, in perspective only near the line); 'ground', four image points of a rectangle on the ground in "
        "order around it, 'ground_width_m' from the first to the second and 'ground_length_m' from the second to "
        "the third: anchors are mapped onto the ground, right across a perspective view. 'draw' writes each speed "
        "under its box, in 'unit', and the scale. Figures: mean and max speed of the tracks on the frame."
    )
    stateful = True
    params = (
        Float("window", 0.5, 0.05, 60.0, step=0.1, help="seconds of recent points each speed is measured over"),
        Choice("anchor", "bottom", ("bottom", "center"), help="point of a box that is measured (bottom: feet)"),
        Choice("scale", "none", ("none", "line", "ground"), help="how pixels become metres (none: pixels only)"),
        Ints("line", (0, 0, 0, 0), -COORD_LIMIT, COORD_LIMIT, help="line scale: x1, y1, x2, y2 in source pixels"),
        Float("line_m", 1.0, 0.001, 100000.0, step=0.1, help="line scale: metres between its two points"),
        Ints(
            "ground",
            (0, 0, 0, 0, 0, 0, 0, 0),
            -COORD_LIMIT,
            COORD_LIMIT,
            help="ground scale: x1, y1, ..., x4, y4, image points of a ground rectangle in order around it",
        ),
        Float("ground_width_m", 1.0, 0.001, 100000.0, step=0.1, help="ground scale: metres from point 1 to 2"),
        Float("ground_length_m", 1.0, 0.001, 100000.0, step=0.1, help="ground scale: metres from point 2 to 3"),
        Choice("unit", "km/h", tuple(UNITS), help="unit of the speeds drawn once there is a scale"),
        Bool("draw", True, help="write each speed under its box, and draw the scale"),
    )

    def setup(self) -> None:
        self.history: dict[int, deque[tuple[float, float, float]]] = {}  # track id -> (t_ms, x, y), oldest first
        self.tracked = False
        self.last_pts: float | None = None
        self.speeds_px = np.zeros(0, np.float32)  # the tracks' speeds on the last frame
        self.speeds_m = np.zeros(0, np.float32)
        self._calibrate()

    def _calibrate(self) -> None:
        """From the scale parameters: metres per pixel (line), or the image-to-ground homography (ground), and
        why neither is usable."""
        p = self.p
        self.metres_per_px: float | None = None
        self.to_ground: np.ndarray | None = None
        self.ground_side = 1.0
        self.scale_problem = ""
        if p.scale == "line":
            (x1, y1, x2, y2) = p.line
            length = float(np.hypot(x2 - x1, y2 - y1))
            if length > 0:
                self.metres_per_px = p.line_m / length
            else:
                self.scale_problem = "no scale line: pixels per second only"
        elif p.scale == "ground":
            quad = np.array(p.ground, np.float32).reshape(4, 2)
            if cv2.contourArea(quad) <= 0 or not cv2.isContourConvex(quad):
                self.scale_problem = "ground points are not a convex quadrilateral: pixels per second only"
                return
            w, length = p.ground_width_m, p.ground_length_m
            ground = np.array([[0, 0], [w, 0], [w, length], [0, length]], np.float32)
            self.to_ground = cv2.getPerspectiveTransform(quad, ground).astype(np.float64)
            # the side of the horizon the rectangle is on: points beyond it have no place on the ground
            self.ground_side = float(np.sign((self.to_ground @ np.append(quad.mean(axis=0), 1.0))[2]))

    def on_params_changed(self, changed: set[str]) -> None:
        if "anchor" in changed:  # the points kept are of the other anchor
            self.setup()
        else:
            self._calibrate()  # the tracks' points stay: the scale, the window or the drawing changed

    def reset(self) -> None:
        self.setup()

    def region_params(self, x: int, y: int, width: int, height: int) -> dict[str, list[int]] | None:
        """The scale from a drawn rectangle: its diagonal (line), or its corners as the ground rectangle (a view
        straight down); none while there is no scale."""
        if self.p.scale == "line":
            return {"line": [x, y, x + width, y + height]}
        if self.p.scale == "ground":
            return {"ground": [x, y, x + width, y, x + width, y + height, x, y + height]}
        return None

    def status(self) -> StageStatus:
        figures: dict[str, float] = {}
        for unit, speeds in (("px_s", self.speeds_px), ("m_s", self.speeds_m)):
            known = speeds[np.isfinite(speeds)]
            if len(known):
                figures[f"mean_{unit}"] = round(float(known.mean()), 3)
                figures[f"max_{unit}"] = round(float(known.max()), 3)
        state = "no track ids: no speed" if not self.tracked else self.scale_problem
        return StageStatus(figures=figures, state=state)

    # --- measuring ----------------------------------------------------------------------------------------------
    def _on_ground(self, points: np.ndarray) -> np.ndarray:
        """Image points (K, 2) on the ground plane in metres; NaN for those beyond the horizon."""
        assert self.to_ground is not None
        mapped = np.column_stack([points, np.ones(len(points))]) @ self.to_ground.T
        beyond = np.sign(mapped[:, 2]) != self.ground_side
        out = mapped[:, :2] / np.where(beyond, np.nan, mapped[:, 2])[:, None]
        return out

    def _measure(self, track: deque[tuple[float, float, float]]) -> tuple[float, float]:
        """Speed of one track over its window: pixels per second, metres per second (NaN: unknown)."""
        samples = np.array(track, np.float64)
        t, points = samples[:, 0], samples[:, 1:]
        px = float(np.hypot(*velocity(t, points)))
        if self.metres_per_px is not None:
            return px, px * self.metres_per_px
        if self.to_ground is not None:
            return px, float(np.hypot(*velocity(t, self._on_ground(points))))
        return px, float("nan")

    def process(self, frame: Frame) -> Frame:
        dets = frame.detections
        now = float(frame.pts_ms)
        if self.last_pts is not None and now < self.last_pts:  # time went back without a reset: start afresh
            self.history = {}
        self.last_pts = now
        ids = dets.tracker_id
        # a track stage's output has track ids, even when it holds no detection
        self.tracked = self.tracked or (ids is not None and (len(ids) == 0 or bool(np.any(ids >= 0))))
        px = np.full(len(dets), np.nan, np.float32)
        metres = np.full(len(dets), np.nan, np.float32)
        if ids is not None and len(dets):
            points = anchors(dets.xyxy, self.p.anchor)
            window_ms = self.p.window * 1000.0
            measured: dict[int, tuple[float, float]] = {}
            for i, tid in enumerate(ids.tolist()):
                if tid < 0:
                    continue
                if tid not in measured:  # a track seen twice on a frame is measured once, from its first box
                    track = self.history.setdefault(tid, deque())
                    track.append((now, float(points[i, 0]), float(points[i, 1])))
                    while len(track) > 2 and track[0][0] < now - window_ms:  # at least two points stay
                        track.popleft()
                    measured[tid] = self._measure(track)
                px[i], metres[i] = measured[tid]
        self.history = {k: v for k, v in self.history.items() if now - v[-1][0] <= FORGET_MS}
        tracked_rows = np.zeros(len(dets), bool) if ids is None else ids >= 0
        self.speeds_px, self.speeds_m = px[tracked_rows], metres[tracked_rows]
        fields = {TRACK_SPEED.name: px, SPEED_M.name: metres}
        frame = frame.with_detections(dets.with_data(**fields))
        return self._draw(frame) if self.p.draw else frame

    # --- drawing ------------------------------------------------------------------------------------------------
    def _label(self, px: float, metres: float) -> str | None:
        """The text written under a box: metres (in ``unit``) once there is a scale, else pixels per second."""
        if self.metres_per_px is None and self.to_ground is None:
            return f"{px:.0f} px/s" if np.isfinite(px) else None
        return f"{metres * UNITS[self.p.unit]:.1f} {self.p.unit}" if np.isfinite(metres) else None

    def _draw(self, frame: Frame) -> Frame:
        canvas = to_bgr(frame.image, frame.color_space).copy()
        to_image = np.eye(3) if frame.to_source is None else np.linalg.inv(frame.to_source)

        def on_image(values: list[int]) -> np.ndarray:
            pts = np.array(values, np.float64).reshape(-1, 2)
            return (pts @ to_image[:2, :2].T + to_image[:2, 2]).round().astype(np.int32)

        if self.metres_per_px is not None:
            a, b = on_image(self.p.line)
            cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), SCALE_COLOR, 1, cv2.LINE_AA)
        elif self.to_ground is not None:
            cv2.polylines(canvas, [on_image(self.p.ground)], True, SCALE_COLOR, 1, cv2.LINE_AA)
        dets = frame.detections_to_image(frame.detections)
        px, metres = dets.data[TRACK_SPEED.name], dets.data[SPEED_M.name]
        assert isinstance(px, np.ndarray) and isinstance(metres, np.ndarray)
        scale = max(0.4, min(canvas.shape[:2]) / 1000)
        for i in range(len(dets)):
            text = self._label(float(px[i]), float(metres[i]))
            if text is None:
                continue
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            x1, y2 = int(round(float(dets.xyxy[i, 0]))), int(round(float(dets.xyxy[i, 3])))
            x = int(np.clip(x1, 0, max(0, canvas.shape[1] - tw - 4)))
            y = int(np.clip(y2 + th + base + 2, th + base + 2, canvas.shape[0] - 1))
            band = canvas[max(0, y - th - base - 2) : y + 1, x : x + tw + 4]
            band[:] = (band.astype(np.float32) * 0.35).astype(np.uint8)
            cv2.putText(canvas, text, (x + 2, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, LABEL_COLOR, 1, cv2.LINE_AA)
        return frame.with_image(canvas, "bgr")
