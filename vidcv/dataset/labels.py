"""The labels of one frame, read from and written to ultralytics' YOLO label lines, in pixels.

A ``Label`` is a class id and a box (``xyxy`` in pixels); a segment also has its polygon, an oriented box its
four corners and a pose its keypoints (``x y v`` in pixels, ``v`` 0 absent, 1 hidden, 2 visible). The family
(``boxes``, ``segments``, ``obb``, ``pose``, see ``formats``) says which of them the label line holds. Read and
written lines are normalised to the image and clipped to it, so a box dragged past the edge is stored inside.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from vidcv.dataset.existing import DatasetError

PERSON = "person"  #: the origin of a label drawn or corrected by hand


@dataclass(frozen=True)
class Label:
    """One object of a frame (pixels). ``origin`` says who made it: ``person``, ``model:NAME``, ``propagate``,
    ``grabcut``."""

    cls: int
    box: tuple[float, float, float, float]
    polygon: tuple[tuple[float, float], ...] = ()  #: a segment's outline, an oriented box's four corners
    keypoints: tuple[tuple[float, float, float], ...] = ()  #: a pose's ``x y v``
    origin: str = PERSON
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def moved(self, dx: float, dy: float) -> Label:
        """The label shifted by ``dx, dy`` pixels (its polygon and keypoints with it)."""
        x1, y1, x2, y2 = self.box
        return replace(
            self,
            box=(x1 + dx, y1 + dy, x2 + dx, y2 + dy),
            polygon=tuple((x + dx, y + dy) for x, y in self.polygon),
            keypoints=tuple((x + dx, y + dy, v) if v else (x, y, v) for x, y, v in self.keypoints),
        )

    def with_box(self, box: Sequence[float]) -> Label:
        """The label with a new box; its polygon and keypoints are scaled from the old box into the new one."""
        x1, y1, x2, y2 = (float(v) for v in box)
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        ox1, oy1, ox2, oy2 = self.box
        sx = (x2 - x1) / (ox2 - ox1) if ox2 > ox1 else 1.0
        sy = (y2 - y1) / (oy2 - oy1) if oy2 > oy1 else 1.0

        def fit(x: float, y: float) -> tuple[float, float]:
            return x1 + (x - ox1) * sx, y1 + (y - oy1) * sy

        return replace(
            self,
            box=(x1, y1, x2, y2),
            polygon=tuple(fit(x, y) for x, y in self.polygon),
            keypoints=tuple((*fit(x, y), v) if v else (x, y, v) for x, y, v in self.keypoints),
        )

    def with_polygon(self, points: Iterable[Sequence[float]]) -> Label:
        """The label with a new outline; its box becomes the outline's bounds."""
        pts = tuple((float(x), float(y)) for x, y in points)
        if not pts:
            return replace(self, polygon=())
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return replace(self, polygon=pts, box=(min(xs), min(ys), max(xs), max(ys)))


def box_iou(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """The intersection over union of two xyxy boxes (0 when both are empty)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def clip_label(label: Label, size_wh: tuple[int, int]) -> Label:
    """``label`` with every coordinate inside the image."""
    w, h = size_wh

    def cx(x: float) -> float:
        return min(max(x, 0.0), float(w))

    def cy(y: float) -> float:
        return min(max(y, 0.0), float(h))

    x1, y1, x2, y2 = label.box
    return replace(
        label,
        box=(cx(min(x1, x2)), cy(min(y1, y2)), cx(max(x1, x2)), cy(max(y1, y2))),
        polygon=tuple((cx(x), cy(y)) for x, y in label.polygon),
        keypoints=tuple((cx(x), cy(y), v) for x, y, v in label.keypoints),
    )


def box_corners(box: Sequence[float]) -> tuple[tuple[float, float], ...]:
    x1, y1, x2, y2 = box
    return ((x1, y1), (x2, y1), (x2, y2), (x1, y2))


def _floats(parts: Sequence[str], where: str) -> list[float]:
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise DatasetError(f"{where}: a label value is not a number; fix or remove the line") from None


def parse_line(line: str, family: str, size_wh: tuple[int, int], where: str = "label") -> Label:
    """One YOLO label line of ``family`` as a Label in pixels (DatasetError when it is not one)."""
    w, h = size_wh
    parts = line.split()
    if len(parts) < 5:
        raise DatasetError(f"{where}: a line has {len(parts)} values, fewer than a class and a box; fix or remove it")
    try:
        cls = int(float(parts[0]))
    except ValueError:
        raise DatasetError(f"{where}: class {parts[0]!r} is not a number; fix or remove the line") from None
    values = _floats(parts[1:], where)
    if family == "boxes" or (family == "pose" and len(values) == 4):
        xc, yc, bw, bh = values[:4]
        return Label(cls, ((xc - bw / 2) * w, (yc - bh / 2) * h, (xc + bw / 2) * w, (yc + bh / 2) * h))
    if family == "pose":
        xc, yc, bw, bh = values[:4]
        rest = values[4:]
        dims = 3 if len(rest) % 3 == 0 else 2
        kpts = tuple(
            (rest[i] * w, rest[i + 1] * h, rest[i + 2] if dims == 3 else 2.0) for i in range(0, len(rest), dims)
        )
        box = ((xc - bw / 2) * w, (yc - bh / 2) * h, (xc + bw / 2) * w, (yc + bh / 2) * h)
        return Label(cls, box, keypoints=kpts)
    if len(values) % 2 or len(values) < 6:
        raise DatasetError(f"{where}: a polygon line needs x y pairs, at least three; fix or remove the line")
    pts = [(values[i] * w, values[i + 1] * h) for i in range(0, len(values), 2)]
    return Label(cls, (0.0, 0.0, 0.0, 0.0)).with_polygon(pts)


def _norm(x: float, y: float, size_wh: tuple[int, int]) -> str:
    w, h = size_wh
    return f"{min(max(x / w, 0.0), 1.0):.6f} {min(max(y / h, 0.0), 1.0):.6f}"


def format_line(label: Label, family: str, size_wh: tuple[int, int]) -> str:
    """``label`` as one YOLO label line of ``family``, normalised and clipped to the image."""
    lab = clip_label(label, size_wh)
    w, h = size_wh
    x1, y1, x2, y2 = lab.box
    box = f"{(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
    if family == "boxes":
        return f"{lab.cls} {box}"
    if family == "pose":
        kpts = " ".join(f"{_norm(x, y, size_wh)} {int(v)}" if v else "0.000000 0.000000 0" for x, y, v in lab.keypoints)
        return f"{lab.cls} {box}" + (f" {kpts}" if kpts else "")
    points = lab.polygon or box_corners(lab.box)
    if family == "obb" and len(points) != 4:
        points = obb_corners(points)
    return f"{lab.cls} " + " ".join(_norm(x, y, size_wh) for x, y in points)


def obb_corners(points: Sequence[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    """The four corners of the smallest rotated rectangle around ``points``."""
    import cv2

    rect = cv2.minAreaRect(np.asarray(points, np.float32).reshape(-1, 1, 2))
    return tuple((float(x), float(y)) for x, y in cv2.boxPoints(rect))


def rotate_corners(points: Sequence[Sequence[float]], degrees: float) -> tuple[tuple[float, float], ...]:
    """``points`` turned by ``degrees`` about their centre (an oriented box's rotation)."""
    pts = np.asarray(points, np.float64)
    centre = pts.mean(axis=0)
    t = np.deg2rad(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    out = (pts - centre) @ rot.T + centre
    return tuple((float(x), float(y)) for x, y in out)


def is_degenerate(label: Label) -> bool:
    """A box under a pixel wide or high (dropped when saved, as ``vidcv extract`` drops them)."""
    x1, y1, x2, y2 = label.box
    return x2 - x1 < 1 or y2 - y1 < 1


def read_labels(text: str, family: str, size_wh: tuple[int, int], where: str = "label") -> list[Label]:
    """Every line of a label file's ``text`` (empty lines skipped)."""
    return [parse_line(line, family, size_wh, where) for line in text.splitlines() if line.strip()]


def label_text(labels: Iterable[Label], family: str, size_wh: tuple[int, int]) -> str:
    """A label file's text; degenerate boxes (clipped to the image) are left out."""
    kept = [clip_label(lab, size_wh) for lab in labels]
    return "".join(f"{format_line(lab, family, size_wh)}\n" for lab in kept if not is_degenerate(lab))
