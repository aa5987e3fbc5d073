"""A widget that shows numpy frames, fitted to the widget with their aspect ratio kept."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


def to_qimage(image: np.ndarray) -> QImage:
    """Wrap a uint8 gray or BGR array without copying; the caller keeps ``image`` alive while it is shown."""
    if not image.flags["C_CONTIGUOUS"]:
        image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    if image.ndim == 2:
        return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_Grayscale8)
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_BGR888)


def fit_rect(image_wh: tuple[int, int], area: QRect) -> QRect:
    """The largest rectangle of the image's aspect ratio centred in ``area``."""
    iw, ih = image_wh
    scale = min(area.width() / iw, area.height() / ih)
    w, h = max(1, int(iw * scale)), max(1, int(ih * scale))
    return QRect(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h)


class VideoView(QWidget):
    """Paints the current frame scaled to fit; black bars elsewhere."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._array: np.ndarray | None = None  # keeps the buffer of _image alive
        self._image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def show_image(self, image: np.ndarray) -> None:
        array = image if image.flags["C_CONTIGUOUS"] else np.ascontiguousarray(image)
        self._array, self._image = array, to_qimage(array)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 20, 20))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(fit_rect((self._image.width(), self._image.height()), self.rect()), self._image)
        painter.end()
