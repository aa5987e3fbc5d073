"""Frame: the image being processed, the untouched source image, and what was found on it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import cv2
import numpy as np

from vidcv.detections import FIELDS, Classification, Detections
from vidcv.status import StageStatus


def next_color_space(image: np.ndarray, current: str, requested: str | None = None) -> str:
    """The colour space of a stage's output ``image``: gray when 2-D; else ``requested``, or the current
    space when it was colour, or BGR after a gray image."""
    if image.ndim == 2:
        return "gray"
    return requested or (current if current != "gray" else "bgr")


@dataclass
class Frame:
    """One frame travelling through the pipeline.

    ``image`` is what the stages transform (uint8, HxW or HxWx3); ``source_image`` is the frame as the
    source delivered it (uint8 BGR) and is never modified, so that overlays and datasets use the
    original pixels. ``color_space`` names the space of a 3-channel ``image`` (``bgr`` out of every
    source); a 2-D image is always ``gray``. ``pts_ms`` is the presentation time, ``captured_at`` the
    ``time.monotonic()`` of capture (frame age for live sources). ``stage_images`` holds the output of
    each stage run so far on this frame, by stage index (a disabled stage passes its input on), so that a
    later stage can combine with an earlier one (a mask, say). ``to_source`` is the 3x3 matrix that maps
    pixel coordinates of ``image`` to those of ``source_image`` (None: the same), kept up to date by the
    geometry plugins, so that detectors report boxes in source pixels wherever they sit in the pipeline.
    ``statuses`` holds what each stage reported on this frame (``Plugin.status``), by stage display name;
    ``path`` is the image file the frame was read from (image folders), else None; ``classification`` what
    a classifier stage found for the whole frame (top classes, best first), else None.
    """

    image: np.ndarray
    index: int
    pts_ms: float
    #: left out (None): the same array as ``image``, set by __post_init__, so that a frame always has one
    source_image: np.ndarray = field(default=cast(np.ndarray, None))
    detections: Detections = field(default_factory=Detections.empty)
    color_space: str = "bgr"
    captured_at: float = field(default_factory=time.monotonic)
    stage_images: list[np.ndarray] = field(default_factory=list)
    to_source: np.ndarray | None = None
    statuses: dict[str, StageStatus] = field(default_factory=dict)
    path: str | None = None
    classification: Classification | None = None

    def __post_init__(self) -> None:
        if self.source_image is None:
            self.source_image = self.image
        if self.image.ndim == 2:
            self.color_space = "gray"

    @property
    def size_wh(self) -> tuple[int, int]:
        """Width and height of the current image."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    def with_image(self, image: np.ndarray, color_space: str | None = None) -> Frame:
        """A new frame with ``image`` as the processed image and everything else of this one (index, source
        image, detections, geometry, stage images and statuses are shared, not copied); this frame is left
        as it was. A 2-D image is gray; a colour image keeps the current space unless told, and one that
        follows a gray image is BGR."""
        return self._with(image=image, color_space=next_color_space(image, self.color_space, color_space))

    def _with(self, **changes: object) -> Frame:
        """A shallow copy of this frame with ``changes``: what ``dataclasses.replace`` gives (every field
        shared, ``source_image`` already set, a gray image's ``color_space`` given by ``next_color_space``),
        without its call of ``__init__``, on every stage of every frame."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def with_detections(self, detections: Detections) -> Frame:
        """A new frame whose detections are ``detections`` (in source pixels) instead of this one's, and
        everything else of this one, shared as ``with_image`` shares it (a tracker's output replaces what it
        was given); this frame is left as it was."""
        return self._with(detections=detections)

    def with_detections_added(self, found: Detections) -> Frame:
        """A new frame whose detections are this one's followed by ``found`` (in source pixels: map what was
        found on ``image`` with ``detections_to_source`` first), and everything else of this one, shared as
        ``with_image`` shares it; this frame is left as it was."""
        return self._with(detections=Detections.merge([self.detections, found]))

    def with_classification(self, classification: Classification | None) -> Frame:
        """A new frame with ``classification`` as what was found for the whole frame, and everything else of
        this one, shared as ``with_image`` shares it; this frame is left as it was."""
        return self._with(classification=classification)

    # --- bookkeeping of the runner and the pipeline, in place (no new frame per stage) ------------------
    def stamp_capture(self, at: float) -> None:
        """Count this frame's age from ``at`` (a ``time.monotonic()``) instead of its capture: a file played
        in real time releases each frame at its presentation time, and that is when it was "captured"."""
        self.captured_at = at

    def begin_stages(self) -> None:
        """A pipeline run starts on this frame: no stage output recorded yet (a new list, so that frames
        made from this one before keep the stage images they had)."""
        self.stage_images = []

    def keep_stage_image(self) -> None:
        """Record ``image`` as the output of the stage just run on this frame (one that was disabled or failed
        passes its input on: the frame it was given records its own image)."""
        self.stage_images.append(self.image)

    def carry_stages_from(self, given: Frame) -> None:
        """This frame is a stage's output for ``given``: take on ``given``'s stage images (a stage may return
        a frame made afresh, without them) and record ``image`` as this stage's output. ``given`` may be this
        frame itself, when the stage returned what it was given."""
        self.stage_images = given.stage_images
        self.keep_stage_image()

    def record_status(self, stage_name: str, status: StageStatus) -> None:
        """Record what the stage ``stage_name`` reported on this frame in ``statuses``, under that name; the
        dict is replaced, not changed, as frames made from this one (``with_image``...) share it."""
        self.statuses = {**self.statuses, stage_name: status}

    def apply_geometry(self, forward: np.ndarray) -> None:
        """Record a geometric change of ``image``: ``forward`` (2x3 or 3x3) maps old pixels to new ones."""
        f = np.vstack([forward, [0.0, 0.0, 1.0]]) if forward.shape == (2, 3) else np.asarray(forward, np.float64)
        back = np.linalg.inv(f)
        self.to_source = back if self.to_source is None else self.to_source @ back

    def detections_to_source(self, found: Detections) -> Detections:
        """Detections found on ``image`` mapped to source pixels (boxes, masks and polygons)."""
        h, w = self.source_image.shape[:2]
        return map_detections(found, self.to_source, (w, h))

    def detections_to_image(self, dets: Detections) -> Detections:
        """Detections in source pixels mapped onto ``image`` (to draw them on the processed frame)."""
        m = None if self.to_source is None else np.linalg.inv(self.to_source)
        return map_detections(dets, m, self.size_wh)


class PendingFrame:
    """A frame read whose image is not made yet: the decoded picture still to convert (``Source.read_deferred``),
    so that the conversion runs in the thread that processes the frame rather than in the one that reads the
    next. ``frame()`` makes the ``Frame``, once; until then the frame's number, presentation time and capture
    time are known, as the source thread needs them."""

    __slots__ = ("_make", "captured_at", "index", "pts_ms")

    def __init__(self, make: Callable[[], np.ndarray], index: int, pts_ms: float) -> None:
        self._make = make
        self.index = index
        self.pts_ms = pts_ms
        self.captured_at = time.monotonic()

    def stamp_capture(self, at: float) -> None:
        """As ``Frame.stamp_capture``."""
        self.captured_at = at

    def frame(self) -> Frame:
        """The frame, its image made now (by this thread)."""
        return Frame(self._make(), self.index, self.pts_ms, captured_at=self.captured_at)


def map_detections(dets: Detections, m: np.ndarray | None, size_wh: tuple[int, int]) -> Detections:
    """Detections through the 3x3 matrix ``m`` into an image of ``size_wh`` (boxes become the bounding box of
    their mapped corners, clipped; masks are warped; polygons and point fields such as trails mapped)."""
    if m is None or len(dets) == 0 or np.allclose(m, np.eye(3)):
        return dets
    w, h = size_wh
    x1, y1, x2, y2 = dets.xyxy.T.astype(np.float64)
    corners = np.stack([np.stack([x1, y1]), np.stack([x2, y1]), np.stack([x2, y2]), np.stack([x1, y2])])
    pts = np.einsum("ij,kjn->kin", m[:2, :2], corners) + m[:2, 2:3][None]
    xyxy = np.stack([pts[:, 0].min(0), pts[:, 1].min(0), pts[:, 0].max(0), pts[:, 1].max(0)], axis=1)
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
    masks = None
    if dets.masks is not None:
        masks = np.stack(
            [cv2.warpAffine(mk.astype(np.uint8), m[:2], (w, h), flags=cv2.INTER_NEAREST) > 0 for mk in dets.masks]
        )
    polygons = None
    if dets.polygons is not None:
        polygons = [_map_points(p, m) for p in dets.polygons]
    data = {}
    for key, value in dets.data.items():
        spec = FIELDS[key]
        if spec.points:
            value = [_map_points(v, m) for v in value] if isinstance(value, list) else _map_points(value, m)
        elif spec.xywhr:
            value = map_xywhr(cast(np.ndarray, value), m)  # a rotated-box field is never ragged
        data[key] = value
    return Detections(xyxy, dets.confidence, dets.class_id, dets.names, dets.tracker_id, masks, polygons, data)


def map_xywhr(boxes: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Rotated boxes ``cx, cy, w, h, angle`` through the 3x3 matrix ``m``: the centre is mapped, and each
    side's vector through the linear part gives the new width, height and angle (exact for rotations,
    flips, uniform scales and shifts; the nearest rotated box for a stretch)."""
    out = np.array(boxes, dtype=np.float32, copy=True).reshape(-1, 5)
    if not len(out):
        return out
    a = m[:2, :2]
    cos, sin = np.cos(out[:, 4]), np.sin(out[:, 4])
    along_w = (a @ np.stack([cos * out[:, 2], sin * out[:, 2]])).T
    along_h = (a @ np.stack([-sin * out[:, 3], cos * out[:, 3]])).T
    out[:, :2] = out[:, :2] @ a.T + m[:2, 2]
    out[:, 2] = np.hypot(along_w[:, 0], along_w[:, 1])
    out[:, 3] = np.hypot(along_h[:, 0], along_h[:, 1])
    out[:, 4] = np.arctan2(along_w[:, 1], along_w[:, 0])
    return out


def xywhr_corners(boxes: np.ndarray) -> np.ndarray:
    """The four corners (N, 4, 2) of rotated boxes ``cx, cy, w, h, angle``, as ultralytics' xywhr2xyxyxyxy."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 5)
    cos, sin = np.cos(boxes[:, 4]), np.sin(boxes[:, 4])
    half_w = np.stack([cos, sin], 1) * boxes[:, 2:3] / 2
    half_h = np.stack([-sin, cos], 1) * boxes[:, 3:4] / 2
    c = boxes[:, :2]
    return np.stack([c + half_w + half_h, c + half_w - half_h, c - half_w - half_h, c - half_w + half_h], 1)


def aabb_of(xywhr: np.ndarray, source_hw: tuple[int, int]) -> np.ndarray:
    """The axis-aligned bounds (xyxy) of rotated boxes, clipped to the image."""
    corners = xywhr_corners(xywhr)
    h, w = source_hw
    if not len(corners):
        return np.zeros((0, 4), np.float32)
    xyxy = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
    return xyxy.astype(np.float32)


def _map_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Points whose last axis starts with x, y, through the 3x3 matrix ``m`` (other columns kept)."""
    out = np.array(points, dtype=np.float32, copy=True)
    out[..., :2] = points[..., :2] @ m[:2, :2].T + m[:2, 2]
    return out
