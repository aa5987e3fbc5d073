"""Post-processing of a YOLO model's outputs, as ultralytics' predict step: a raw head's candidates decoded (best
class per box above ``conf``, class-aware NMS, the probabilistic-IoU NMS of oriented boxes), the rows of an
end-to-end or NMS-exported head selected, RT-DETR's queries and a classifier's probabilities read, masks from
prototypes cropped to their boxes, and boxes, points and masks mapped back to the source image through the
letterbox.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.detections import Classification, Detections
from vidcv.inference.preprocess import Letterbox
from vidcv.inference.rotated import fast_nms

MAX_WH = 7680  # class offset for class-aware NMS, as in ultralytics
MAX_NMS = 30000
TOP_K = 5  # classes a classifier reports


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression: indices kept, best score first (torchvision.ops.nms semantics)."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        overlap = inter / (areas[i] + areas[rest] - inter + 1e-12)
        order = rest[overlap <= iou]
    return np.asarray(keep, np.int64)


def decode(
    output: np.ndarray, nc: int, conf: float, iou: float, classes: list[int] | None, max_det: int, rotated: bool = False
) -> np.ndarray:
    """A raw head's candidates to rows (x1, y1, x2, y2, score, class, extras...) in network-input pixels
    after class-aware NMS; ``rotated`` (OBB): rows (cx, cy, w, h, score, class, angle) after the
    probabilistic-IoU NMS, as ultralytics' non_max_suppression."""
    pred: np.ndarray = output[0].T.astype(np.float32, copy=False)  # (anchors, 4 + nc + extras)
    scores_all = pred[:, 4 : 4 + nc]
    best = scores_all.max(axis=1)
    pred, scores_all, best = pred[best > conf], scores_all[best > conf], best[best > conf]
    if not len(pred):
        return np.zeros((0, 6 + pred.shape[1] - 4 - nc), np.float32)
    cls = scores_all.argmax(axis=1).astype(np.float32)
    xy, wh = pred[:, :2], pred[:, 2:4]
    box = np.concatenate([xy, wh], axis=1) if rotated else np.concatenate([xy - wh / 2, xy + wh / 2], axis=1)
    rows = np.concatenate([box, best[:, None], cls[:, None], pred[:, 4 + nc :]], axis=1)
    if classes is not None:
        rows = rows[np.isin(rows[:, 5].astype(int), classes)]
    if len(rows) > MAX_NMS:
        rows = rows[np.argsort(-rows[:, 4], kind="stable")[:MAX_NMS]]
    offset = rows[:, 5:6] * MAX_WH
    if rotated:
        boxes = np.concatenate([rows[:, :2] + offset, rows[:, 2:4], rows[:, -1:]], axis=1)
        keep = fast_nms(boxes, rows[:, 4], iou)[:max_det]
    else:
        keep = nms(rows[:, :4] + offset, rows[:, 4], iou)[:max_det]
    kept: np.ndarray = rows[keep]
    return kept


def select_rows(output: np.ndarray, conf: float, classes: list[int] | None, max_det: int) -> np.ndarray:
    """Rows of an end-to-end or NMS-exported output above ``conf`` (and of ``classes``), in their order, at
    most ``max_det``: ultralytics' end-to-end branch."""
    rows: np.ndarray = output[0].astype(np.float32, copy=False)
    keep = rows[:, 4] > conf
    if classes is not None:
        keep &= np.isin(rows[:, 5].astype(int), classes)
    return rows[keep][:max_det]


def rtdetr_rows(output: np.ndarray, nc: int) -> np.ndarray:
    """An RT-DETR output as rows (cx, cy, w, h, score, class), normalised, of shape (1, queries, 6).

    ultralytics' decoder gives those rows, best first (a top-k over every query and class). Exports made before
    that top-k give (cx, cy, w, h, a score per class) per query; their predictor kept each query's best class, in
    query order, and so does this. With two classes both layouts have 6 values a row: the top-k's class column
    holds whole numbers, which a sigmoid score never does in every row.
    """
    rows: np.ndarray = output[0].astype(np.float32, copy=False)
    if rows.shape[1] == 6 and (nc != 2 or np.array_equal(rows[:, 5], np.round(rows[:, 5]))):
        return rows[None]
    scores = rows[:, 4 : 4 + nc]
    best = scores.argmax(axis=1)
    return np.concatenate(
        [rows[:, :4], scores[np.arange(len(rows)), best][:, None], best[:, None].astype(np.float32)], axis=1
    )[None]


def rtdetr_detections(
    output: np.ndarray,
    names: dict[int, str],
    source_hw: tuple[int, int],
    conf: float,
    classes: list[int] | None,
    max_det: int,
) -> Detections:
    """RT-DETR's rows: no NMS, boxes scaled by the source size (its predictor stretches the image)."""
    h, w = source_hw
    rows = select_rows(rtdetr_rows(output, len(names)), conf, classes, max_det)
    xy, wh = rows[:, :2], rows[:, 2:4]
    xyxy = np.concatenate([xy - wh / 2, xy + wh / 2], axis=1) * np.array([w, h, w, h], np.float32)
    return Detections(xyxy, rows[:, 4], rows[:, 5].astype(np.int32), names)


def classification(probs: np.ndarray, names: dict[int, str], classes: list[int] | None) -> Classification:
    """The top classes of a classifier (probabilities as the model gives them), best first."""
    order = np.argsort(-probs, kind="stable")
    if classes is not None:
        order = order[np.isin(order, classes)]
    top = order[:TOP_K]
    return Classification(top, probs[top], names)


def masks_from_protos(
    protos: np.ndarray, coeffs: np.ndarray, boxes_in: np.ndarray, lb: Letterbox
) -> tuple[np.ndarray, np.ndarray]:
    """Binary masks in source pixels, and whether each had any pixel at network resolution.

    Prototypes x coefficients, upsampled to the network input (bilinear), thresholded at 0 and cropped to
    their boxes, as ultralytics does; then the padding is removed and the mask resized to the source.
    """
    n = len(coeffs)
    h, w = lb.source_hw
    if n == 0:
        return np.zeros((0, h, w), bool), np.zeros(0, bool)
    c, mh, mw = protos.shape
    logits = (coeffs @ protos.reshape(c, -1)).reshape(n, mh, mw)
    ih, iw = lb.input_hw
    out = np.zeros((n, h, w), bool)
    nonempty = np.zeros(n, bool)
    cols, rows = np.arange(iw)[None, :], np.arange(ih)[:, None]
    for k in range(n):
        up = cv2.resize(logits[k], (iw, ih), interpolation=cv2.INTER_LINEAR) > 0
        x1, y1, x2, y2 = boxes_in[k]
        up &= (cols >= x1) & (cols < x2) & (rows >= y1) & (rows < y2)
        nonempty[k] = up.any()
        inner = up[lb.top : lb.top + lb.new_wh[1], lb.left : lb.left + lb.new_wh[0]].astype(np.float32)
        out[k] = cv2.resize(inner, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5  # as ultralytics' scale_masks
    return out, nonempty


def polygon_of(mask: np.ndarray) -> np.ndarray:
    """The outline of a mask's largest region (empty when the mask is)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return np.zeros((0, 2), np.float32)
    return max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float32)


def scale_boxes(boxes: np.ndarray, lb: Letterbox) -> np.ndarray:
    """Network-input xyxy -> source-image xyxy, clipped (ultralytics' scale_boxes): its two corners as points."""
    return scale_points(np.asarray(boxes).reshape(-1, 2, 2), lb).reshape(-1, 4)


def scale_xywh(boxes: np.ndarray, lb: Letterbox) -> np.ndarray:
    """Network-input centre/size boxes to source pixels (ultralytics' scale_boxes with xywh=True: not
    clipped)."""
    h, w = lb.source_hw
    gain_x, gain_y = lb.new_wh[0] / w, lb.new_wh[1] / h
    out: np.ndarray = boxes.astype(np.float32).copy()
    out[:, 0] = (out[:, 0] - lb.left) / gain_x
    out[:, 1] = (out[:, 1] - lb.top) / gain_y
    out[:, 2] /= gain_x
    out[:, 3] /= gain_y
    return out


def scale_points(points: np.ndarray, lb: Letterbox) -> np.ndarray:
    """(..., 2+) network-input x, y to source pixels, clipped (ultralytics' scale_coords)."""
    h, w = lb.source_hw
    out: np.ndarray = points.astype(np.float32).copy()
    out[..., 0] = ((out[..., 0] - lb.left) / (lb.new_wh[0] / w)).clip(0, w)
    out[..., 1] = ((out[..., 1] - lb.top) / (lb.new_wh[1] / h)).clip(0, h)
    return out
