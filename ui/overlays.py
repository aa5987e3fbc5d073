"""Detection overlays drawn by the view from ``Detections``: boxes, labels, masks, polygons, track ids."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QPolygonF

from vidcv.detections import TRAIL, Detections
from vidcv.drawing import color_key, color_rgb, label_text


def class_color(key: int) -> QColor:
    return QColor(*color_rgb(key))


def draw_detections(painter: QPainter, dets: Detections, scale: float) -> None:
    """Draw ``dets`` in image coordinates (the painter maps image pixels to the widget)."""
    if len(dets) == 0:
        return
    pen_width = max(1.0, 2.0 / scale)
    font = QFont()
    font.setPixelSize(max(8, int(13 / scale)))
    painter.setFont(font)
    if dets.masks is not None:
        for i, mask in enumerate(dets.masks):
            color = class_color(dets.class_id[i])
            rgba = np.zeros((*mask.shape, 4), np.uint8)
            rgba[mask] = (color.red(), color.green(), color.blue(), 90)
            image = QImage(rgba.data, mask.shape[1], mask.shape[0], mask.shape[1] * 4, QImage.Format.Format_RGBA8888)
            painter.drawImage(QPointF(0, 0), image)
    for i in range(len(dets)):
        color = class_color(color_key(dets, i, by_track=True))
        x1, y1, x2, y2 = (float(v) for v in dets.xyxy[i])
        painter.setPen(QPen(color, pen_width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if dets.polygons is not None and len(dets.polygons[i]) >= 3:
            painter.drawPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in dets.polygons[i]]))
        painter.drawRect(QRectF(x1, y1, x2 - x1, y2 - y1))
        text = label_text(dets, i)
        metrics = painter.fontMetrics()
        box = QRectF(x1, max(0.0, y1 - metrics.height()), metrics.horizontalAdvance(text) + 4, metrics.height())
        painter.fillRect(box, QBrush(color))
        painter.setPen(QPen(QColor(0, 0, 0)))
        painter.drawText(box.adjusted(2, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)


def draw_trails(painter: QPainter, dets: Detections, scale: float) -> None:
    """Each track's recent centres (the ``trail`` data a tracker attaches), in the painter's image pixels."""
    if TRAIL.name not in dets.data:
        return
    for i, trail in enumerate(dets.data[TRAIL.name]):
        if len(trail) < 2:
            continue
        painter.setPen(QPen(class_color(color_key(dets, i, by_track=True)), max(1.0, 2.0 / scale)))
        painter.drawPolyline(QPolygonF([QPointF(float(x), float(y)) for x, y in trail]))
