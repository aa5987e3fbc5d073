"""Detection overlays drawn by the view from ``Detections``: boxes (oriented ones too), labels, masks,
polygons, keypoints, track ids and trails, and a classifier's banner."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QPolygonF

from vidcv.detections import KEYPOINTS, OBB, TRAIL, Classification, Detections
from vidcv.drawing import KEYPOINT_MIN_CONF, banner_lines, color_key, color_rgb, label_text, skeleton
from vidcv.frame import xywhr_corners


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
        if OBB.name in dets.data:  # an oriented box instead of its axis-aligned bounds
            corners = xywhr_corners(dets.data[OBB.name][i][None])[0]
            painter.drawPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in corners]))
        else:
            painter.drawRect(QRectF(x1, y1, x2 - x1, y2 - y1))
        if KEYPOINTS.name in dets.data:
            draw_keypoints(painter, dets.data[KEYPOINTS.name][i], color, pen_width)
        text = label_text(dets, i)
        metrics = painter.fontMetrics()
        box = QRectF(x1, max(0.0, y1 - metrics.height()), metrics.horizontalAdvance(text) + 4, metrics.height())
        painter.fillRect(box, QBrush(color))
        painter.setPen(QPen(QColor(0, 0, 0)))
        painter.drawText(box.adjusted(2, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)


def draw_keypoints(painter: QPainter, keypoints: np.ndarray, color: QColor, pen_width: float) -> None:
    """The keypoints sure enough to show, joined by COCO's skeleton when there are 17 (as annotate draws)."""
    sure = keypoints[:, 2] >= KEYPOINT_MIN_CONF
    points = [QPointF(float(x), float(y)) for x, y in keypoints[:, :2]]
    painter.setPen(QPen(color, pen_width))
    for a, b in skeleton(len(keypoints)):
        if sure[a] and sure[b]:
            painter.drawLine(points[a], points[b])
    painter.setBrush(QBrush(color))
    for point, ok in zip(points, sure):
        if ok:
            painter.drawEllipse(point, 2.5 * pen_width, 2.5 * pen_width)
    painter.setBrush(Qt.BrushStyle.NoBrush)


def draw_banner(painter: QPainter, classification: Classification, scale: float) -> None:
    """A classifier's top classes, top left of the image."""
    font = QFont()
    font.setPixelSize(max(10, int(16 / scale)))
    painter.setFont(font)
    height = painter.fontMetrics().height()
    for row, text in enumerate(banner_lines(classification)):
        box = QRectF(4 / scale, (4 / scale) + row * height, painter.fontMetrics().horizontalAdvance(text) + 6, height)
        painter.fillRect(box, QBrush(QColor(0, 0, 0, 160)))
        painter.setPen(QPen(QColor(255, 255, 255)))
        painter.drawText(box.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)


def draw_trails(painter: QPainter, dets: Detections, scale: float) -> None:
    """Each track's recent centres (the ``trail`` data a tracker attaches), in the painter's image pixels."""
    if TRAIL.name not in dets.data:
        return
    for i, trail in enumerate(dets.data[TRAIL.name]):
        if len(trail) < 2:
            continue
        painter.setPen(QPen(class_color(color_key(dets, i, by_track=True)), max(1.0, 2.0 / scale)))
        painter.drawPolyline(QPolygonF([QPointF(float(x), float(y)) for x, y in trail]))
