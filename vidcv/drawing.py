"""What detection drawings share, whoever draws them (the annotate plugin with OpenCV, the GUI with Qt), and
the panel a stage writes its figures in (the count stage's "in 1  out 3"), placed clear of the detections'
boxes and labels."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidcv.detections import Classification, Detections

Rect = tuple[int, int, int, int]  #: x1, y1, x2, y2 in image pixels, x2 and y2 excluded

#: colours in RGB, one per class id or track id (ultralytics' palette order)
PALETTE_RGB = [
    (255, 56, 56),
    (255, 157, 151),
    (255, 112, 31),
    (255, 178, 29),
    (207, 210, 49),
    (72, 249, 10),
    (146, 204, 23),
    (61, 219, 134),
    (26, 147, 52),
    (0, 212, 187),
    (44, 153, 168),
    (0, 194, 255),
    (52, 69, 147),
    (100, 115, 255),
    (0, 24, 236),
    (132, 56, 255),
    (82, 0, 133),
    (203, 56, 255),
]


def color_rgb(key: int) -> tuple[int, int, int]:
    return PALETTE_RGB[int(key) % len(PALETTE_RGB)]


def color_key(dets: Detections, i: int, by_track: bool) -> int:
    """The palette index of detection ``i``: its track id when asked and tracked, else its class id."""
    if by_track and dets.tracker_id is not None and dets.tracker_id[i] >= 0:
        return int(dets.tracker_id[i])
    return int(dets.class_id[i])


def label_text(dets: Detections, i: int, confidence: bool = True) -> str:
    """'#7 person 0.91': track id (when tracked), class name, confidence."""
    text = dets.class_name(dets.class_id[i])
    if dets.tracker_id is not None and dets.tracker_id[i] >= 0:
        text = f"#{int(dets.tracker_id[i])} {text}"
    return f"{text} {float(dets.confidence[i]):.2f}" if confidence else text


#: COCO's 17-keypoint skeleton (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles), as pairs
#: of keypoint indices (ultralytics' plotting order).
COCO_SKELETON = [
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (1, 2),
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
]
KEYPOINT_MIN_CONF = 0.5  #: keypoints less sure than this are not drawn (ultralytics draws from 0.5 too)


def skeleton(keypoint_count: int) -> list[tuple[int, int]]:
    """The lines to draw between keypoints: COCO's skeleton for 17 keypoints, none otherwise (points only)."""
    return COCO_SKELETON if keypoint_count == 17 else []


def banner_lines(classification: Classification, count: int = 3) -> list[str]:
    """A classifier's top classes as lines of a banner: 'circle 0.93'."""
    return [
        f"{classification.class_name(c)} {float(p):.2f}"
        for c, p in zip(classification.class_id[:count], classification.confidence[:count])
    ]


# --- a panel of figures, clear of the labels ------------------------------------------------------------------
#: the corners a panel may take, in the order they are tried: top left, top right, bottom left, bottom right
CORNERS = ("top left", "top right", "bottom left", "bottom right")
PANEL_MARGIN = 8  #: between a panel and the image's edge
PANEL_FONT = cv2.FONT_HERSHEY_SIMPLEX


def label_height(image_height: int) -> int:
    """How tall a detection's label may be drawn, in image pixels: annotate's (about 16 px) or the window's
    (13 screen pixels, more image pixels on a video shown smaller), whichever is taller, with room to spare."""
    return max(20, round(0.035 * image_height))


def labelled_boxes(dets: Detections, image_wh: tuple[int, int], pen: int = 2) -> list[Rect]:
    """Where each detection of ``dets`` (in image pixels) and its label are drawn, generously: its box and
    the ``pen`` pixels its outline may take outside it, and above it (or inside its top when it touches the
    image's top) a band as tall as ``label_height`` and as wide as its longest label, with confidence, in the
    widest of the fonts that draw them."""
    band = label_height(image_wh[1])
    rects = []
    for i in range(len(dets)):
        x1, y1, x2, y2 = (round(float(v)) for v in dets.xyxy[i])
        width = round(len(label_text(dets, i)) * band * 0.62) + 6
        top, bottom = min(y1, max(0, y1 - band)), max(y2, band if y1 < band else y2)
        rects.append((x1 - pen, top - pen, max(x2, x1 + width) + pen, bottom + pen))
    return rects


def overlaps(a: Rect, b: Rect) -> int:
    """The area two rectangles share (0: none)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def panel_rect(corner: int, size: tuple[int, int], image_wh: tuple[int, int], margin: int = PANEL_MARGIN) -> Rect:
    """The rectangle of a panel of ``size`` (w, h) in corner ``corner`` (an index into CORNERS)."""
    w, h = size
    iw, ih = image_wh
    x = margin if corner in (0, 2) else max(0, iw - margin - w)
    y = margin if corner in (0, 1) else max(0, ih - margin - h)
    return x, y, x + w, y + h


def place_panel(size: tuple[int, int], image_wh: tuple[int, int], avoid: Sequence[Rect], prefer: int = 0) -> int:
    """The corner for a panel of ``size``: ``prefer`` (the last one, so that it stays put) while nothing in
    ``avoid`` covers it, else the first free corner in CORNERS' order, else the least covered one."""
    covered = [sum(overlaps(panel_rect(c, size, image_wh), r) for r in avoid) for c in range(len(CORNERS))]
    if covered[prefer] == 0:
        return prefer
    return min(range(len(CORNERS)), key=lambda c: (covered[c], c))


def draw_panel(canvas: np.ndarray, text: str, avoid: Sequence[Rect], prefer: int = 0) -> tuple[int, Rect]:
    """Write ``text`` in white on a dark, half-transparent panel in a corner of the BGR ``canvas`` (in place),
    clear of the rectangles in ``avoid`` where a corner is; the font grows with the image. (corner, rectangle)."""
    ih, iw = canvas.shape[:2]
    scale = max(0.55, min(iw, ih) / 640)
    thickness = max(1, round(scale * 1.5))
    (tw, th), base = cv2.getTextSize(text, PANEL_FONT, scale, thickness)
    pad = max(5, round(6 * scale))
    size = (tw + 2 * pad, th + base + 2 * pad)
    corner = place_panel(size, (iw, ih), avoid, prefer)
    x1, y1, x2, y2 = panel_rect(corner, size, (iw, ih))
    x2, y2 = min(x2, iw), min(y2, ih)
    region = canvas[y1:y2, x1:x2]
    region[:] = (region.astype(np.float32) * 0.35 + 20 * 0.65).astype(np.uint8)
    cv2.putText(canvas, text, (x1 + pad, y1 + pad + th), PANEL_FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return corner, (x1, y1, x2, y2)
