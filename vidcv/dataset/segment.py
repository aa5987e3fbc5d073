"""Box to polygon: the outline of the object inside a box drawn by hand, for segmentation labels, without a
model: ``cv2.grabCut`` seeded with the box (what is outside is background), the largest region it keeps,
simplified to a polygon of a few dozen vertices at most."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from vidcv.dataset.propagate import LabelError, as_boxes

#: the polygon's tolerance: this fraction of the outline's length (at least half a pixel)
SIMPLIFY = 0.007
#: the context around the box that grabCut sees, as a fraction of the box's mean side (at least CONTEXT_MIN px)
CONTEXT = 0.5
CONTEXT_MIN = 10
#: a box with a side shorter than this many pixels (inside the image) is its own polygon
MIN_SIDE = 4
#: the region kept must cover at least this fraction of the box, else the box is its own polygon
MIN_COVER = 0.02


def box_to_polygon(image: np.ndarray, box_xyxy: np.ndarray | Iterable[float], iterations: int = 5) -> np.ndarray:
    """The outline of the object in ``box_xyxy`` (x1, y1, x2, y2 pixels) on ``image`` (uint8 BGR or gray), as
    a (k, 2) float32 polygon of x, y pixel coordinates inside the image, k >= 3. ``iterations`` of grabCut.
    Where grabCut finds no object (a plain or tiny box, a box that is the whole image), the box's four corners,
    clipped to the image. LabelError when the box lies outside the image."""
    bgr = _as_bgr(image)
    h, w = bgr.shape[:2]
    asked = as_boxes([list(box_xyxy)])[0]
    box = np.clip(asked, 0, [w, h, w, h])
    corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]], np.float32)
    if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
        raise LabelError(f"box {np.round(asked, 1).tolist()} lies outside the {w}x{h} image: draw it on the image")
    if min(box[2] - box[0], box[3] - box[1]) < MIN_SIDE:
        return corners
    region, rect = _context(box, (w, h))
    mask = _grabcut(bgr[region[1] : region[3], region[0] : region[2]], rect, iterations)
    outline = _largest_outline(mask, MIN_COVER * rect[2] * rect[3]) if mask is not None else None
    if outline is None:
        return corners
    polygon = outline + np.array(region[:2], np.float32)
    return np.asarray(np.clip(polygon, 0, [w, h]), np.float32)


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        raise LabelError(f"box_to_polygon needs a uint8 BGR or gray image; got {image.dtype} of shape {image.shape}")
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 or image.shape[2] == 1 else image


def _context(box: np.ndarray, size_wh: tuple[int, int]) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """The region of the image grabCut works on (x0, y0, x1, y1: the box and some context around it) and the
    box's rectangle in it (x, y, width, height), in whole pixels."""
    w, h = size_wh
    x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
    x2, y2 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    margin = max(CONTEXT_MIN, round(CONTEXT * ((x2 - x1) + (y2 - y1)) / 2))
    x0, y0 = max(0, x1 - margin), max(0, y1 - margin)
    return (x0, y0, min(w, x2 + margin), min(h, y2 + margin)), (x1 - x0, y1 - y0, x2 - x1, y2 - y1)


def _grabcut(image: np.ndarray, rect: tuple[int, int, int, int], iterations: int) -> np.ndarray | None:
    """The foreground grabCut finds in ``rect`` of ``image`` (uint8 0/255), or None where it cannot run (no
    background outside the rectangle)."""
    mask = np.zeros(image.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(image, mask, rect, bgd, fgd, max(1, iterations), cv2.GC_INIT_WITH_RECT)
    except cv2.error:  # the rectangle is the whole region: no background to learn from
        return None
    return np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)


def _largest_outline(mask: np.ndarray, min_area: float) -> np.ndarray | None:
    """The largest region of ``mask`` as a simplified polygon ((k, 2) float32, k >= 3), or None when there is
    none of ``min_area`` pixels."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    if cv2.contourArea(largest) < max(1.0, min_area):
        return None
    tolerance = max(0.5, SIMPLIFY * cv2.arcLength(largest, True))
    polygon = cv2.approxPolyDP(largest, tolerance, True).reshape(-1, 2)
    if len(polygon) < 3:
        polygon = cv2.convexHull(largest).reshape(-1, 2)
    return polygon.astype(np.float32) if len(polygon) >= 3 else None
