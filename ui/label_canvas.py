"""The labelling canvas: one frame of a dataset, large, with its labels in vidcv's class colours, edited with the
mouse and the keyboard.

Drag on empty image space (or Ctrl+drag anywhere) draws a box of the current class; a click selects a label, a drag inside moves it,
a drag on its edges and corners resizes it (the cursor says which). Segments: drag a vertex, double-click an
edge to add one, Alt+click or right-click a vertex to remove it (three stay). Oriented boxes: corners and edges
resize along the box's own axes, the handle beyond its first edge rotates it. Poses: drag a keypoint,
Shift+click places the selected label's next missing keypoint, Alt+click or right-click removes one. The view
zooms (wheel, ``zoom_by``, ``fit``) and pans (middle-drag, or drag while Space is held); every image coordinate
comes through ``to_image`` / ``to_widget``.

Each completed edit (a mouse release, a key) emits ``edited`` with the frame's new labels, at once: the dataset
view saves them, so a crash loses at most the drag under the cursor. Undo and redo keep one history per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QCursor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from vidcv.dataset.labels import Label, clip_label, is_degenerate, rotate_corners
from vidcv.drawing import skeleton
from vidcv.ui.label_geometry import (
    Point,
    angle_between,
    area,
    box_part,
    by_hand,
    centre,
    contains,
    cursor_shape_of,
    nearest_edge,
    nearest_vertex,
    new_label,
    obb_drag_corner,
    obb_drag_edge,
    obb_rotate_handle,
    outline,
    resize_box,
)
from vidcv.ui.overlays import class_color
from vidcv.ui.style import VIDEO_BACKGROUND
from vidcv.ui.video_view import to_qimage

GRAB_PX = 7.0  #: how near (screen pixels) a handle, vertex or edge must be to grab it
CLICK_PX = 4.0  #: a press and release nearer than this is a click, not a drag
ROTATE_PX = 24.0  #: the rotation handle's distance beyond an oriented box's first edge (screen pixels)
ZOOM_STEP = 1.25
MAX_SCALE = 64.0
BACKGROUND = VIDEO_BACKGROUND  #: the same dark backdrop as the video view
CURSORS = {
    "fdiag": Qt.CursorShape.SizeFDiagCursor,
    "bdiag": Qt.CursorShape.SizeBDiagCursor,
    "hor": Qt.CursorShape.SizeHorCursor,
    "ver": Qt.CursorShape.SizeVerCursor,
}


def class_name(names: list[str], cls: int) -> str:
    return names[cls] if 0 <= cls < len(names) else f"class {cls}"


def contrast(color: QColor) -> QColor:
    """Black or white, whichever reads better on ``color``."""
    luma = 0.299 * color.red() + 0.587 * color.green() + 0.114 * color.blue()
    return QColor(0, 0, 0) if luma > 110 else QColor(255, 255, 255)


@dataclass
class Drag:
    """A drag in progress: what it does (``draw``, ``move``, ``box``, ``vertex``, ``corner``, ``edge``,
    ``rotate``, ``keypoint``, ``pan``), where it started (screen and image), the labels before it, the label and
    the part it holds."""

    kind: str
    start: QPointF
    start_image: Point
    before: list[Label]
    index: int = -1
    part: str = ""
    point: int = -1
    offset: QPointF | None = None  #: pan: the view offset when it started
    button: Qt.MouseButton = Qt.MouseButton.LeftButton  #: the button that ends it


class LabelCanvas(QWidget):
    """The frame and its labels; see the module. ``edited(labels)`` after every completed edit."""

    edited = Signal(object)  #: list[Label]: the frame's labels after a completed edit (to save at once)
    selection_changed = Signal()
    accept_requested = Signal()  #: Space pressed and released without a drag

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.family = "boxes"
        self.names: list[str] = []
        self.keypoint_count = 0  #: a pose dataset's keypoints per label (data.yaml's kpt_shape)
        self.current_class = 0
        self.key = ""  #: the frame shown (its history of edits is kept under this key)
        self.image: np.ndarray | None = None
        self.size_wh = (0, 0)
        self.labels: list[Label] = []
        self.selected: int | None = None
        self.read_only = False
        self.note = ""  #: a line over the image: why it cannot be edited, what is wrong with it
        self.banner = ""  #: classify: the frame's class
        self.scale = 1.0
        self.offset = QPointF(0, 0)  #: where image pixel (0, 0) lies on the widget
        self.fitted = True  #: the view follows the widget's size until a zoom or a pan
        self.drag: Drag | None = None
        self.pointer: QPointF | None = None  #: the mouse's last position (the box being drawn ends there)
        self._qimage: QImage | None = None
        self._history: dict[str, tuple[list[list[Label]], list[list[Label]]]] = {}
        self._space_down = self._space_used = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    # --- content --------------------------------------------------------------------------------------------
    def set_frame(
        self,
        key: str,
        image: np.ndarray | None,
        labels: list[Label],
        read_only: bool = False,
        note: str = "",
        banner: str = "",
    ) -> None:
        """Show a frame: its image (None when unreadable), its labels in pixels, whether it can be edited."""
        self.key = key
        self.image = None if image is None else np.ascontiguousarray(image)
        self._qimage = None if self.image is None else to_qimage(self.image)
        if self.image is not None:
            self.size_wh = (int(self.image.shape[1]), int(self.image.shape[0]))
        self.labels = list(labels)
        self.read_only = read_only or self.image is None
        self.note, self.banner = note, banner
        self.drag = None
        self.select(None)
        self.fit()

    def set_labels(self, labels: list[Label]) -> None:
        """Replace the labels shown without an edit (they were changed on disk, a class merge); a drag under way
        is dropped."""
        self.drag = None
        self.labels = list(labels)
        if self.selected is not None and self.selected >= len(self.labels):
            self.select(None)
        self.update()

    def forget_history(self) -> None:
        """Drop every frame's undo and redo (after a class merge their class ids are stale)."""
        self._history.clear()

    def select(self, index: int | None) -> None:
        if index != self.selected:
            self.selected = index
            self.selection_changed.emit()
        self.update()

    @property
    def selected_label(self) -> Label | None:
        return None if self.selected is None else self.labels[self.selected]

    # --- the view transform ---------------------------------------------------------------------------------
    def to_image(self, p: QPointF) -> Point:
        """A widget point in image pixels (through the zoom and pan)."""
        return (p.x() - self.offset.x()) / self.scale, (p.y() - self.offset.y()) / self.scale

    def to_widget(self, x: float, y: float) -> QPointF:
        """An image pixel position on the widget."""
        return QPointF(self.offset.x() + x * self.scale, self.offset.y() + y * self.scale)

    def fit_scale(self) -> float:
        w, h = self.size_wh
        if not w or not h:
            return 1.0
        return max(1e-3, min((self.width() - 16) / w, (self.height() - 16) / h))

    def fit(self) -> None:
        """The whole image, as large as the widget allows, centred (key F)."""
        self.scale = self.fit_scale()
        w, h = self.size_wh
        self.offset = QPointF((self.width() - w * self.scale) / 2, (self.height() - h * self.scale) / 2)
        self.fitted = True
        self.update()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the image point under ``anchor`` (the widget's centre by default) still."""
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        x, y = self.to_image(anchor)
        self.scale = min(MAX_SCALE, max(self.fit_scale() / 4, self.scale * factor))
        self.offset = QPointF(anchor.x() - x * self.scale, anchor.y() - y * self.scale)
        self.fitted = False
        self.update()

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self.fitted:
            self.fit()
        super().resizeEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP**steps, event.position())

    # --- edits --------------------------------------------------------------------------------------------
    def _stacks(self) -> tuple[list[list[Label]], list[list[Label]]]:
        return self._history.setdefault(self.key, ([], []))

    def _cleaned(self, labels: list[Label]) -> list[Label]:
        """What a save keeps: inside the image, nothing under a pixel."""
        kept = [clip_label(lab, self.size_wh) for lab in labels]
        return [lab for lab in kept if not is_degenerate(lab)]

    def commit(self, labels: list[Label], select: int | None = None, before: list[Label] | None = None) -> bool:
        """Make ``labels`` the frame's labels as one edit (undoable), and emit ``edited``; ``select`` (an index
        into ``labels``) stays selected when it is kept. False when nothing changed or the frame is read-only."""
        before = self.labels if before is None else before
        if self.read_only:
            self.labels = list(before)
            self.update()
            return False
        keep = labels[select] if select is not None and 0 <= select < len(labels) else None
        cleaned = self._cleaned(labels)
        self.labels = cleaned
        new_sel = None
        if keep is not None:
            clipped = clip_label(keep, self.size_wh)
            new_sel = next((i for i, lab in enumerate(cleaned) if lab == clipped), None)
        self.select(new_sel)
        if cleaned == list(before):
            return False
        undo, redo = self._stacks()
        undo.append(list(before))
        redo.clear()
        self.edited.emit(list(cleaned))
        return True

    def add_box(self, box: tuple[float, float, float, float], cls: int | None = None) -> bool:
        """Add a label drawn as ``box`` (image pixels) of ``cls`` (the current class by default)."""
        lab = new_label(self.current_class if cls is None else cls, box, self.family, self.keypoint_count)
        return self.commit([*self.labels, lab], select=len(self.labels))

    def delete_selected(self) -> bool:
        if self.selected is None:
            return False
        i = self.selected
        return self.commit(self.labels[:i] + self.labels[i + 1 :])

    def set_class(self, cls: int) -> bool:
        """The current class becomes ``cls`` and, when a label is selected, that label's class (keys 1-9, 0)."""
        if not 0 <= cls < max(1, len(self.names)):
            return False
        self.current_class = cls
        self.update()
        i = self.selected
        if i is None or self.labels[i].cls == cls:
            return False
        labels = list(self.labels)
        labels[i] = by_hand(replace(labels[i], cls=cls))
        return self.commit(labels, select=i)

    def rotate_selected(self, degrees: float) -> bool:
        """Turn the selected oriented box by ``degrees`` (clockwise on screen) about its centre (keys [ and ])."""
        i = self.selected
        if i is None or self.family != "obb" or len(self.labels[i].polygon) != 4:
            return False
        labels = list(self.labels)
        labels[i] = by_hand(labels[i].with_polygon(rotate_corners(labels[i].polygon, degrees)))
        return self.commit(labels, select=i)

    def can_undo(self) -> bool:
        return bool(self._stacks()[0]) and not self.read_only

    def can_redo(self) -> bool:
        return bool(self._stacks()[1]) and not self.read_only

    def undo(self) -> bool:
        """The frame's labels before its last edit (saved again at once)."""
        undo, redo = self._stacks()
        if not undo or self.read_only:
            return False
        redo.append(list(self.labels))
        self.labels = undo.pop()
        self.select(None)
        self.edited.emit(list(self.labels))
        return True

    def redo(self) -> bool:
        undo, redo = self._stacks()
        if not redo or self.read_only:
            return False
        undo.append(list(self.labels))
        self.labels = redo.pop()
        self.select(None)
        self.edited.emit(list(self.labels))
        return True

    # --- hit testing ----------------------------------------------------------------------------------------
    def _tol(self) -> float:
        return GRAB_PX / self.scale

    def _order(self) -> list[int]:
        """Labels in the order a press looks at them: the selected first, then the smallest."""
        rest = sorted((i for i in range(len(self.labels)) if i != self.selected), key=lambda i: area(self.labels[i]))
        return ([self.selected] if self.selected is not None else []) + rest

    def hit(self, p: Point) -> tuple[str, int, str, int]:
        """What a press at image point ``p`` grabs: ``(kind, label, part, point)``; kind ``draw`` on empty space."""
        tol = self._tol()
        for i in self._order():
            lab = self.labels[i]
            if self.family == "pose":
                sure = [(x, y) if v else (float("inf"), float("inf")) for x, y, v in lab.keypoints]
                k = nearest_vertex(sure, p, tol)
                if k is not None:
                    return "keypoint", i, "", k
            if self.family == "segments" and len(lab.polygon) >= 3:
                k = nearest_vertex(lab.polygon, p, tol)
                if k is not None:
                    return "vertex", i, "", k
            elif self.family == "obb" and len(lab.polygon) == 4:
                if i == self.selected and _near(obb_rotate_handle(lab.polygon, ROTATE_PX / self.scale), p, tol):
                    return "rotate", i, "", -1
                k = nearest_vertex(lab.polygon, p, tol)
                if k is not None:
                    return "corner", i, "", k
                edge = nearest_edge(lab.polygon, p, tol)
                if edge is not None:
                    return "edge", i, "", edge[0]
            elif self.family in ("boxes", "pose"):
                part = box_part(lab.box, p, tol)
                if part is not None and part != "inside":
                    return "box", i, part, -1
        inside = [i for i in range(len(self.labels)) if contains(self.labels[i], self.family, p)]
        if inside:
            return "move", min(inside, key=lambda i: area(self.labels[i])), "", -1
        return "draw", -1, "", -1

    def _cursor_for(self, p: Point) -> QCursor:
        if self._space_down or (self.drag is not None and self.drag.kind == "pan"):
            return QCursor(Qt.CursorShape.ClosedHandCursor if self.drag else Qt.CursorShape.OpenHandCursor)
        if self.read_only or self.image is None:
            return QCursor(Qt.CursorShape.ArrowCursor)
        kind, i, part, k = self.drag_kind_at(p)
        if kind == "box":
            return QCursor(CURSORS[cursor_shape_of(part)])
        if kind in ("vertex", "keypoint", "corner"):
            return QCursor(Qt.CursorShape.PointingHandCursor)
        if kind == "edge":
            return QCursor(Qt.CursorShape.SizeAllCursor)
        if kind == "rotate":
            return QCursor(Qt.CursorShape.OpenHandCursor)
        if kind == "move":
            return QCursor(Qt.CursorShape.SizeAllCursor)
        return QCursor(Qt.CursorShape.CrossCursor)

    def drag_kind_at(self, p: Point) -> tuple[str, int, str, int]:
        return self.hit(p) if self.drag is None else (self.drag.kind, self.drag.index, self.drag.part, self.drag.point)

    # --- mouse ----------------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        if self.drag is not None:  # one drag at a time (another button pressed during it is ignored)
            return
        pos = self.pointer = event.position()
        button, mods = event.button(), event.modifiers()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space_down):
            self._space_used = self._space_used or self._space_down
            self.drag = Drag("pan", pos, self.to_image(pos), self.labels, offset=QPointF(self.offset), button=button)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if self.image is None:
            return
        p = self.to_image(pos)
        if button == Qt.MouseButton.RightButton or (
            button == Qt.MouseButton.LeftButton and mods & Qt.KeyboardModifier.AltModifier
        ):
            self.remove_point_at(p)
            return
        if button != Qt.MouseButton.LeftButton:
            return
        if mods & Qt.KeyboardModifier.ShiftModifier and self.family == "pose" and self.place_keypoint(p):
            return
        kind, i, part, k = self.hit(p)
        if mods & Qt.KeyboardModifier.ControlModifier:  # Ctrl+drag draws, even over a label (a part of it)
            kind, i, part, k = "draw", -1, "", -1
        if self.read_only:
            self.select(i if kind != "draw" else None)
            return
        if kind != "draw":
            self.select(i)
        self.drag = Drag(kind, pos, p, list(self.labels), i, part, k)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self.pointer = pos
        drag = self.drag
        if drag is None:
            self.setCursor(self._cursor_for(self.to_image(pos)))
            return
        if drag.kind == "pan":
            assert drag.offset is not None
            self.offset = drag.offset + (pos - drag.start)
            self.fitted = False
            self.update()
            return
        p = self.to_image(pos)
        dx, dy = p[0] - drag.start_image[0], p[1] - drag.start_image[1]
        if drag.kind != "draw":
            labels = list(drag.before)
            labels[drag.index] = by_hand(self._dragged(drag.before[drag.index], drag, p, dx, dy))
            self.labels = labels
        self.update()

    def _dragged(self, lab: Label, drag: Drag, p: Point, dx: float, dy: float) -> Label:
        """Label ``lab`` as the drag makes it, the pointer at ``p`` (moved ``dx, dy`` since the press)."""
        if drag.kind == "move":
            return lab.moved(dx, dy)
        if drag.kind == "box":
            box = resize_box(lab.box, drag.part, dx, dy)
            if self.family == "pose":  # keypoints mark the body, not the box: they stay where they are
                return replace(
                    lab, box=(min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3]))
                )
            return lab.with_box(box)
        if drag.kind == "vertex":
            points = list(lab.polygon)
            x, y = points[drag.point]
            points[drag.point] = (x + dx, y + dy)
            return lab.with_polygon(points)
        if drag.kind == "keypoint":
            kpts = list(lab.keypoints)
            x, y, v = kpts[drag.point]
            kpts[drag.point] = (x + dx, y + dy, v)
            return replace(lab, keypoints=tuple(kpts))
        if drag.kind == "corner":
            x, y = lab.polygon[drag.point]
            return lab.with_polygon(obb_drag_corner(lab.polygon, drag.point, (x + dx, y + dy)))
        if drag.kind == "edge":
            x, y = lab.polygon[drag.point]
            return lab.with_polygon(obb_drag_edge(lab.polygon, drag.point, (x + dx, y + dy)))
        if drag.kind == "rotate":
            degrees = angle_between(centre(lab.polygon), drag.start_image, p)
            return lab.with_polygon(rotate_corners(lab.polygon, degrees))
        return lab

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag = self.drag
        if drag is None or event.button() != drag.button:
            return
        self.drag = None
        pos = event.position()
        self.setCursor(self._cursor_for(self.to_image(pos)))
        if drag.kind == "pan":
            return
        moved = (pos - drag.start).manhattanLength() >= CLICK_PX
        if drag.kind == "draw":
            if moved:
                (x1, y1), (x2, y2) = drag.start_image, self.to_image(pos)
                self.add_box((x1, y1, x2, y2))
            else:
                self.select(None)
            self.update()
            return
        if not moved:  # a click: the label is selected, nothing else
            self.labels = list(drag.before)
            self.update()
            return
        self.commit(self.labels, select=drag.index, before=drag.before)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Segments: a double-click on an edge adds a vertex there."""
        if event.button() != Qt.MouseButton.LeftButton or self.image is None or self.read_only:
            return
        self.drag = None
        self.add_vertex_at(self.to_image(event.position()))

    def add_vertex_at(self, p: Point) -> bool:
        """Segments: a vertex on the polygon edge nearest ``p`` (within grabbing distance)."""
        if self.family != "segments":
            return False
        for i in self._order():
            lab = self.labels[i]
            edge = nearest_edge(lab.polygon, p, self._tol()) if len(lab.polygon) >= 3 else None
            if edge is not None:
                k, q = edge
                points = list(lab.polygon)
                points.insert(k + 1, q)
                labels = list(self.labels)
                labels[i] = by_hand(lab.with_polygon(points))
                return self.commit(labels, select=i)
        return False

    def remove_point_at(self, p: Point) -> bool:
        """Segments: remove the vertex at ``p`` (a polygon keeps three); poses: mark the keypoint at ``p``
        absent."""
        if self.read_only:
            return False
        kind, i, _, k = self.hit(p)
        labels = list(self.labels)
        if kind == "vertex" and len(labels[i].polygon) > 3:
            points = list(labels[i].polygon)
            del points[k]
            labels[i] = by_hand(labels[i].with_polygon(points))
            return self.commit(labels, select=i)
        if kind == "keypoint":
            kpts = list(labels[i].keypoints)
            kpts[k] = (0.0, 0.0, 0.0)
            labels[i] = by_hand(replace(labels[i], keypoints=tuple(kpts)))
            return self.commit(labels, select=i)
        return False

    def place_keypoint(self, p: Point) -> bool:
        """Poses: the selected label's first absent keypoint placed at ``p``, visible (Shift+click)."""
        i = self.selected
        if i is None or self.read_only:
            return False
        kpts = list(self.labels[i].keypoints)
        missing = next((k for k, (_, _, v) in enumerate(kpts) if not v), None)
        if missing is None:
            return False
        kpts[missing] = (p[0], p[1], 2.0)
        labels = list(self.labels)
        labels[i] = by_hand(replace(labels[i], keypoints=tuple(kpts)))
        return self.commit(labels, select=i)

    # --- keys -----------------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_down, self._space_used = True, False
                self.setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() == Qt.Key.Key_Escape:
            if self.drag is not None and self.drag.kind != "pan":
                self.labels = list(self.drag.before)
            self.drag = None
            self.select(None)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            tapped = self._space_down and not self._space_used and self.drag is None
            self._space_down = False
            self.setCursor(Qt.CursorShape.CrossCursor)
            if tapped:
                self.accept_requested.emit()
            return
        super().keyReleaseEvent(event)

    # --- painting -------------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._qimage is not None:
            painter.save()
            painter.translate(self.offset)
            painter.scale(self.scale, self.scale)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale < 2)
            painter.drawImage(QPointF(0, 0), self._qimage)
            painter.restore()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPixelSize(13)
        painter.setFont(font)
        for i, lab in enumerate(self.labels):
            self._paint_label(painter, lab, i == self.selected)
        if self.selected is not None and self.selected < len(self.labels):
            self._paint_handles(painter, self.labels[self.selected])
        drag = self.drag
        if drag is not None and drag.kind == "draw" and self.pointer is not None:
            painter.setPen(QPen(class_color(self.current_class), 1.5, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self.to_widget(*drag.start_image), self.pointer).normalized())
        if self.banner:
            self._paint_tag(painter, QPointF(10, 10), self.banner, QColor(0, 0, 0, 190), big=True)
        if self.note:
            self._paint_note(painter, self.note)
        painter.end()

    def _poly(self, points: tuple[tuple[float, float], ...]) -> QPolygonF:
        return QPolygonF([self.to_widget(x, y) for x, y in points])

    def _paint_label(self, painter: QPainter, lab: Label, selected: bool) -> None:
        color = class_color(lab.cls)
        fill = QColor(color)
        fill.setAlpha(70 if selected else (35 if self.family in ("segments", "obb") else 0))
        painter.setPen(QPen(color, 3 if selected else 2))
        painter.setBrush(QBrush(fill) if fill.alpha() else Qt.BrushStyle.NoBrush)
        painter.drawPolygon(self._poly(outline(lab, self.family)))
        if self.family == "segments" and len(lab.polygon) >= 3 and not selected:
            painter.setBrush(QBrush(color))
            painter.setPen(Qt.PenStyle.NoPen)
            for x, y in lab.polygon:
                painter.drawEllipse(self.to_widget(x, y), 2.0, 2.0)
        if self.family == "pose":
            self._paint_keypoints(painter, lab, color)
        x1, y1 = min(x for x, _ in outline(lab, self.family)), min(y for _, y in outline(lab, self.family))
        corner = self.to_widget(x1, y1)
        text = class_name(self.names, lab.cls)
        height = painter.fontMetrics().height() + 2
        at = QPointF(corner.x(), corner.y() - height if corner.y() >= height else corner.y())
        self._paint_tag(painter, at, text, color)

    def _paint_keypoints(self, painter: QPainter, lab: Label, color: QColor) -> None:
        points = [(self.to_widget(x, y), v) for x, y, v in lab.keypoints]
        painter.setPen(QPen(color, 2))
        for a, b in skeleton(len(points)):
            if points[a][1] and points[b][1]:
                painter.drawLine(points[a][0], points[b][0])
        for point, v in points:
            if not v:
                continue
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(QBrush(color) if v >= 2 else QBrush(QColor(255, 255, 255)))
            painter.drawEllipse(point, 4.0, 4.0)

    def _paint_handles(self, painter: QPainter, lab: Label) -> None:
        color = class_color(lab.cls)
        painter.setPen(QPen(color.darker(160), 1))
        painter.setBrush(QBrush(QColor(255, 255, 255)))
        if self.family == "segments" and len(lab.polygon) >= 3:
            points = lab.polygon
        elif self.family == "obb" and len(lab.polygon) == 4:
            points = lab.polygon
            mid = self.to_widget(
                (lab.polygon[0][0] + lab.polygon[1][0]) / 2, (lab.polygon[0][1] + lab.polygon[1][1]) / 2
            )
            handle = self.to_widget(*obb_rotate_handle(lab.polygon, ROTATE_PX / self.scale))
            painter.drawLine(mid, handle)
            painter.drawEllipse(handle, 5.0, 5.0)
        else:
            x1, y1, x2, y2 = lab.box
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            points = ((x1, y1), (cx, y1), (x2, y1), (x2, cy), (x2, y2), (cx, y2), (x1, y2), (x1, cy))
        for x, y in points:
            c = self.to_widget(x, y)
            painter.drawRect(QRectF(c.x() - 3.5, c.y() - 3.5, 7, 7))

    def _paint_tag(self, painter: QPainter, at: QPointF, text: str, color: QColor, big: bool = False) -> None:
        if big:
            font = QFont(painter.font())
            font.setPixelSize(18)
            painter.save()
            painter.setFont(font)
        metrics = painter.fontMetrics()
        box = QRectF(at.x(), at.y(), metrics.horizontalAdvance(text) + 8, metrics.height() + 2)
        box.moveLeft(max(0.0, min(box.left(), self.width() - box.width())))
        painter.fillRect(box, QBrush(color))
        painter.setPen(QPen(contrast(color) if color.alpha() == 255 else QColor(255, 255, 255)))
        painter.drawText(box.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)
        if big:
            painter.restore()

    def _paint_note(self, painter: QPainter, text: str) -> None:
        metrics = painter.fontMetrics()
        width = min(self.width() - 20, metrics.horizontalAdvance(text) + 20)
        box = QRectF((self.width() - width) / 2, self.height() - metrics.height() - 24, width, metrics.height() + 10)
        painter.fillRect(box, QBrush(QColor(0, 0, 0, 200)))
        painter.setPen(QPen(QColor(255, 200, 80)))
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, int(width - 16))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, elided)


def _near(a: Point, b: Point, tol: float) -> bool:
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol
