"""Box propagation: boxes labelled by hand on one frame, carried forward through the frames after it as
proposals, until each box is lost.

``BoxTracker`` follows boxes over consecutive in-memory frames (a live source); ``propagate`` runs it through
a video file or an image folder from a labelled frame. Each box is followed on its own:

- where: normalised cross-correlation (``cv2.matchTemplate``) of a template of the box with a margin around
  it (its edges), in a window around the place its last motion predicts, at three sizes (``SCALES``). Two
  templates are matched and their responses weighed: the pixels, and the chance of each pixel's colour to be
  the object's rather than its surroundings' (``_chances``), which finds a plain object on a textured
  background whose pattern alone would hold the match in place. The more the box's colours stand out from
  its surroundings on the labelled frame, the more the colours weigh (``COLOUR_WEIGHT``).
- drift: the template matched is half the labelled frame's and half a running blend of confident matches
  since; the surroundings' colours follow the box, the object's stay those labelled.
- plain objects: where the object's own colours (what ``cv2.grabCut`` keeps of the labelled box, its
  corners that are background left out) make a plain region of about the box's bounds, that region, found
  again around each match, holds the match's box within a pixel or two of its bounds
  (``BoxTracker._by_colour``). The template alone drifts off such an object when the background behind it
  moves otherwise, as half the box of a triangle or a circle is background; a patterned object (colours more
  or less its own) is left to the template.
- lost: when the confidence (``BoxTracker._confidence``: the box's colours and pattern against the labelled
  box's) falls under ``min_score`` (the object changed, was hidden or left), or less than ``min_visible`` of
  the box is inside the image. A lost box stays lost.

Coordinates are of pixel edges: pixel (0, 0) spans 0..1 on both axes; boxes are x1, y1, x2, y2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from vidcv.dataset.labels import box_iou
from vidcv.errors import SourceError, VidcvError
from vidcv.frame import Frame
from vidcv.sources import parse_source
from vidcv.sources.base import Source
from vidcv.sources.file import FileSource

#: the longest side of a template in pixels: larger boxes are matched in a downscaled image
TEMPLATE_SIDE = 64
#: the margin around a box in its template, as a fraction of its mean side, at least MIN_MARGIN pixels
MARGIN = 0.15
MIN_MARGIN = 3.0
#: how far beyond the predicted place a box is searched: this fraction of its longest side, at least
#: MIN_REACH pixels
REACH = 0.5
MIN_REACH = 8.0
#: the sizes tried on each frame, relative to the last; another size must match better by SCALE_TIE
SCALES = (1 / 1.03, 1.0, 1.03)
SCALE_TIE = 0.005
#: what a match loses at the edge of the search window, against one at the expected place
MOTION_PRIOR = 0.05
#: a box with a side shorter than this many pixels cannot be followed (lost at once)
MIN_SIDE = 4.0
#: the bounds of the colour match's weight against the pixels' (see ``BoxTracker._start``)
COLOUR_WEIGHT = (0.2, 0.8)
#: the ring around a box whose colours are its surroundings', as a fraction of the box's mean side
RING = 0.5
#: a plain object's box told by its colours (``BoxTracker._by_colour``). Its own colours are learnt on the
#: labelled frame from what grabCut, seeded with the box, keeps of it (GRABCUT_ITERATIONS, from GRABCUT_SEED so
#: that the same frame gives the same colours); a pixel is of them when its colour's chance to be the object's
#: (``_chances``) is over OBJECT_CHANCE. They tell the box when, on the labelled frame, they fill MIN_FILL of
#: it or more, the bounds of their regions overlap it by MIN_REGION_IOU, their pixels around it that are not
#: the object's come to at most STRAY of the object's, and the bounds move by at most STEADY of the box's
#: longest side when only colours of chance SURE_CHANCE count (a plain object: its colours are its own or not)
OBJECT_CHANCE = 0.5
GRABCUT_ITERATIONS = 3
GRABCUT_SEED = 12345
MIN_FILL = 0.25
MIN_REGION_IOU = 0.75
STRAY = 0.25
SURE_CHANCE = 0.9
STEADY = 0.12
#: how far around the box its colours are looked for, as a fraction of its sides; boxes longer than
#: REGION_SIDE pixels are looked at downscaled to it
REGION_REACH = 0.5
REGION_SIDE = 128
#: the regions of its colours kept: mostly inside the box grown by EDGE_TOL of its sides, and at least PART
#: of the largest such region's size
EDGE_TOL = 0.25
PART = 0.2
#: the part of the labelled box's edges beyond its colours' bounds taken as noise (the video's coarse colours
#: on that frame), pixels
OFFSET_NOISE = 1.0
#: a side the colours tell is taken whole where it is within SIZE_TOL of the last side found (else the edge
#: nearer the match's, the rest hidden or out of the image); the match's box is kept within BOUND_SLACK of it
#: (pixels, fraction of the side)
SIZE_TOL = 0.12
BOUND_SLACK = (1.0, 0.04)

Boxes = np.ndarray | Iterable[Iterable[float]]


class LabelError(VidcvError, ValueError):
    """Boxes or frames given for labelling that cannot be used."""


@dataclass(frozen=True)
class Step:
    """The boxes on one later frame ``index``. ``boxes``: (n, 4) float xyxy pixels clipped to the image, a
    lost box at its last place; ``alive``: (n,) bool, False from the frame a box is lost on; ``score``: (n,)
    the confidence, 0..1 (a lost box keeps the one it was lost with)."""

    index: int
    boxes: np.ndarray
    alive: np.ndarray
    score: np.ndarray


def as_boxes(boxes: Boxes) -> np.ndarray:
    """``boxes`` as an (n, 4) float64 array of x1 <= x2, y1 <= y2 (drawn from any corner), or LabelError."""
    array = np.asarray(boxes, np.float64)
    if array.size == 0:
        return np.zeros((0, 4), np.float64)
    if array.ndim != 2 or array.shape[1] != 4 or not np.isfinite(array).all():
        raise LabelError(f"boxes must be an (n, 4) array of finite x1, y1, x2, y2; got shape {array.shape}")
    x, y = np.sort(array[:, 0::2], axis=1), np.sort(array[:, 1::2], axis=1)
    return np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], axis=1)


def clip_boxes(boxes: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """``boxes`` (xyxy) clipped to an image of ``size_wh``."""
    w, h = size_wh
    return np.asarray(np.clip(boxes, 0.0, [w, h, w, h]), np.float64)


def visible_fraction(box: np.ndarray, size_wh: tuple[int, int]) -> float:
    """The fraction of ``box``'s area inside an image of ``size_wh`` (0 for an empty box)."""
    area = max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
    c = clip_boxes(box, size_wh)
    inside = max(0.0, c[2] - c[0]) * max(0.0, c[3] - c[1])
    return float(inside / area) if area > 0 else 0.0


def _bins(image: np.ndarray) -> np.ndarray:
    """Each pixel's colour bin: 16 levels a channel for BGR (4096 bins), 32 for gray."""
    pixels = np.asarray(image, np.uint8)
    if pixels.ndim == 2:
        return (pixels >> 3).astype(np.intp)
    q = (pixels >> 4).astype(np.intp)
    return (q[..., 0] << 8) | (q[..., 1] << 4) | q[..., 2]


def _histograms(image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The colour histograms (over ``_bins``, each summing to 1) of ``box`` and of the ring around it."""
    h, w = image.shape[:2]
    ring = RING * float((box[2:] - box[:2]).mean())
    outer = np.clip(np.round(box + [-ring, -ring, ring, ring]), 0, [w, h, w, h]).astype(int)
    inner = np.clip(np.round(box), outer[[0, 1, 0, 1]], outer[[2, 3, 2, 3]]).astype(int) - outer[[0, 1, 0, 1]]
    bins = _bins(image[outer[1] : outer[3], outer[0] : outer[2]])
    inside = np.zeros(bins.shape, bool)
    inside[inner[1] : inner[3], inner[0] : inner[2]] = True
    count = 32 if image.ndim == 2 else 4096
    fg = np.bincount(bins[inside], minlength=count) / max(1, int(inside.sum()))
    bg = np.bincount(bins[~inside], minlength=count) / max(1, int((~inside).sum()))
    return fg, bg


def _chances(fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """The chance, per colour bin, that a pixel of that colour is the object's (histogram ``fg``) rather than
    its surroundings' (``bg``); a colour seen in neither counts as the surroundings'."""
    return np.asarray((fg + 1e-4) / (fg + bg + 2e-3), np.float32)


def _zoomed(image: np.ndarray, region: tuple[int, int, int, int], zoom: float) -> np.ndarray:
    """``region`` (x0, y0, x1, y1) of ``image`` resized by ``zoom`` (area-averaged when shrinking)."""
    x0, y0, x1, y1 = region
    out_wh = (max(1, round((x1 - x0) * zoom)), max(1, round((y1 - y0) * zoom)))
    way = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
    return cv2.resize(image[y0:y1, x0:x1], out_wh, interpolation=way)


def _patch(image: np.ndarray, center: np.ndarray, size_wh: np.ndarray, out_wh: tuple[int, int]) -> np.ndarray:
    """The ``size_wh`` rectangle of ``image`` centred on ``center`` (sub-pixel, borders replicated), resampled
    to ``out_wh`` as ``BoxTracker._match`` resamples what it searches, as float32."""
    zoom = min(out_wh[0] / size_wh[0], out_wh[1] / size_wh[1])
    h, w = image.shape[:2]
    half = size_wh / 2 + 2
    x0, y0 = (max(0, min(n - 1, int(np.floor(center[i] - half[i])))) for i, n in ((0, w), (1, h)))
    x1 = max(x0 + 1, min(w, int(np.ceil(center[0] + half[0]))))
    y1 = max(y0 + 1, min(h, int(np.ceil(center[1] + half[1]))))
    zoomed = _zoomed(image, (x0, y0, x1, y1), zoom)
    # getRectSubPix takes the centre in pixel-centre coordinates
    at = ((center[0] - x0) * zoomed.shape[1] / (x1 - x0) - 0.5, (center[1] - y0) * zoomed.shape[0] / (y1 - y0) - 0.5)
    return cv2.getRectSubPix(zoomed, out_wh, at, patchType=cv2.CV_32F)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    """The normalised cross-correlation of two images of one size (0 where either is flat)."""
    a, b = a.astype(np.float32) - a.mean(), b.astype(np.float32) - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm > 1e-6 * a.size else 0.0


def _subpixel(response: np.ndarray, x: int, y: int) -> tuple[float, float]:
    """The peak of ``response`` at (x, y) refined by a parabola through its neighbours on each axis."""

    def offset(left: float, mid: float, right: float) -> float:
        curve = left - 2 * mid + right
        return 0.0 if curve >= 0 else float(np.clip(0.5 * (left - right) / curve, -0.5, 0.5))

    h, w = response.shape
    dx = offset(response[y, x - 1], response[y, x], response[y, x + 1]) if 0 < x < w - 1 else 0.0
    dy = offset(response[y - 1, x], response[y, x], response[y + 1, x]) if 0 < y < h - 1 else 0.0
    return x + dx, y + dy


@dataclass
class _Track:
    """One box being followed: its last box (unclipped), motion per frame, templates and state."""

    box: np.ndarray
    velocity: np.ndarray
    pad: np.ndarray  #: the template's size over the box's, per axis
    first: np.ndarray  #: the template of the labelled frame (float32)
    running: np.ndarray  #: the blend of the confident matches since
    fg: np.ndarray  #: the colour histogram of the labelled box
    bg: np.ndarray  #: the colour histogram around the box, kept up to date
    colours: np.ndarray  #: the chance of each colour bin to be the object's (``_chances``)
    contrast: float  #: mean chance in the labelled box less that in its ring
    colour_weight: float  #: the weight of the colour match
    #: where its colours tell a plain object's box (``BoxTracker._by_colour``): the labelled box's edges beyond
    #: the bounds of its colours' regions, in sides of those bounds; None where they do not
    region_offset: np.ndarray | None = None
    region_colours: np.ndarray | None = None  #: the chance of each colour bin to be the object's own
    alive: bool = True
    score: float = 1.0

    @property
    def size(self) -> np.ndarray:
        return np.asarray(self.box[2:] - self.box[:2], np.float64)

    @property
    def center(self) -> np.ndarray:
        return np.asarray((self.box[:2] + self.box[2:]) / 2, np.float64)

    @property
    def template_wh(self) -> tuple[int, int]:
        return self.first.shape[1], self.first.shape[0]

    @property
    def template(self) -> np.ndarray:
        """What is matched: half the labelled frame's template, half the running one."""
        return np.asarray(0.5 * (self.first + self.running), np.float32)


class BoxTracker:
    """Follows boxes over consecutive frames: ``init(image, boxes)`` on the labelled frame, then
    ``update(image)`` on each next one. Frames are uint8 BGR (gray works, less surely), all of one size; boxes
    are xyxy pixels. A box is lost for good when its confidence falls under ``min_score`` or less than
    ``min_visible`` of it is inside the image. The running template and the surroundings' colours follow
    matches of confidence ``update_score`` or more, by ``blend`` (0..1) a frame."""

    def __init__(
        self, min_score: float = 0.5, min_visible: float = 0.5, blend: float = 0.15, update_score: float = 0.7
    ) -> None:
        self.min_score = min_score
        self.min_visible = min_visible
        self.blend = blend
        self.update_score = update_score
        self._tracks: list[_Track] = []
        self._size_wh: tuple[int, int] | None = None

    def init(self, image: np.ndarray, boxes: Boxes) -> None:
        """Start following ``boxes`` from ``image``. A box too small to follow (a side under ``MIN_SIDE``
        pixels) or mostly outside the image is lost at once."""
        self._size_wh = _size_of(image)
        self._tracks = [self._start(image, box) for box in as_boxes(boxes)]

    def update(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Follow the boxes into ``image``, the frame after the last one: (boxes, alive, score) as in
        ``Step``."""
        if self._size_wh is None:
            raise LabelError("BoxTracker.update before init: call init(image, boxes) on the labelled frame first")
        if _size_of(image) != self._size_wh:
            raise LabelError(f"frame size {_size_of(image)} differs from the labelled frame's {self._size_wh}")
        for track in self._tracks:
            if track.alive:
                self._follow(image, track)
        return self.state()

    def state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(boxes, alive, score) as they stand, as in ``Step``."""
        boxes = np.array([t.box for t in self._tracks], np.float64).reshape(-1, 4)
        alive = np.array([t.alive for t in self._tracks], bool)
        score = np.array([t.score for t in self._tracks], np.float64)
        return clip_boxes(boxes, self._size_wh or (0, 0)), alive, score

    def _start(self, image: np.ndarray, box: np.ndarray) -> _Track:
        assert self._size_wh is not None
        size = box[2:] - box[:2]
        if size.min() < MIN_SIDE or visible_fraction(box, self._size_wh) < self.min_visible:
            nothing = np.zeros((1, 1), np.float32)
            lost = _Track(box.copy(), np.zeros(2), np.ones(2), nothing, nothing, nothing, nothing, nothing, 0.0, 0.0)
            lost.alive, lost.score = False, 0.0
            return lost
        padded = size + 2 * max(MIN_MARGIN, MARGIN * float(size.mean()))
        zoom = min(1.0, TEMPLATE_SIDE / float(padded.max()))
        wh = (max(3, round(float(padded[0]) * zoom)), max(3, round(float(padded[1]) * zoom)))
        template = _patch(image, (box[:2] + box[2:]) / 2, padded, wh)
        fg, bg = _histograms(image, box)
        colours = _chances(fg, bg)
        # the more the box's colours stand out from its surroundings', the more they weigh
        contrast = float(colours @ fg - colours @ bg)
        weight = float(np.clip(contrast, *COLOUR_WEIGHT))
        track = _Track(
            box.copy(), np.zeros(2), padded / size, template, template.copy(), fg, bg, colours, contrast, weight
        )
        track.region_colours = _own_colours(image, box)
        if track.region_colours is None:
            return track
        found = _colour_region(image, box, track.region_colours)
        if found is not None and not found.touches.any():
            bounds = found.bounds
            side = bounds[2:] - bounds[:2]
            if (
                found.fill >= MIN_FILL
                and found.stray <= STRAY
                and box_iou(bounds, box) >= MIN_REGION_IOU
                and _plain(image, box, track.region_colours, bounds)
            ):
                # a pixel or so of the box beyond its colours is the video's coarse colours on that frame
                beyond = box - bounds
                beyond = np.sign(beyond) * np.maximum(0.0, np.abs(beyond) - OFFSET_NOISE)
                track.region_offset = beyond / np.tile(side, 2)
        return track

    def _follow(self, image: np.ndarray, track: _Track) -> None:
        """Move ``track`` to its best match in ``image``, or lose it."""
        assert self._size_wh is not None
        found = self._match(image, track)
        if found is None:  # (mostly) outside the image
            track.alive, track.score = False, 0.0
            return
        center, size, pattern = found
        box = np.concatenate([center - size / 2, center + size / 2])
        if track.region_offset is not None:
            box = self._by_colour(image, track, box)
            center, size = (box[:2] + box[2:]) / 2, box[2:] - box[:2]
        patch = _patch(image, center, size * track.pad, track.template_wh)
        fg, bg = _histograms(image, box)
        score = self._confidence(track, patch, fg, bg, pattern)
        if score < self.min_score or visible_fraction(box, self._size_wh) < self.min_visible:
            track.alive, track.score = False, score
            return
        track.velocity = center - track.center
        track.box, track.score = box, score
        if score >= self.update_score and visible_fraction(box, self._size_wh) >= 1.0:
            track.running = (1 - self.blend) * track.running + self.blend * patch
            track.bg = (1 - self.blend) * track.bg + self.blend * bg
            track.colours = _chances(track.fg, track.bg)

    @staticmethod
    def _by_colour(image: np.ndarray, track: _Track, box: np.ndarray) -> np.ndarray:
        """``box`` (the match's) held near the bounds of the object's colours' regions around it (``_colour_region``,
        moved by ``region_offset``), axis by axis. The side those bounds tell: theirs where it is about as long
        as the last side found (the match's size drifts with the background) and both edges are near the
        match's; else the edge of theirs nearer the match's, the last side long (the rest hidden or out of the
        image); else none, and the match's stands. The match, finer (the bounds are whole pixels, a video's
        colours coarser still, 4:2:0), is kept where it is within ``BOUND_SLACK`` of that side."""
        assert track.region_offset is not None and track.region_colours is not None
        found = _colour_region(image, box, track.region_colours)
        if found is None:
            return box
        side = found.bounds[2:] - found.bounds[:2]
        told = found.bounds + track.region_offset * np.tile(side, 2)
        out = box.copy()
        for lo, hi in ((0, 2), (1, 3)):
            last = track.box[hi] - track.box[lo]
            middle = (box[lo] + box[hi]) / 2
            start, end = middle - last / 2, middle + last / 2  # the match, the last side long
            off = (abs(told[lo] - start), abs(told[hi] - end))
            near = (
                not found.touches[lo] and off[0] <= EDGE_TOL * last,
                not found.touches[hi] and off[1] <= EDGE_TOL * last,
            )
            if all(near) and abs((told[hi] - told[lo]) - last) <= max(1.5, SIZE_TOL * last):
                edges = told[lo], told[hi]
            elif near[0] and (not near[1] or off[0] <= off[1]):
                edges = told[lo], told[lo] + last
            elif near[1]:
                edges = told[hi] - last, told[hi]
            else:
                continue
            told_side, told_middle = edges[1] - edges[0], (edges[0] + edges[1]) / 2
            slack = max(BOUND_SLACK[0], BOUND_SLACK[1] * told_side)
            side = float(np.clip(box[hi] - box[lo], told_side - slack, told_side + slack))
            middle = float(np.clip((box[lo] + box[hi]) / 2, told_middle - slack, told_middle + slack))
            out[lo], out[hi] = middle - side / 2, middle + side / 2
        return out

    @staticmethod
    def _confidence(track: _Track, patch: np.ndarray, fg: np.ndarray, bg: np.ndarray, pattern: float) -> float:
        """How surely the box found (its template-sized ``patch``, the colour histograms ``fg`` of it and
        ``bg`` of its ring) is the object: its colours (how much more it holds the object's colours than its
        ring does, against the labelled box) and its pattern (the better of the match with the margin,
        ``pattern``, and of the box's own pixels against the template's), weighed as in the match."""
        colour = (track.colours @ fg - track.colours @ bg) / track.contrast if track.contrast > 0.05 else 0.0
        tw, th = track.template_wh
        inner_wh = (max(2, round(tw / track.pad[0])), max(2, round(th / track.pad[1])))
        middle = ((tw - 1) / 2, (th - 1) / 2)
        inner = _ncc(cv2.getRectSubPix(patch, inner_wh, middle), cv2.getRectSubPix(track.template, inner_wh, middle))
        w = track.colour_weight
        return float(w * np.clip(colour, 0, 1) + (1 - w) * np.clip(max(pattern, inner), 0, 1))

    def _match(self, image: np.ndarray, track: _Track) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The best (centre, size, pattern score) over ``SCALES``, searched around the predicted centre; None
        when too little of the box would be inside the image."""
        tw, th = track.template_wh
        padded = track.size * track.pad  # the template's size in image pixels
        zoom = min(tw / padded[0], th / padded[1])  # template pixels per image pixel
        predicted = track.center + track.velocity
        region = self._region(predicted, max(MIN_REACH, REACH * float(track.size.max())) + padded * max(SCALES) / 2)
        if region is None:
            return None
        x0, y0, x1, y1 = region
        search = _zoomed(image, region, zoom)
        sh, sw = search.shape[:2]
        chance = track.colours[_bins(search)]
        template = track.template
        template_chance = track.colours[_bins(np.round(template).astype(np.uint8))]
        at = np.array([(predicted[0] - x0) * sw / (x1 - x0), (predicted[1] - y0) * sh / (y1 - y0)])
        inside = max(0.1, self.min_visible)  # the least part of the template to match
        best: tuple[np.ndarray, np.ndarray, float] | None = None
        best_score = -np.inf
        for s in SCALES:
            found = _match_scaled(
                (search.astype(np.float32), chance), (template, template_chance), s, at, track.colour_weight, inside
            )
            if found is None:
                continue
            (cx, cy), score, pattern = found
            score -= SCALE_TIE if s != 1.0 else 0.0
            if score > best_score:
                center = np.array([x0 + cx * (x1 - x0) / sw, y0 + cy * (y1 - y0) / sh])
                best, best_score = (center, track.size * s, pattern), score
        return best

    def _region(self, center: np.ndarray, reach: np.ndarray) -> tuple[int, int, int, int] | None:
        """The search rectangle (x0, y0, x1, y1) around ``center``, clipped to the image; None when empty."""
        assert self._size_wh is not None
        w, h = self._size_wh
        x0, y0 = max(0, int(np.floor(center[0] - reach[0]))), max(0, int(np.floor(center[1] - reach[1])))
        x1, y1 = min(w, int(np.ceil(center[0] + reach[0]))), min(h, int(np.ceil(center[1] + reach[1])))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        return x0, y0, x1, y1


@dataclass(frozen=True)
class _Window:
    """The place around a box where its object's colours are looked for: ``rect`` (x0, y0, x1, y1 image
    pixels), its ``image`` (downscaled where the box is large), ``scale`` (its pixels per image pixel, x and y)
    and the box in its pixels (``box``, x0, y0, x1, y1 rounded)."""

    rect: tuple[int, int, int, int]
    image: np.ndarray
    scale: np.ndarray
    box: tuple[int, int, int, int]

    def to_image(self, edges: np.ndarray) -> np.ndarray:
        """xyxy window pixels to image pixels."""
        x0, y0 = self.rect[:2]
        return np.asarray(edges / np.tile(self.scale, 2) + [x0, y0, x0, y0], np.float64)


def _window(image: np.ndarray, box: np.ndarray) -> _Window | None:
    """The box and ``REGION_REACH`` of its sides around it, clipped to the image; None when empty."""
    h, w = image.shape[:2]
    size = box[2:] - box[:2]
    x0, y0, x1, y1 = (
        int(v) for v in np.clip(np.round(box + np.tile(size, 2) * REGION_REACH * [-1, -1, 1, 1]), 0, [w, h, w, h])
    )
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    zoom = min(1.0, REGION_SIDE / float(size.max()))
    pixels = _zoomed(image, (x0, y0, x1, y1), zoom) if zoom < 1 else image[y0:y1, x0:x1]
    scale = np.array([pixels.shape[1] / (x1 - x0), pixels.shape[0] / (y1 - y0)])
    inner = np.round((box - [x0, y0, x0, y0]) * np.tile(scale, 2))
    bx0, by0, bx1, by1 = (int(v) for v in np.clip(inner, 0, np.tile([pixels.shape[1], pixels.shape[0]], 2)))
    return _Window((x0, y0, x1, y1), pixels, scale, (bx0, by0, bx1, by1))


def _own_colours(image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """The chance of each colour bin (``_bins``) to be the object's in the labelled ``box``: the colours of
    what ``cv2.grabCut`` seeded with the box (what is outside is background) keeps of it, against the colours
    of all else around it, the box's corners that are background included; None when it keeps nothing."""
    window = _window(image, box)
    if window is None:
        return None
    bx0, by0, bx1, by1 = window.box
    hh, wh = window.image.shape[:2]
    if bx1 - bx0 < MIN_SIDE or by1 - by0 < MIN_SIDE or (bx1 - bx0) * (by1 - by0) >= 0.9 * wh * hh:
        return None
    bgr = window.image if window.image.ndim == 3 else cv2.cvtColor(window.image, cv2.COLOR_GRAY2BGR)
    mask = np.zeros((hh, wh), np.uint8)
    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    cv2.setRNGSeed(GRABCUT_SEED)  # its models start from k-means: the same colours for the same frame
    try:
        cv2.grabCut(bgr, mask, (bx0, by0, bx1 - bx0, by1 - by0), *models, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_RECT)
    except cv2.error:  # a model it cannot fit (a plain box): nothing of its own
        return None
    own = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    if not own.any():
        return None
    bins = _bins(window.image)
    count = 32 if image.ndim == 2 else 4096
    fg = np.bincount(bins[own], minlength=count) / int(own.sum())
    bg = np.bincount(bins[~own], minlength=count) / max(1, int((~own).sum()))
    return _chances(fg, bg)


def _plain(image: np.ndarray, box: np.ndarray, colours: np.ndarray, bounds: np.ndarray) -> bool:
    """Whether the region of ``colours`` around ``box`` has about the ``bounds`` found with the usual chance
    when only colours of chance ``SURE_CHANCE`` count: so for a plain object, whose colours are its own or not,
    not for a pattern, whose colours are more or less its own."""
    found = _colour_region(image, box, colours, SURE_CHANCE)
    return found is not None and np.abs(found.bounds - bounds).max() <= STEADY * float((box[2:] - box[:2]).max())


@dataclass(frozen=True)
class _Region:
    """The object's colours around a box (``_colour_region``): the ``bounds`` (xyxy image pixels) of their
    regions that lie mostly in the box; whether each of those edges (x1, y1, x2, y2) ``touches`` the border of
    where they were looked for (the object may go on beyond it); the ``fill`` of the box by those regions and
    the ``stray`` pixels of the object's colours in the rest of the place looked at, over the regions'."""

    bounds: np.ndarray
    touches: np.ndarray
    fill: float
    stray: float


def _colour_region(
    image: np.ndarray, box: np.ndarray, colours: np.ndarray, chance: float = OBJECT_CHANCE
) -> _Region | None:
    """The regions of the object's colours (chance over ``chance`` in ``colours``) around ``box`` (in its
    ``_window``): the connected regions, bared of threads and specks thinner than 3 pixels, with at least half
    their pixels inside the box grown by ``EDGE_TOL`` and at least ``PART`` of the largest such one's size,
    their thin parts (a triangle's tips) given back; None when there are none."""
    window = _window(image, box)
    if window is None:
        return None
    raw = (colours[_bins(window.image)] > chance).astype(np.uint8)
    hh, wh = raw.shape
    size = box[2:] - box[:2]
    opened = min(size * window.scale) >= 12
    mask = cv2.morphologyEx(raw, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) if opened else raw
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count < 2:
        return None
    grown = box + np.tile(size, 2) * EDGE_TOL * [-1, -1, 1, 1] - np.tile(window.rect[:2], 2)
    gx0, gy0, gx1, gy1 = (int(v) for v in np.clip(np.round(grown * np.tile(window.scale, 2)), 0, [wh, hh, wh, hh]))
    inside = np.bincount(labels[gy0:gy1, gx0:gx1].ravel(), minlength=count)
    areas = stats[:, cv2.CC_STAT_AREA]
    kept = np.flatnonzero(inside[1:] * 2 >= areas[1:]) + 1
    if kept.size == 0:
        return None
    kept = kept[areas[kept] >= PART * areas[kept].max()]  # specks of background of like colours left out
    member = np.zeros(count, np.uint8)
    member[kept] = 1
    region = member[labels]
    if opened:  # the thin parts the opening took off the regions kept (a triangle's tips) back
        region = cv2.dilate(region, np.ones((5, 5), np.uint8)) & raw
    xs, ys = np.flatnonzero(region.any(axis=0)), np.flatnonzero(region.any(axis=1))
    edges = np.array([xs[0], ys[0], xs[-1] + 1, ys[-1] + 1], np.float64)
    touches = np.array([edges[0] <= 0, edges[1] <= 0, edges[2] >= wh, edges[3] >= hh])
    area = float(areas[kept].sum())
    fill = area / float(np.prod(window.scale)) / max(1e-9, float(np.prod(size)))
    stray = float(areas[1:].sum() - area) / area
    return _Region(window.to_image(edges), touches, fill, stray)


def _size_of(image: np.ndarray) -> tuple[int, int]:
    """The (width, height) of a frame fit for tracking, or LabelError."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise LabelError(f"frames must be uint8 BGR or gray images; got {image.dtype} of shape {image.shape}")
    return image.shape[1], image.shape[0]


def _match_scaled(
    search: tuple[np.ndarray, np.ndarray],
    template: tuple[np.ndarray, np.ndarray],
    scale: float,
    at: np.ndarray,
    colour_weight: float,
    inside: float,
) -> tuple[np.ndarray, float, float] | None:
    """Match ``template`` (pixels, colour chances) resized by ``scale`` in ``search`` (the same two), where it
    is expected centred on ``at`` (search pixels): (the centre found, its score, the pixels' match there),
    the two matches weighed by ``colour_weight``. Only the part of the template inside ``search`` at the
    expected place is matched (a box leaving the image); None when that is under ``inside`` of it."""
    th, tw = template[0].shape[:2]
    sh, sw = search[0].shape[:2]
    tsw, tsh = max(3, round(tw * scale)), max(3, round(th * scale))
    left, top = at[0] - tsw / 2, at[1] - tsh / 2
    a, b = max(0, int(np.ceil(-left))), min(tsw, int(np.floor(sw - left)))  # the template's columns inside
    c, d = max(0, int(np.ceil(-top))), min(tsh, int(np.floor(sh - top)))  # and rows
    if b - a < 3 or d - c < 3 or (b - a) * (d - c) < inside * tsw * tsh or b - a > sw or d - c > sh:
        return None
    way = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    pattern, colour = (
        cv2.matchTemplate(image, cv2.resize(part, (tsw, tsh), interpolation=way)[c:d, a:b], cv2.TM_CCOEFF_NORMED)
        for image, part in zip(search, template)
    )
    response = (1 - colour_weight) * pattern + colour_weight * colour
    # where nothing stands out (a plain region), the expected place wins
    rh, rw = response.shape
    ys, xs = np.ogrid[:rh, :rw]
    far = ((xs - (left + a)) / max(1.0, rw / 2)) ** 2 + ((ys - (top + c)) / max(1.0, rh / 2)) ** 2
    response = response - np.float32(MOTION_PRIOR) * far.astype(np.float32)
    _, score, _, (x, y) = cv2.minMaxLoc(response)
    fx, fy = _subpixel(response, x, y)
    return np.array([fx - a + tsw / 2, fy - c + tsh / 2]), float(score), float(pattern[y, x])


def open_video(source: str) -> Source:
    """The source ``source`` names, unopened, when it can seek: a video file (decoded by PyAV, which seeks to
    the exact frame) or an image folder; SourceError otherwise."""
    found = parse_source(source)
    if isinstance(found, FileSource):
        found = parse_source(source, backend="pyav")
    if found.live or not found.seekable:
        raise SourceError(
            f"cannot propagate boxes through {found.label}: it is live; give a video file or an image folder"
        )
    return found


def _read(source: Source) -> Frame | None:
    """The next frame, or None at the end (a truncated file ends where its good frames end)."""
    try:
        return source.read()
    except SourceError:
        return None


def propagate(
    source: str,
    start: int,
    boxes: Boxes,
    frames: Iterable[int] | None = None,
    max_frames: int = 300,
    cancel: Callable[[], bool] | None = None,
) -> Iterator[Step]:
    """Carry ``boxes`` (xyxy pixels, labelled on frame ``start`` of the video ``source``) forward: a ``Step``
    for each later frame in ``frames`` (every frame when None), though every frame in between is tracked.
    Stops when every box is lost, ``max_frames`` frames after ``start``, past the last frame wanted, at the end
    of the video, or when ``cancel()`` returns True (asked before each frame). Raises SourceError, on the
    first step, when the video cannot be read or has no frame ``start``."""
    boxes = as_boxes(boxes)
    wanted = None if frames is None else {int(i) for i in frames if int(i) > start}
    if wanted is not None and not wanted:
        return
    last = start + max_frames if wanted is None else min(start + max_frames, max(wanted))
    with open_video(source) as video:
        video.seek(start)
        first = _read(video)
        if first is None or first.index != start:
            raise SourceError(f"{video.label} has no frame {start} ({video.frame_count} frames): pick one in it")
        tracker = BoxTracker()
        tracker.init(first.image, boxes)
        alive = tracker.state()[1]
        while alive.any() and not (cancel is not None and cancel()):
            frame = _read(video)
            if frame is None or frame.index > last:
                return
            found, alive, score = tracker.update(frame.image)
            if wanted is None or frame.index in wanted:
                yield Step(frame.index, found, alive, score)
