"""The video view: fits the frame keeping its aspect ratio (or 1:1), processed, original or side by side,
with detection overlays, and a rubber band that hands a region to plugins that accept one."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from vidcv.frame import Frame
from vidcv.ui import style
from vidcv.ui.overlays import draw_banner, draw_detections, draw_trails

MODES = ("processed", "original", "side_by_side")
#: what the view says before its first frame
EMPTY_HINT = "No video yet: open a file, a camera, a stream or the test pattern (Source, left), or drop a file here"


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
    """Paints the newest frame. ``region_selected(x, y, w, h)`` in source pixels after a drag."""

    region_selected = Signal(int, int, int, int)

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
        painter.end()

    # --- region selection ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.to_image(event.position().toPoint()):
            self._drag_from = self._drag_to = event.position().toPoint()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
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
