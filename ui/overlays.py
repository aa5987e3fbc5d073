"""Detection overlays drawn by the view from ``Detections``: boxes, labels, masks, polygons, track ids."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QPolygonF

from vidcv.detections import Detections

PALETTE = [(255, 56, 56), (255, 157, 151), (255, 112, 31), (255, 178, 29), (207, 210, 49), (72, 249, 10),
           (146, 204, 23), (61, 219, 134), (26, 147, 52), (0, 212, 187), (44, 153, 168), (0, 194, 255),
           (52, 69, 147), (100, 115, 255), (0, 24, 236), (132, 56, 255), (82, 0, 133), (203, 56, 255)]


def class_color(key: int) -> QColor:
    r, g, b = PALETTE[int(key) % len(PALETTE)]
    return QColor(r, g, b)


def label_text(dets: Detections, i: int) -> str:
    text = dets.class_name(dets.class_id[i])
    if dets.tracker_id is not None and dets.tracker_id[i] >= 0:
        text = f"#{int(dets.tracker_id[i])} {text}"
    return f"{text} {float(dets.confidence[i]):.2f}"


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
        key = dets.tracker_id[i] if dets.tracker_id is not None and dets.tracker_id[i] >= 0 else dets.class_id[i]
        color = class_color(key)
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
