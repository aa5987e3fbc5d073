"""The geometry of editing labels on the canvas, in image pixels and without Qt: which part of a label a point
grabs (a box's corners and edges, a polygon's vertices and edges, an oriented box's corners, edges and rotation
handle, a pose's keypoints) and what dragging it does. Tolerances come in image pixels (the canvas converts its
screen distance through the view's scale)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from vidcv.dataset.labels import PERSON, Label, box_corners

Point = tuple[float, float]

#: the parts of a box a drag resizes: corners first (they win over the edges they join)
CORNERS = ("tl", "tr", "br", "bl")
EDGES = ("t", "r", "b", "l")


def dist(a: Sequence[float], b: Sequence[float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def box_part(box: Sequence[float], p: Point, tol: float) -> str | None:
    """The corner (``tl``, ``tr``, ``br``, ``bl``) or edge (``t``, ``r``, ``b``, ``l``) of ``box`` within ``tol``
    of ``p``; ``inside`` when the point is within the box and on neither; None outside."""
    x1, y1, x2, y2 = box
    corners = dict(zip(CORNERS, box_corners(box)))
    near = [(dist(c, p), name) for name, c in corners.items() if dist(c, p) <= tol]
    if near:
        return min(near)[1]
    x, y = p
    within_x, within_y = x1 - tol <= x <= x2 + tol, y1 - tol <= y <= y2 + tol
    edges = [(abs(y - y1), "t", within_x), (abs(x - x2), "r", within_y), (abs(y - y2), "b", within_x)]
    edges.append((abs(x - x1), "l", within_y))
    near_edges = [(d, name) for d, name, ok in edges if ok and d <= tol]
    if near_edges:
        return min(near_edges)[1]
    if x1 <= x <= x2 and y1 <= y <= y2:
        return "inside"
    return None


def resize_box(box: Sequence[float], part: str, dx: float, dy: float) -> tuple[float, float, float, float]:
    """``box`` with the corner or edge ``part`` moved by ``dx, dy`` (the others stay; may come out flipped, which
    ``Label.with_box`` puts right)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if "l" in part:
        x1 += dx
    if "r" in part:
        x2 += dx
    if "t" in part:
        y1 += dy
    if "b" in part:
        y2 += dy
    return x1, y1, x2, y2


def cursor_shape_of(part: str) -> str:
    """Which resize cursor a box part shows: ``fdiag`` (top-left to bottom-right), ``bdiag``, ``hor``, ``ver``."""
    return {"tl": "fdiag", "br": "fdiag", "tr": "bdiag", "bl": "bdiag", "l": "hor", "r": "hor"}.get(part, "ver")


def inside_polygon(points: Sequence[Sequence[float]], p: Point) -> bool:
    """Whether ``p`` lies inside the polygon (even-odd rule)."""
    x, y = p
    inside = False
    n = len(points)
    for i in range(n):
        (xa, ya), (xb, yb) = points[i], points[(i + 1) % n]
        if (ya > y) != (yb > y) and x < (xb - xa) * (y - ya) / (yb - ya) + xa:
            inside = not inside
    return inside


def nearest_vertex(points: Sequence[Sequence[float]], p: Point, tol: float) -> int | None:
    """The index of the vertex nearest ``p`` within ``tol``."""
    best = min(((dist(q, p), i) for i, q in enumerate(points)), default=None)
    return best[1] if best is not None and best[0] <= tol else None


def project_on_segment(a: Sequence[float], b: Sequence[float], p: Point) -> tuple[Point, float]:
    """The point of segment ``ab`` nearest ``p`` and its distance to ``p``."""
    ax, ay = a
    bx, by = b
    vx, vy = bx - ax, by - ay
    length2 = vx * vx + vy * vy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * vx + (p[1] - ay) * vy) / length2))
    q = (ax + t * vx, ay + t * vy)
    return q, dist(q, p)


def nearest_edge(points: Sequence[Sequence[float]], p: Point, tol: float) -> tuple[int, Point] | None:
    """``(i, q)``: the polygon edge from vertex ``i`` to ``i + 1`` nearest ``p`` within ``tol``, and the point
    ``q`` on it nearest ``p``."""
    best: tuple[float, int, Point] | None = None
    n = len(points)
    for i in range(n):
        q, d = project_on_segment(points[i], points[(i + 1) % n], p)
        if d <= tol and (best is None or d < best[0]):
            best = (d, i, q)
    return None if best is None else (best[1], best[2])


def centre(points: Sequence[Sequence[float]]) -> Point:
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def _unit(v: Point) -> Point:
    n = math.hypot(*v)
    return (v[0] / n, v[1] / n) if n > 1e-9 else (1.0, 0.0)


def _dot(a: Point, b: Point) -> float:
    return a[0] * b[0] + a[1] * b[1]


def obb_axes(corners: Sequence[Sequence[float]]) -> tuple[Point, Point]:
    """The two unit axes of an oriented box: along its first edge and along its last (corner 0 to 3)."""
    p0, p1, p3 = corners[0], corners[1], corners[3]
    return _unit((p1[0] - p0[0], p1[1] - p0[1])), _unit((p3[0] - p0[0], p3[1] - p0[1]))


def _scaled(corners: Sequence[Sequence[float]], fixed: Point, su: float, sv: float) -> tuple[tuple[float, float], ...]:
    """``corners`` scaled about ``fixed`` by ``su`` along the box's first axis and ``sv`` along its second."""
    u, v = obb_axes(corners)
    out = []
    for x, y in corners:
        r = (x - fixed[0], y - fixed[1])
        a, b = _dot(r, u) * su, _dot(r, v) * sv
        out.append((fixed[0] + a * u[0] + b * v[0], fixed[1] + a * u[1] + b * v[1]))
    return tuple(out)


def _factor(new: float, old: float) -> float:
    """``new / old``, keeping the box at least a pixel wide on the side ``old`` had it."""
    if abs(old) < 1e-9:
        return 1.0
    if abs(new) < 1.0:
        new = math.copysign(1.0, old)
    return new / old


def obb_drag_corner(corners: Sequence[Sequence[float]], i: int, to: Point) -> tuple[tuple[float, float], ...]:
    """The oriented box with corner ``i`` dragged to ``to``: it resizes along its own axes about the opposite
    corner, staying a rectangle of the same angle."""
    fixed = (float(corners[(i + 2) % 4][0]), float(corners[(i + 2) % 4][1]))
    u, v = obb_axes(corners)
    old = (corners[i][0] - fixed[0], corners[i][1] - fixed[1])
    new = (to[0] - fixed[0], to[1] - fixed[1])
    return _scaled(corners, fixed, _factor(_dot(new, u), _dot(old, u)), _factor(_dot(new, v), _dot(old, v)))


def obb_drag_edge(corners: Sequence[Sequence[float]], i: int, to: Point) -> tuple[tuple[float, float], ...]:
    """The oriented box with its edge from corner ``i`` to ``i + 1`` dragged to ``to``: it resizes across that
    edge about the opposite edge."""
    fixed = (float(corners[(i + 2) % 4][0]), float(corners[(i + 2) % 4][1]))
    u, v = obb_axes(corners)
    old = (corners[i][0] - fixed[0], corners[i][1] - fixed[1])
    new = (to[0] - fixed[0], to[1] - fixed[1])
    edge = _unit((corners[(i + 1) % 4][0] - corners[i][0], corners[(i + 1) % 4][1] - corners[i][1]))
    if abs(_dot(edge, u)) > abs(_dot(edge, v)):  # the edge runs along u: the box grows along v
        return _scaled(corners, fixed, 1.0, _factor(_dot(new, v), _dot(old, v)))
    return _scaled(corners, fixed, _factor(_dot(new, u), _dot(old, u)), 1.0)


def obb_rotate_handle(corners: Sequence[Sequence[float]], reach: float) -> Point:
    """Where an oriented box's rotation handle is: ``reach`` beyond the middle of its first edge, outwards."""
    c = centre(corners)
    mid = ((corners[0][0] + corners[1][0]) / 2, (corners[0][1] + corners[1][1]) / 2)
    n = _unit((mid[0] - c[0], mid[1] - c[1]))
    return mid[0] + n[0] * reach, mid[1] + n[1] * reach


def angle_between(c: Point, a: Point, b: Point) -> float:
    """The angle in degrees from ``a`` to ``b`` about ``c`` (clockwise on screen, where y points down)."""
    return math.degrees(math.atan2(b[1] - c[1], b[0] - c[0]) - math.atan2(a[1] - c[1], a[0] - c[0]))


def outline(label: Label, family: str) -> tuple[tuple[float, float], ...]:
    """What the canvas draws and hit-tests of a label: its polygon (segments, oriented boxes), else its box's
    corners."""
    if family in ("segments", "obb") and len(label.polygon) >= 3:
        return label.polygon
    return box_corners(label.box)


def area(label: Label) -> float:
    x1, y1, x2, y2 = label.box
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)


def contains(label: Label, family: str, p: Point) -> bool:
    if family in ("segments", "obb") and len(label.polygon) >= 3:
        return inside_polygon(label.polygon, p)
    x1, y1, x2, y2 = label.box
    return x1 <= p[0] <= x2 and y1 <= p[1] <= y2


def new_label(cls: int, box: Sequence[float], family: str, keypoints: int) -> Label:
    """A label drawn as a box: a rectangle polygon for segments and oriented boxes, absent keypoints for a
    pose (placed one by one afterwards)."""
    x1, y1, x2, y2 = box
    lab = Label(cls, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), origin=PERSON)
    if family in ("segments", "obb"):
        return lab.with_polygon(box_corners(lab.box))
    if family == "pose" and keypoints:
        return replace(lab, keypoints=tuple((0.0, 0.0, 0.0) for _ in range(keypoints)))
    return lab


def by_hand(label: Label) -> Label:
    """``label`` as corrected by a person."""
    return label if label.origin == PERSON else replace(label, origin=PERSON)
