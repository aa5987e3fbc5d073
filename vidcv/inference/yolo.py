"""YOLO detection and segmentation models exported to ONNX by ultralytics, run on ONNX Runtime.

Pre- and post-processing follow ultralytics' own predict step for step (letterbox with grey 114 padding,
RGB in 0..1, best class per box above ``conf``, class-aware NMS, boxes scaled back to the source image,
masks from prototypes cropped to their boxes), so that the boxes match ultralytics' predictions.
"""

from __future__ import annotations

import ast
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from vidcv.detections import Detections
from vidcv.inference.providers import InferenceError, create_session

log = logging.getLogger(__name__)

TASKS = ("detect", "segment")
MAX_WH = 7680  # class offset for class-aware NMS, as in ultralytics
MAX_NMS = 30000
PAD_VALUE = 114


def parse_meta(value: str) -> Any:
    """A metadata value written by ultralytics (a Python or JSON literal), never evaluated as code."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        try:
            return json.loads(value)
        except ValueError:
            return value


@dataclass
class ModelInfo:
    """What a model says about itself and what vidcv found in its graph."""

    path: str
    task: str
    names: dict[int, str]
    imgsz: tuple[int, int]           # (height, width) of the network input
    stride: int
    input_name: str
    input_dtype: np.dtype
    outputs: list[str]
    mask_dim: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "task": self.task, "classes": self.names, "imgsz": list(self.imgsz),
                "stride": self.stride, "input_dtype": str(self.input_dtype), "mask_dim": self.mask_dim}


def inspect(session: Any, path: str) -> ModelInfo:
    """Read metadata and check the input/output layout; errors say what was found and what was expected."""
    meta = {k: parse_meta(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}
    inputs, outputs = session.get_inputs(), session.get_outputs()
    found = (f"inputs {[(i.name, i.shape) for i in inputs]}, outputs {[(o.name, o.shape) for o in outputs]}")
    if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].shape[1] not in (3, "3"):
        raise InferenceError(f"{path} does not look like a YOLO model: expected one image input of shape "
                             f"[1, 3, H, W]; found {found}")
    task = str(meta.get("task") or ("segment" if len(outputs) == 2 else "detect"))
    if task not in TASKS:
        raise InferenceError(f"{path} is a '{task}' model; vidcv runs {' and '.join(TASKS)} models")
    expected_outputs = 2 if task == "segment" else 1
    if len(outputs) != expected_outputs or len(outputs[0].shape) != 3:
        raise InferenceError(f"{path}: a {task} model needs {expected_outputs} output(s), the first of shape "
                             f"[1, 4 + classes{' + 32' if task == 'segment' else ''}, anchors]; found {found} "
                             "(export with ultralytics: yolo export model=... format=onnx)")
    shape = inputs[0].shape
    imgsz_meta = meta.get("imgsz")
    if isinstance(shape[2], int) and isinstance(shape[3], int):
        imgsz = (shape[2], shape[3])
    elif isinstance(imgsz_meta, (list, tuple)) and len(imgsz_meta) == 2:
        imgsz = (int(imgsz_meta[0]), int(imgsz_meta[1]))
    else:
        imgsz = (640, 640)
    channels = outputs[0].shape[1]
    mask_dim = int(outputs[1].shape[1]) if task == "segment" else 0
    names = meta.get("names")
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    if not isinstance(names, dict):
        if not isinstance(channels, int):
            raise InferenceError(f"{path} has neither class names in its metadata nor a fixed output size")
        names = {i: f"class{i}" for i in range(channels - 4 - mask_dim)}
    names = {int(k): str(v) for k, v in names.items()}
    if isinstance(channels, int) and channels != 4 + len(names) + mask_dim:
        raise InferenceError(f"{path}: its output has {channels} channels but 4 box values + {len(names)} classes"
                             f"{f' + {mask_dim} mask coefficients' if mask_dim else ''} make "
                             f"{4 + len(names) + mask_dim}; the metadata and the graph disagree")
    dtype = np.float16 if "float16" in inputs[0].type else np.float32
    return ModelInfo(path, task, names, imgsz, int(meta.get("stride", 32) or 32), inputs[0].name, np.dtype(dtype),
                     [o.name for o in outputs], mask_dim, meta)


@dataclass
class Letterbox:
    """How a source image was fitted into the network input (to map results back)."""

    source_hw: tuple[int, int]
    input_hw: tuple[int, int]
    new_wh: tuple[int, int]
    left: int
    top: int


def letterbox(image: np.ndarray, input_hw: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio and pad with grey 114 to ``input_hw`` (ultralytics' LetterBox)."""
    h, w = image.shape[:2]
    r = min(input_hw[0] / h, input_hw[1] / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (input_hw[1] - new_w) / 2, (input_hw[0] - new_h) / 2
    if (w, h) != (new_w, new_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    padded = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return padded, Letterbox((h, w), input_hw, (new_w, new_h), left, top)


def to_blob(padded_bgr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """HWC BGR uint8 -> 1x3xHxW RGB in 0..1."""
    rgb = padded_bgr[:, :, ::-1].transpose(2, 0, 1)
    blob = np.ascontiguousarray(rgb, dtype=np.float32)[None] / np.float32(255.0)
    return blob.astype(dtype, copy=False)


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


def scale_boxes(boxes: np.ndarray, lb: Letterbox) -> np.ndarray:
    """Network-input xyxy -> source-image xyxy, clipped (ultralytics' scale_boxes)."""
    h, w = lb.source_hw
    gain_x, gain_y = lb.new_wh[0] / w, lb.new_wh[1] / h
    pad_x = round((lb.input_hw[1] - lb.new_wh[0]) / 2 - 0.1)
    pad_y = round((lb.input_hw[0] - lb.new_wh[1]) / 2 - 0.1)
    out = boxes.astype(np.float32).copy()
    out[:, [0, 2]] = (out[:, [0, 2]] - pad_x) / gain_x
    out[:, [1, 3]] = (out[:, [1, 3]] - pad_y) / gain_y
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, w)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, h)
    return out


def decode(output: np.ndarray, nc: int, conf: float, iou: float, classes: list[int] | None,
           max_det: int) -> np.ndarray:
    """Rows (x1, y1, x2, y2, score, class, mask coefficients...) in network-input pixels after NMS."""
    pred = output[0].T.astype(np.float32, copy=False)  # (anchors, 4 + nc + nm)
    scores_all = pred[:, 4:4 + nc]
    best = scores_all.max(axis=1)
    pred, scores_all, best = pred[best > conf], scores_all[best > conf], best[best > conf]
    if not len(pred):
        return np.zeros((0, 6 + pred.shape[1] - 4 - nc), np.float32)
    cls = scores_all.argmax(axis=1).astype(np.float32)
    xy, wh = pred[:, :2], pred[:, 2:4]
    rows = np.concatenate([xy - wh / 2, xy + wh / 2, best[:, None], cls[:, None], pred[:, 4 + nc:]], axis=1)
    if classes is not None:
        rows = rows[np.isin(rows[:, 5].astype(int), classes)]
    if len(rows) > MAX_NMS:
        rows = rows[np.argsort(-rows[:, 4], kind="stable")[:MAX_NMS]]
    keep = nms(rows[:, :4] + rows[:, 5:6] * MAX_WH, rows[:, 4], iou)[:max_det]
    return rows[keep]


def masks_from_protos(protos: np.ndarray, coeffs: np.ndarray, boxes_in: np.ndarray,
                      lb: Letterbox) -> tuple[np.ndarray, np.ndarray]:
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
        inner = up[lb.top:lb.top + lb.new_wh[1], lb.left:lb.left + lb.new_wh[0]].astype(np.float32)
        out[k] = cv2.resize(inner, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5  # as ultralytics' scale_masks
    return out, nonempty


def polygon_of(mask: np.ndarray) -> np.ndarray:
    """The outline of a mask's largest region (empty when the mask is)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return np.zeros((0, 2), np.float32)
    return max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float32)


class YoloModel:
    """An ultralytics YOLO ONNX model on ONNX Runtime: ``model(bgr_image, conf, iou) -> Detections``."""

    def __init__(self, path: str, device: str = "auto", threads: int | None = None, warmup: bool = True) -> None:
        if not os.path.isfile(path):
            raise InferenceError(f"model file not found: {path}")
        if path.lower().endswith((".pt", ".pth")):
            raise InferenceError(f"{path} is a PyTorch checkpoint; vidcv runs ONNX: convert it with "
                                 f"`vidcv model export {path}` (loading a .pt unpickles it, which can run code)")
        self.session, self.session_info = create_session(path, device, threads)
        self.info = inspect(self.session, path)
        self.binding = None
        if self.session_info.provider in ("cuda", "tensorrt"):
            self.binding = self.session.io_binding()
        if warmup:
            self.run(np.zeros((1, 3, *self.info.imgsz), self.info.input_dtype))

    @property
    def provider(self) -> str:
        return self.session_info.provider

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        """Raw outputs for a preprocessed batch (IO binding on GPU providers)."""
        if self.binding is None:
            return self.session.run(self.info.outputs, {self.info.input_name: blob})
        self.binding.bind_cpu_input(self.info.input_name, blob)
        for name in self.info.outputs:
            self.binding.bind_output(name)
        self.session.run_with_iobinding(self.binding)
        return self.binding.copy_outputs_to_cpu()

    def __call__(self, image_bgr: np.ndarray, conf: float = 0.25, iou: float = 0.7, classes: list[int] | None = None,
                 max_det: int = 300, polygons: bool = True) -> Detections:
        padded, lb = letterbox(image_bgr, self.info.imgsz)
        outputs = self.run(to_blob(padded, self.info.input_dtype))
        nc = len(self.info.names)
        rows = decode(outputs[0], nc, conf, iou, classes, max_det)
        masks = polys = None
        if self.info.task == "segment":
            masks, keep = masks_from_protos(outputs[1][0].astype(np.float32), rows[:, 6:], rows[:, :4], lb)
            rows, masks = rows[keep], masks[keep]  # as ultralytics: no mask, no detection
            polys = [polygon_of(m) for m in masks] if polygons else None
        return Detections(scale_boxes(rows[:, :4], lb), rows[:, 4], rows[:, 5].astype(np.int32), self.info.names,
                          masks=masks, polygons=polys)
