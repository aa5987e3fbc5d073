"""Oriented boxes as ultralytics computes them: probabilistic IoU and its fast NMS, in NumPy."""

from __future__ import annotations

import numpy as np


def _covariance(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian covariance terms (a, b, c) of rotated boxes ``cx, cy, w, h, angle`` (ultralytics' metrics)."""
    a, b = boxes[:, 2] ** 2 / 12, boxes[:, 3] ** 2 / 12
    cos, sin = np.cos(boxes[:, 4]), np.sin(boxes[:, 4])
    return a * cos**2 + b * sin**2, a * sin**2 + b * cos**2, (a - b) * cos * sin


def probiou(obb1: np.ndarray, obb2: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """(N, M) probabilistic IoU of rotated boxes (ultralytics' batch_probiou, arXiv 2106.06072)."""
    obb1, obb2 = np.asarray(obb1, np.float32), np.asarray(obb2, np.float32)
    x1, y1 = obb1[:, 0:1], obb1[:, 1:2]
    x2, y2 = obb2[None, :, 0], obb2[None, :, 1]
    a1, b1, c1 = (v[:, None] for v in _covariance(obb1))
    a2, b2, c2 = (v[None] for v in _covariance(obb2))
    det = (a1 + a2) * (b1 + b2) - (c1 + c2) ** 2
    t1 = ((a1 + a2) * (y1 - y2) ** 2 + (b1 + b2) * (x1 - x2) ** 2) / (det + eps) * 0.25
    t2 = ((c1 + c2) * (x2 - x1) * (y1 - y2)) / (det + eps) * 0.5
    inner = np.clip(a1 * b1 - c1**2, 0, None) * np.clip(a2 * b2 - c2**2, 0, None)
    t3 = np.log(det / (4 * np.sqrt(inner) + eps) + eps) * 0.5
    bd = np.clip(t1 + t2 + t3, eps, 100.0)
    iou: np.ndarray = 1 - np.sqrt(1.0 - np.exp(-bd) + eps)
    return iou


def fast_nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept, best score first: a box goes when any better box overlaps it more than ``iou``, even
    one that is itself suppressed (ultralytics' TorchNMS.fast_nms, as its rotated NMS uses)."""
    if not len(boxes):
        return np.zeros(0, np.int64)
    order = np.argsort(-scores, kind="stable")
    ious = np.triu(probiou(boxes[order], boxes[order]), k=1)
    kept: np.ndarray = order[(ious > iou).sum(0) <= 0]
    return kept
