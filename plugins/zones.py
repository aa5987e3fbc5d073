"""Polygon zones: the tracks inside now, entries and exits with hysteresis, and each track's time in the zone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vidcv.detections import Detections, data_field
from vidcv.frame import Frame
from vidcv.imageops import to_bgr
from vidcv.params import Bool, Choice, Float, Int, Param, Text
from vidcv.plugin import Plugin
from vidcv.status import EventKind, SceneEvent, StageStatus

ZONE_COLOR = (255, 160, 0)
COORD_LIMIT = 16384
#: a track not seen for this long is forgotten (the track stage gave its id up long before)
FORGET_MS = 60_000.0

ZONE = data_field(
    "zone", str, fill="", logged=True, help="the zone stages whose polygon holds the detection's anchor, by name"
)
DWELL = data_field(
    "dwell_s",
    np.float32,
    fill=np.nan,
    logged=True,
    help="seconds the track has been in the zone named last in `zone` (empty where in none)",
)


@dataclass(frozen=True)
class Polygon(Param):
    """Points of a polygon in source pixels, at least three: ``[[x, y], ...]`` or flat ``[x1, y1, x2, y2, ...]``.
    Kept flat (the ``ints`` kind, two spin boxes a row in the window); any even length of six or more."""

    def allowed(self) -> str:
        return f"at least 3 points [x, y] (or 6 or more integers x1, y1, x2, y2, ...) from {self.minimum:g} to {self.maximum:g}"

    def validate(self, value: Any) -> Any:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise self._fail(value)
        flat: list[Any] = []
        for item in value:
            if isinstance(item, Sequence) and not isinstance(item, (str, bytes)):
                if len(item) != 2:
                    raise self._fail(value)
                flat.extend(item)
            else:
                flat.append(item)
        if len(flat) < 6 or len(flat) % 2:
            raise self._fail(value)
        for item in flat:
            if isinstance(item, bool) or not isinstance(item, int):
                raise self._fail(value)
            if not self.minimum <= item <= self.maximum:  # type: ignore[operator]
                raise self._fail(value)
        return [int(v) for v in flat]


def polygon_param(name: str, default: Sequence[int], *, help: str = "") -> Param:
    return Polygon(name, "ints", list(default), help, -COORD_LIMIT, COORD_LIMIT, 1)


@dataclass
class TrackState:
    inside: bool | None  # None: first seen on the edge band, not yet decided
    since_ms: float  # when it entered (inside) or left (outside)
    run_ms: float  # first frame of the current run of observations on one side of the edge
    run_sign: int  # that side: +1 inside, -1 outside, 0 on the edge
    seen_ms: float
    class_name: str
    dwell_told: bool = False  # a dwell event was reported for the current stay


def _name_key(text: str) -> str:
    return text.strip().lower()


class Zone(Plugin):
    """Count the tracks inside a polygon, their entries and exits, and how long each has been inside."""

    name = "zone"
    title = "Zone (polygon: inside, entries, exits, dwell)"
    category = "tracking"
    summary = (
        "One stage a zone, named by 'zone': a polygon in source pixels (at least 3 points [x, y]). A detection is in the zone "
        "when its anchor (the box's bottom centre by default) is. With a track stage before it, per zone and "
        "class: the tracks inside now, entries and exits; a track's state flips only once its anchor is more "
        "than 'hysteresis' pixels inside or outside the edge, so a box standing on the edge never counts twice "
        "(a track first seen inside counts as an entry, one first seen on the edge waits until it leaves the "
        "edge). A track that vanishes (occluded) and comes back with its id keeps its state and its time in the "
        "zone. Without track ids it counts the detections inside only, and its state says so. Counts go to the "
        "stage's status under the zone's name (NAME.inside, NAME.entered, NAME.exited and the same per class: "
        "NAME.inside.CLASS, ...): the stats JSON and the detection log show them. Per detection: 'zone' (the "
        "names of the zones holding it, comma-separated) and 'dwell_s' (seconds since its track entered, from "
        "the frames' timestamps; logged). Events (to --events-dir, webhooks, MQTT, metrics): zone_enter and "
        "zone_exit (with the seconds inside) per track, dwell once a track stays 'dwell_event' seconds, "
        "count_above when the tracks inside rise above 'max_inside', class_appeared ('appear_event') when a class "
        "none of which was inside has one inside (with or without track ids)."
    )
    stateful = True
    params = (
        Text("zone", "zone", help="the zone's name: its counts are NAME.inside, NAME.entered, ..."),
        polygon_param("polygon", (0, 0, 0, 0, 0, 0, 0, 0), help="points [x, y] in source pixels, at least 3"),
        Choice("anchor", "bottom", ("bottom", "center"), help="point of a box that must be inside (bottom: feet)"),
        Text("classes", "", help="count only these classes: ids or names, comma-separated (empty: all)"),
        Int("hysteresis", 5, 0, 1000, help="pixels an anchor must go past the edge before inside/outside flips"),
        Float(
            "dwell_event",
            0.0,
            0.0,
            86400.0,
            step=0.5,
            help="report a 'dwell' event once a track stays this many seconds (0: never)",
        ),
        Bool(
            "appear_event",
            False,
            help="report a 'class_appeared' event when a class none of which was inside has one inside",
        ),
        Int(
            "max_inside",
            0,
            0,
            100000,
            help="report a 'count_above' event when more than this many are inside (0: never)",
        ),
        Bool("draw", True, help="draw the polygon and its counts on the frame"),
    )

    def setup(self) -> None:
        self.tracks: dict[int, TrackState] = {}
        self.entered: dict[str, int] = {}  # per class name
        self.exited: dict[str, int] = {}
        self.inside_now: dict[str, int] = {}
        self.tracked = False  # track ids seen: entries and exits are counted
        self.events: list[SceneEvent] = []  # what happened on the frame just processed
        self.above = False  # the inside count is above max_inside
        self.poly = np.array(self.p.polygon, np.float32).reshape(-1, 2)
        self.wanted = [_name_key(c) for c in self.p.classes.split(",") if c.strip()]

    def on_params_changed(self, changed: set[str]) -> None:
        if changed <= {"draw"}:
            return
        self.setup()

    def reset(self) -> None:
        self.setup()

    def region_params(self, x: int, y: int, width: int, height: int) -> dict[str, list[int]]:
        return {"polygon": [x, y, x + width, y, x + width, y + height, x, y + height]}

    # --- what it reports ----------------------------------------------------------------------------------------
    def zone_counts(self) -> dict[str, Any]:
        """The counts of this zone, nested: ``{"inside": N, "entered": N, "exited": N, "inside_by_class": {...},
        ...}`` (entries and exits only once track ids were seen)."""
        out: dict[str, Any] = {"inside": sum(self.inside_now.values())}
        by_class = {"inside": self.inside_now}
        if self.tracked:
            out["entered"], out["exited"] = sum(self.entered.values()), sum(self.exited.values())
            by_class.update(entered=self.entered, exited=self.exited)
        for what, counts in by_class.items():
            out[f"{what}_by_class"] = {k: v for k, v in sorted(counts.items()) if v}
        return out

    def status(self) -> StageStatus:
        """The zone's counts nested under its name (``{"door": {"inside": 2, "entered": 5, ...}}``)."""
        return StageStatus(
            counts={self.p.zone: self.zone_counts()},
            state="" if self.tracked else "no track ids: inside only",
            events=tuple(self.events),
        )

    def _event(
        self, kind: EventKind, st: TrackState | None = None, track_id: int = -1, value: float | None = None
    ) -> None:
        self.events.append(
            SceneEvent(
                kind,
                self._frame_index,
                self._now,
                zone=self.p.zone,
                class_name=st.class_name if st else "",
                track_id=track_id,
                value=value,
            )
        )

    # --- processing ---------------------------------------------------------------------------------------------
    def _anchors(self, xyxy: np.ndarray) -> np.ndarray:
        x = (xyxy[:, 0] + xyxy[:, 2]) / 2
        y = xyxy[:, 3] if self.p.anchor == "bottom" else (xyxy[:, 1] + xyxy[:, 3]) / 2
        return np.stack([x, y], axis=1)

    def _selected(self, dets: Detections) -> np.ndarray:
        if not self.wanted:
            return np.ones(len(dets), bool)
        keys = [(str(int(c)), _name_key(dets.class_name(int(c)))) for c in dets.class_id]
        return np.array([cid in self.wanted or name in self.wanted for cid, name in keys], bool)

    def _distances(self, points: np.ndarray) -> np.ndarray:
        """Signed distance of each point to the polygon's edge: positive inside, negative outside."""
        if len(points) == 0 or cv2.contourArea(self.poly) <= 0:
            return np.full(len(points), -np.inf)
        return np.array([cv2.pointPolygonTest(self.poly, (float(x), float(y)), True) for x, y in points])

    def process(self, frame: Frame) -> Frame:
        dets = frame.detections
        now = float(frame.pts_ms)
        self.events, self._frame_index, self._now = [], frame.index, now
        picked = self._selected(dets)
        dist = self._distances(self._anchors(dets.xyxy))
        ids = dets.tracker_id
        # a track stage's output has track ids, even when it holds no detection
        self.tracked = self.tracked or (ids is not None and (len(ids) == 0 or bool(np.any(ids >= 0))))
        inside = np.zeros(len(dets), bool)
        dwell = np.full(len(dets), np.nan, np.float32)
        h = float(self.p.hysteresis)
        for i in np.flatnonzero(picked):
            cls = dets.class_name(int(dets.class_id[i]))
            if ids is None or ids[i] < 0:
                inside[i] = dist[i] >= 0  # untracked: where the anchor is now
                continue
            side = 1 if dist[i] > h else -1 if dist[i] < -h else 0
            sign = 1 if dist[i] > 0 else -1
            tid = int(ids[i])
            st = self.tracks.get(tid)
            if st is None:
                st = self.tracks[tid] = TrackState(None, now, now, sign, now, cls)
                if side:
                    self._flip(st, tid, side > 0, now, first=True)
            else:
                if sign != st.run_sign:
                    st.run_ms, st.run_sign = now, sign
                st.seen_ms, st.class_name = now, cls
                if side and st.inside is not (side > 0):
                    self._flip(st, tid, side > 0, st.run_ms)
            inside[i] = bool(st.inside)
            if st.inside:
                dwell[i] = (now - st.since_ms) / 1000.0
                if self.p.dwell_event > 0 and not st.dwell_told and dwell[i] >= self.p.dwell_event:
                    st.dwell_told = True
                    self._event(EventKind.DWELL, st, tid, float(dwell[i]))
        before = self.inside_now
        self.inside_now = {}
        for i in np.flatnonzero(inside):
            cls = dets.class_name(int(dets.class_id[i]))
            self.inside_now[cls] = self.inside_now.get(cls, 0) + 1
        if self.p.appear_event:
            for cls, n in self.inside_now.items():
                if not before.get(cls):
                    self.events.append(
                        SceneEvent(
                            EventKind.CLASS_APPEARED, frame.index, now, zone=self.p.zone, class_name=cls, value=n
                        )
                    )
        total = sum(self.inside_now.values())
        if self.p.max_inside > 0 and total > self.p.max_inside and not self.above:
            self._event(EventKind.COUNT_ABOVE, value=float(total))
        self.above = self.p.max_inside > 0 and total > self.p.max_inside
        self.tracks = {k: v for k, v in self.tracks.items() if now - v.seen_ms <= FORGET_MS}
        frame = frame.with_detections(self._mark(dets, inside, dwell))
        return self._draw(frame) if self.p.draw else frame

    def _flip(self, st: TrackState, track_id: int, inside: bool, at_ms: float, first: bool = False) -> None:
        """The track is now inside (or outside) since ``at_ms``: the first frame of its run on that side."""
        if inside:
            self.entered[st.class_name] = self.entered.get(st.class_name, 0) + 1
            self._event(EventKind.ZONE_ENTER, st, track_id)
            st.dwell_told = False
        elif st.inside:  # a track first seen outside, or on the edge and then outside, never left
            self.exited[st.class_name] = self.exited.get(st.class_name, 0) + 1
            self._event(EventKind.ZONE_EXIT, st, track_id, max(0.0, (at_ms - st.since_ms) / 1000.0))
        st.inside, st.since_ms = inside, (st.seen_ms if first else at_ms)

    def _mark(self, dets: Detections, inside: np.ndarray, dwell: np.ndarray) -> Detections:
        if len(dets) == 0:
            return dets
        before = dets.data.get(ZONE.name)
        names = np.asarray(before, dtype=object) if isinstance(before, np.ndarray) else np.full(len(dets), "", object)
        names = np.array([(f"{n},{self.p.zone}" if n else self.p.zone) if i else n for n, i in zip(names, inside)])
        old = dets.data.get(DWELL.name)
        kept = np.asarray(old, np.float32) if isinstance(old, np.ndarray) else np.full(len(dets), np.nan, np.float32)
        return dets.with_data(**{ZONE.name: names.astype(str), DWELL.name: np.where(inside, dwell, kept)})

    # --- drawing ------------------------------------------------------------------------------------------------
    def _draw(self, frame: Frame) -> Frame:
        if cv2.contourArea(self.poly) <= 0:
            return frame
        canvas = to_bgr(frame.image, frame.color_space).copy()
        to_image = np.eye(3) if frame.to_source is None else np.linalg.inv(frame.to_source)
        pts = (self.poly.astype(np.float64) @ to_image[:2, :2].T + to_image[:2, 2]).round().astype(np.int32)
        cv2.polylines(canvas, [pts], True, ZONE_COLOR, 2)
        c = self.zone_counts()
        text = f"{self.p.zone}: inside {c['inside']}"
        if self.tracked:
            text += f"  in {c['entered']}  out {c['exited']}"
        # written at the polygon's top-left corner, on a dark band, so that several zones keep their own label
        scale, thickness = max(0.45, min(canvas.shape[:2]) / 900), 1
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        x = int(np.clip(pts[:, 0].min(), 0, max(0, canvas.shape[1] - tw - 6)))
        y = int(np.clip(pts[:, 1].min() - 4, th + base + 4, canvas.shape[0] - 1))
        region = canvas[max(0, y - th - base - 4) : y + 2, x : x + tw + 6]
        region[:] = (region.astype(np.float32) * 0.35 + 20 * 0.65).astype(np.uint8)
        cv2.putText(
            canvas, text, (x + 3, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, ZONE_COLOR, thickness, cv2.LINE_AA
        )
        return frame.with_image(canvas, "bgr")
