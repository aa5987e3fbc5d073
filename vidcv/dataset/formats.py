"""Dataset label formats: which exist, which can share a dataset, and ultralytics' YOLO label lines.

Every line is ``class_id`` followed by coordinates normalised to the image (0..1): a box ``xc yc w h``
(``yolo``, ``coco``), a polygon ``x1 y1 x2 y2 ...`` (``yolo-seg``), a box and its keypoints ``x y v`` each
(``yolo-pose``) or the four corners of an oriented box (``yolo-obb``). ``classify`` has no label lines: the
class is the folder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidcv.detections import KEYPOINTS, OBB, Detections

KPT_VISIBLE = 0.5  #: a keypoint at least this confident is labelled visible (2); others are absent (0 0 0)
#: ultralytics' flip_idx of the COCO 17-keypoint skeleton (left and right swap under a horizontal flip)
COCO_FLIP_IDX = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)


@dataclass(frozen=True)
class LabelFormat:
    """A ``--format``: its name, its family (formats of one family can share a dataset) and what it writes."""

    name: str
    family: str
    help: str


FORMATS: dict[str, LabelFormat] = {
    f.name: f
    for f in (
        LabelFormat("yolo", "boxes", "YOLO boxes"),
        LabelFormat("coco", "boxes", "YOLO boxes plus COCO annotations/instances_SPLIT.json"),
        LabelFormat("yolo-seg", "segments", "YOLO polygons (a segment model's masks, else the boxes)"),
        LabelFormat(
            "yolo-pose", "pose", "YOLO boxes with a pose model's keypoints; kpt_shape and flip_idx in data.yaml"
        ),
        LabelFormat("yolo-obb", "obb", "the four corners of each oriented box (an obb model's, else the box)"),
        LabelFormat(
            "classify",
            "classify",
            "ultralytics' classify layout DIR/{train,val,test}/CLASS/NAME.jpg: the "
            "frame's top-1 class, or with --crops every detection cut out",
        ),
    )
}


def flip_idx(keypoints: int) -> list[int]:
    """Keypoint order under a horizontal flip: COCO's left/right swap for 17 keypoints, else unchanged
    (edit data.yaml when your keypoints have left and right pairs)."""
    return list(COCO_FLIP_IDX) if keypoints == len(COCO_FLIP_IDX) else list(range(keypoints))


def _coords(points: np.ndarray, size_wh: tuple[int, int]) -> str:
    """x y pairs normalised and clipped to the image, as text."""
    w, h = size_wh
    norm = np.clip(np.asarray(points, np.float64).reshape(-1, 2) / [w, h], 0.0, 1.0)
    return " ".join(f"{x:.6f} {y:.6f}" for x, y in norm)


def box_line(cid: int, xyxy: np.ndarray, size_wh: tuple[int, int]) -> str:
    w, h = size_wh
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    return f"{cid} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"


def polygon_of(dets: Detections, i: int, xyxy: np.ndarray) -> np.ndarray:
    """Detection ``i``'s outline: its polygon, else its mask's largest contour, else its box."""
    if dets.polygons is not None and len(dets.polygons[i]) >= 3:
        return dets.polygons[i]
    if dets.masks is not None:
        import cv2  # here: the command line reads FORMATS at start-up, without OpenCV

        contours, _ = cv2.findContours(dets.masks[i].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if contours:
            return max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float32)
    return box_corners(xyxy)


def box_corners(xyxy: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = xyxy
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)


def pose_line(cid: int, xyxy: np.ndarray, keypoints: np.ndarray, size_wh: tuple[int, int]) -> str:
    """A box and its keypoints ``x y v``: v 2 (visible) at confidence >= KPT_VISIBLE, else ``0 0 0``."""
    w, h = size_wh
    parts = []
    for x, y, conf in np.asarray(keypoints, np.float64):
        inside = 0 <= x <= w and 0 <= y <= h
        parts.append(f"{x / w:.6f} {y / h:.6f} 2" if conf >= KPT_VISIBLE and inside else "0.000000 0.000000 0")
    return f"{box_line(cid, xyxy, size_wh)} {' '.join(parts)}"


def label_lines(fmt: str, dets: Detections, ids: list[int], size_wh: tuple[int, int]) -> tuple[list[str], int]:
    """The label lines of ``dets`` (dataset class ``ids``) in format ``fmt``, and how many detections could not
    be written in it (a detection without keypoints in a pose dataset). Boxes under a pixel are left out."""
    from vidcv.frame import xywhr_corners

    w, h = size_wh
    family = FORMATS[fmt].family
    keypoints = dets.data.get(KEYPOINTS.name)
    obb = dets.data.get(OBB.name)
    lines, unlabelled = [], 0
    for i, cid in enumerate(ids):
        xyxy = np.clip(dets.xyxy[i], 0, [w, h, w, h]).astype(np.float64)
        if xyxy[2] - xyxy[0] < 1 or xyxy[3] - xyxy[1] < 1:
            continue
        if family == "boxes":
            lines.append(box_line(cid, xyxy, size_wh))
        elif family == "segments":
            lines.append(f"{cid} {_coords(polygon_of(dets, i, xyxy), size_wh)}")
        elif family == "obb":
            corners = xywhr_corners(obb[i])[0] if obb is not None else box_corners(xyxy)
            lines.append(f"{cid} {_coords(corners, size_wh)}")
        elif family == "pose":
            if keypoints is None:
                unlabelled += 1
                continue
            lines.append(pose_line(cid, xyxy, keypoints[i], size_wh))
    return lines, unlabelled
