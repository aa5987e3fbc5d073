"""The video view: fits the frame keeping its aspect ratio (or 1:1), processed, original or side by side,
with detection overlays, a rubber band that hands a region to plugins that accept one, and a polygon mode
(``start_polygon``) whose clicked vertices, in source pixels, go to a stage that takes a polygon (a zone)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from vidcv.frame import Frame
from vidcv.ui import style
from vidcv.ui.overlays import draw_banner, draw_detections, draw_trails

MODES = ("processed", "original", "side_by_side")
#: what the view says before its first frame
EMPTY_HINT = "No video yet: open a file, a camera, a stream or the test pattern (Source, left), or drop a file here"
#: what the view says while a polygon is drawn
POLYGON_HINT = (
    "Drawing a zone: click its corners · double-click, Enter or a click on the first corner closes it "
    "(3 corners or more) · Backspace takes the last corner back · Esc cancels"
)
POLYGON_COLOR = QColor(255, 220, 0)
#: widget pixels within which a click on the first corner closes the polygon
CLOSE_RADIUS = 8


def to_qimage(image: np.ndarray) -> QImage:
    """Wrap a uint8 gray or BGR array without copying; the caller keeps ``image`` alive while it is shown."""
    if not image.flags["C_CONTIGUOUS"]:
        image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    if image.ndim == 2:
        return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_Grayscale8)
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_BGR888)


def fit_rect(image_wh: tuple[int, int], area: QRect, one_to_one: bool = False) -> QRect:
    """Where the image goes in ``area``: the largest rectangle of its aspect ratio, or 1:1, centred."""
    iw, ih = image_wh
    scale = 1.0 if one_to_one else min(area.width() / iw, area.height() / ih)
    w, h = max(1, int(iw * scale)), max(1, int(ih * scale))
    return QRect(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h)


class VideoView(QWidget):
    """Paints the newest frame. ``region_selected(x, y, w, h)`` in source pixels after a drag;
    ``polygon_drawn([x1, y1, x2, y2, ...])`` in source pixels when a polygon drawn in polygon mode is closed;
    ``polygon_mode_changed(on)`` when that mode starts or ends (closed or cancelled)."""

    region_selected = Signal(int, int, int, int)
    polygon_drawn = Signal(list)
    polygon_mode_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = "processed"
        self.overlays = True
        self.burnt_in = False  # an annotate stage has drawn the detections into the processed image
        self.one_to_one = False
        self.frame: Frame | None = None
        self._arrays: list[np.ndarray] = []  # keep the buffers of the wrapped QImages alive
        self._images: list[QImage] = []
        self._drag_from: QPoint | None = None
        self._drag_to: QPoint | None = None
        self.polygon: list[tuple[float, float]] | None = None  #: the corners so far (source pixels) while drawing
        self._cursor: QPoint | None = None  # where the mouse is while drawing: the next edge runs to it
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(False)

    # --- content --------------------------------------------------------------------------------------
    def show_frame(self, frame: Frame) -> None:
        self.frame = frame
        self._prepare()
        self.update()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown view mode {mode!r}; known: {', '.join(MODES)}")
        self.mode = mode
        self._prepare()
        self.update()

    def set_overlays(self, on: bool) -> None:
        self.overlays = on
        self.update()

    def set_burnt_in(self, on: bool) -> None:
        """Whether the processed image has the detections drawn into it (an annotate stage): the overlays then
        skip it, so that no label is drawn twice; the original image still gets them."""
        self.burnt_in = on
        self.update()

    def set_one_to_one(self, on: bool) -> None:
        self.one_to_one = on
        self.update()

    def _prepare(self) -> None:
        frame = self.frame
        if frame is None:
            return
        if self.mode == "processed":
            arrays = [frame.image]
        elif self.mode == "original":
            arrays = [frame.source_image]
        else:
            arrays = [frame.source_image, frame.image]
        self._arrays = [a if a.flags["C_CONTIGUOUS"] else np.ascontiguousarray(a) for a in arrays]
        self._images = [to_qimage(a) for a in self._arrays]

    # --- geometry --------------------------------------------------------------------------------------
    def image_rects(self) -> list[QRect]:
        """Where each shown image is drawn (one, or two side by side)."""
        if not self._images:
            return []
        area = self.rect()
        if len(self._images) == 1:
            img = self._images[0]
            return [fit_rect((img.width(), img.height()), area, self.one_to_one)]
        half = area.width() // 2
        return [
            fit_rect(
                (img.width(), img.height()), QRect(area.x() + i * half, area.y(), half, area.height()), self.one_to_one
            )
            for i, img in enumerate(self._images)
        ]

    def to_image(self, point: QPoint) -> tuple[float, float] | None:
        """Widget point -> source-image pixel, through the first image drawn (None when outside)."""
        rects = self.image_rects()
        if not rects or self.frame is None:
            return None
        for rect, img in zip(rects, self._images):
            if rect.contains(point):
                sx, sy = img.width() / rect.width(), img.height() / rect.height()
                return (point.x() - rect.x()) * sx, (point.y() - rect.y()) * sy
        return None

    def _shown(self) -> list[tuple[QRect, QImage, np.ndarray]]:
        return list(zip(self.image_rects(), self._images, self._arrays))

    def _image_to_source(self, array: np.ndarray) -> np.ndarray:
        """The 3x3 matrix from the pixels of a shown image to source pixels."""
        frame = self.frame
        if frame is None or array is frame.source_image or frame.to_source is None:
            return np.eye(3)
        return np.asarray(frame.to_source, np.float64)

    def to_source(self, point: QPoint | QPointF) -> tuple[float, float] | None:
        """Widget point -> source pixel, through whichever shown image holds it (a processed image that a
        geometry stage resized or cropped is mapped back with the frame's ``to_source``); None outside."""
        p = QPointF(point)
        for rect, img, array in self._shown():
            if QRectF(rect).contains(p):
                x = (p.x() - rect.x()) * img.width() / rect.width()
                y = (p.y() - rect.y()) * img.height() / rect.height()
                sx, sy, sw = self._image_to_source(array) @ (x, y, 1.0)
                return sx / sw, sy / sw
        return None

    def from_source(self, x: float, y: float) -> list[QPointF]:
        """Source pixel -> widget point on each shown image (one, or two side by side)."""
        out = []
        for rect, img, array in self._shown():
            ix, iy, iw = np.linalg.inv(self._image_to_source(array)) @ (x, y, 1.0)
            out.append(
                QPointF(
                    rect.x() + ix / iw * rect.width() / img.width(), rect.y() + iy / iw * rect.height() / img.height()
                )
            )
        return out

    # --- painting --------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), style.VIDEO_BACKGROUND)
        if self.frame is None:
            painter.setPen(style.VIDEO_HINT)
            painter.drawText(
                self.rect().adjusted(24, 24, -24, -24),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                EMPTY_HINT,
            )
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not self.one_to_one)
        for rect, img, array in zip(self.image_rects(), self._images, self._arrays):
            painter.drawImage(rect, img)
            frame = self.frame
            if frame is None or (self.burnt_in and array is not frame.source_image):
                continue
            if self.overlays and (len(frame.detections) or frame.classification is not None):
                painter.save()
                painter.translate(rect.topLeft())
                scale = rect.width() / img.width()
                painter.scale(scale, rect.height() / img.height())
                painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                # detections are in source pixels: onto a processed (resized, cropped...) image they are mapped
                dets = frame.detections if array is frame.source_image else frame.detections_to_image(frame.detections)
                draw_detections(painter, dets, scale)
                draw_trails(painter, dets, scale)
                if frame.classification is not None:
                    draw_banner(painter, frame.classification, scale)
                painter.restore()
        if self._drag_from is not None and self._drag_to is not None:
            painter.setPen(QPen(QColor(255, 220, 0), 1, Qt.PenStyle.DashLine))
            painter.drawRect(QRect(self._drag_from, self._drag_to).normalized())
        if self.polygon is not None:
            self._paint_polygon(painter)
        painter.end()

    def _paint_polygon(self, painter: QPainter) -> None:
        """The polygon being drawn: its edges, a handle on each corner (the first one larger: a click there
        closes it), a dashed edge to the mouse, and what the keys do."""
        assert self.polygon is not None
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        views = [self.from_source(x, y) for x, y in self.polygon]  # per corner: its point on each shown image
        for i in range(len(self._shown())):
            points = [v[i] for v in views]
            painter.setPen(QPen(POLYGON_COLOR, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            if len(points) > 1:
                painter.drawPolyline(QPolygonF(points))
            if points and self._cursor is not None:
                painter.setPen(QPen(POLYGON_COLOR, 1, Qt.PenStyle.DashLine))
                painter.drawLine(points[-1], QPointF(self._cursor))
                if len(points) >= 3:
                    painter.drawLine(QPointF(self._cursor), points[0])
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(POLYGON_COLOR)
            for j, p in enumerate(points):
                r = 5.0 if j == 0 else 3.5
                painter.drawRect(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r))
        font = painter.font()
        font.setPixelSize(13)
        painter.setFont(font)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap
        text = painter.fontMetrics().boundingRect(QRect(0, 0, self.width() - 16, 1000), flags, POLYGON_HINT)
        band = QRect(0, 0, self.width(), text.height() + 10)
        painter.fillRect(band, QColor(20, 20, 20, 200))
        painter.setPen(POLYGON_COLOR)
        painter.drawText(band.adjusted(8, 0, -8, 0), flags, POLYGON_HINT)

    # --- polygon mode ---------------------------------------------------------------------------------
    @property
    def drawing_polygon(self) -> bool:
        return self.polygon is not None

    def start_polygon(self) -> bool:
        """Enter polygon mode: each click on the video adds a corner (False while there is no frame to click)."""
        if self.frame is None:
            return False
        self._drag_from = self._drag_to = None
        self.polygon = []
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocus()
        self.update()
        self.polygon_mode_changed.emit(True)
        return True

    def _end_polygon(self) -> None:
        self.polygon, self._cursor = None, None
        self.setMouseTracking(False)
        self.unsetCursor()
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.update()

    def cancel_polygon(self) -> None:
        """Leave polygon mode without a polygon (Esc)."""
        if self.polygon is not None:
            self._end_polygon()
            self.polygon_mode_changed.emit(False)

    def add_polygon_point(self, point: QPoint | QPointF) -> bool:
        """Add the corner under the widget point ``point``; a click on the first corner (with three or more)
        closes the polygon instead. False when the point is off the video."""
        if self.polygon is None:
            return False
        if len(self.polygon) >= 3 and self._near_first(point):
            self.finish_polygon()
            return True
        at = self.to_source(point)
        if at is None:
            return False
        self.polygon.append(at)
        self.update()
        return True

    def _near_first(self, point: QPoint | QPointF) -> bool:
        assert self.polygon
        p = QPointF(point)
        return any(
            abs(q.x() - p.x()) <= CLOSE_RADIUS and abs(q.y() - p.y()) <= CLOSE_RADIUS
            for q in self.from_source(*self.polygon[0])
        )

    def remove_polygon_point(self) -> None:
        """Take the last corner back (Backspace)."""
        if self.polygon:
            self.polygon.pop()
            self.update()

    def finish_polygon(self) -> bool:
        """Close the polygon (three corners or more) and emit it in source pixels; False with fewer."""
        if self.polygon is None or len(self.polygon) < 3:
            return False
        flat = [int(round(v)) for point in self.polygon for v in point]
        self._end_polygon()
        self.polygon_drawn.emit(flat)  # before the mode's end: a listener tells a closed polygon from Esc
        self.polygon_mode_changed.emit(False)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.polygon is None:
            super().keyPressEvent(event)
            return
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.cancel_polygon()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish_polygon()
        elif key == Qt.Key.Key_Backspace:
            self.remove_polygon_point()
        else:
            super().keyPressEvent(event)

    # --- region selection ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.polygon is not None:
            if event.button() == Qt.MouseButton.LeftButton:
                self.add_polygon_point(event.position())
            return
        if event.button() == Qt.MouseButton.LeftButton and self.to_image(event.position().toPoint()):
            self._drag_from = self._drag_to = event.position().toPoint()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """In polygon mode a double click closes the polygon (its first click added the last corner)."""
        if self.polygon is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseDoubleClickEvent(event)
            return
        self.finish_polygon()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.polygon is not None:
            self._cursor = event.position().toPoint()
            self.update()
            return
        if self._drag_from is not None:
            self._drag_to = event.position().toPoint()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is None:
            return
        start, end = self._drag_from, event.position().toPoint()
        self._drag_from = self._drag_to = None
        self.update()
        self.select_region(start, end)

    def select_region(self, start: QPoint, end: QPoint) -> None:
        """Emit the region between two widget points, in source pixels (ignored when tiny or outside)."""
        a, b = self.to_image(start), self.to_image(end)
        if a is None or b is None:
            return
        x1, x2 = sorted((a[0], b[0]))
        y1, y2 = sorted((a[1], b[1]))
        if x2 - x1 >= 4 and y2 - y1 >= 4:
            self.region_selected.emit(int(x1), int(y1), int(round(x2 - x1)), int(round(y2 - y1)))
