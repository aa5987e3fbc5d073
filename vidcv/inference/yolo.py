"""YOLO models exported to ONNX by ultralytics (detect, segment, pose, obb, classify; raw heads, end-to-end
heads and NMS exported in the graph; fixed or dynamic input, a fixed batch), run on ONNX Runtime.

Pre- and post-processing follow ultralytics' own predict step for step (letterbox with grey 114 padding,
RGB in 0..1, best class per box above ``conf``, class-aware NMS, boxes scaled back to the source image,
masks from prototypes cropped to their boxes), so that the boxes match ultralytics' predictions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast

import cv2
import numpy as np

from vidcv.detections import KEYPOINTS, OBB, Classification, Detections
from vidcv.frame import aabb_of
from vidcv.inference.modelfile import MAX_CLASSES, check_file, check_names, read_file_metadata, read_metadata
from vidcv.inference.providers import InferenceError, create_session
from vidcv.inference.rotated import fast_nms
from vidcv.params import shown

log = logging.getLogger(__name__)

TASKS = ("detect", "segment", "pose", "obb", "classify")
#: raw head (vidcv runs NMS), NMS-free head, NMS inside the graph, RT-DETR's decoder (normalised boxes)
FORMS = ("raw", "end2end", "nms", "rtdetr")
MAX_WH = 7680  # class offset for class-aware NMS, as in ultralytics
MAX_NMS = 30000
PAD_VALUE = 114
TOP_K = 5  # classes a classifier reports


def _bad_meta(path: str, key: str, value: Any, expected: str) -> InferenceError:
    return InferenceError(
        f"{path}: its metadata '{key}' = {shown(value)} is not {expected}; export the model again "
        "with ultralytics (vidcv model export) or correct its metadata"
    )


def _meta_int(meta: dict[str, Any], key: str, path: str, lo: int, hi: int) -> int | None:
    """``meta[key]`` as an integer from ``lo`` to ``hi``; None when absent; InferenceError otherwise."""
    value = meta.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value) < 12:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _bad_meta(path, key, value, f"an integer from {lo} to {hi}")
    return value


def _meta_ints(meta: dict[str, Any], key: str, path: str, lo: int, hi: int) -> tuple[int, int] | None:
    """``meta[key]`` as a pair of integers from ``lo`` to ``hi``; None when absent; InferenceError otherwise."""
    value = meta.get(key)
    if value is None:
        return None
    pair = value if isinstance(value, (list, tuple)) and len(value) == 2 else None
    if pair is None or any(isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi for v in pair):
        raise _bad_meta(path, key, value, f"two integers from {lo} to {hi}")
    return pair[0], pair[1]


def _meta_names(meta: dict[str, Any], path: str) -> dict[int, str] | None:
    """The class names (a dict of ids to names, or a list); None when absent; InferenceError otherwise."""
    names = meta.get("names")
    if names is None:
        return None
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    expected = "a mapping of class ids (0, 1, ...) to names, as ultralytics writes it"
    if not isinstance(names, dict):
        raise _bad_meta(path, "names", names, expected)
    check_names(names, path)  # their count and lengths, before each is converted
    out = {}
    for key, name in names.items():
        if isinstance(key, str) and key.isdigit() and len(key) < 7:
            key = int(key)
        if (
            isinstance(key, bool)
            or not isinstance(key, int)
            or not 0 <= key < MAX_CLASSES
            or isinstance(name, (list, tuple, set, frozenset, dict))
        ):
            raise _bad_meta(path, "names", names, expected)
        out[key] = str(name)
    return out


@dataclass
class ModelInfo:
    """What a model says about itself and what vidcv found in its graph.

    ``form``: ``raw`` (the head's candidates, vidcv runs NMS), ``end2end`` (an NMS-free head: rows of
    boxes, score, class and extras), ``nms`` (NMS exported inside the graph, the same rows) or ``rtdetr``
    (RT-DETR's decoder: rows of normalised centre/size boxes, score and class, for a stretched input; exports
    from before ultralytics' RT-DETR top-k: a score per class after the box).
    ``extra``: values per detection after box, score and class (mask coefficients, K*3 keypoint values,
    the angle). ``batch``: the fixed batch size of the input (1 when dynamic); ``dynamic``: any input
    size (ultralytics then pads to a multiple of the stride, as vidcv does); ``dynamic_batch``: any batch
    size (ultralytics' dynamic exports).
    """

    path: str
    task: str
    names: dict[int, str]
    imgsz: tuple[int, int]  # (height, width) of the network input
    stride: int
    input_name: str
    input_dtype: np.dtype
    outputs: list[str]
    mask_dim: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    form: str = "raw"
    kpt_shape: tuple[int, int] | None = None
    batch: int = 1
    dynamic: bool = False
    dynamic_batch: bool = False

    @property
    def extra(self) -> int:
        if self.task == "segment":
            return self.mask_dim
        if self.task == "pose" and self.kpt_shape:
            return self.kpt_shape[0] * self.kpt_shape[1]
        return 1 if self.task == "obb" else 0

    def to_dict(self) -> dict[str, Any]:
        out = {
            "path": self.path,
            "task": self.task,
            "form": self.form,
            "classes": self.names,
            "imgsz": list(self.imgsz),
            "stride": self.stride,
            "input_dtype": str(self.input_dtype),
            "mask_dim": self.mask_dim,
            "batch": self.batch,
            "dynamic": self.dynamic,
        }
        if self.kpt_shape:
            out["kpt_shape"] = list(self.kpt_shape)
        return out


def _layouts(nc: int) -> str:
    return (
        f"raw heads [1, 4 + {nc} classes (+ 32 mask coefficients, + K*3 keypoint values, + 1 angle), anchors], "
        "end-to-end or NMS-exported rows [1, max_det, 6 + those extras], RT-DETR queries [1, queries, 6] "
        "(or [1, queries, 4 + classes] from older exports), classifier probabilities [1, classes]"
    )


def inspect(session: Any, path: str, meta: dict[str, Any] | None = None) -> ModelInfo:
    """Read metadata (``meta``, parsed from the file, or the session's) and check the input/output layout; errors
    say what was found and what vidcv reads."""
    if meta is None:
        meta = read_metadata(session.get_modelmeta().custom_metadata_map, path)  # bounded; values checked below
    inputs, outputs = session.get_inputs(), session.get_outputs()
    found = f"inputs {[(i.name, i.shape) for i in inputs]}, outputs {[(o.name, o.shape) for o in outputs]}"
    if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].shape[1] not in (3, "3"):
        raise InferenceError(
            f"{path} does not look like a YOLO model: expected one image input of shape "
            f"[batch, 3, height, width]; found {found}"
        )
    out_shape = outputs[0].shape
    task = meta.get("task") or ("classify" if len(out_shape) == 2 else "segment" if len(outputs) == 2 else "detect")
    if task not in TASKS:
        raise InferenceError(f"{path} is a {shown(task)} model; vidcv runs {', '.join(TASKS)} models")
    names = _meta_names(meta, path)
    mask_dim = int(outputs[1].shape[1]) if task == "segment" and len(outputs) == 2 else 0
    kpt_shape = _meta_ints(meta, "kpt_shape", path, 1, 1000) if task == "pose" else None
    meta_args = meta.get("args")
    args = meta_args if isinstance(meta_args, dict) else {}
    shape = inputs[0].shape
    fixed = all(isinstance(d, int) for d in shape[2:])
    if fixed:
        imgsz = (int(shape[2]), int(shape[3]))
    else:
        imgsz = _meta_ints(meta, "imgsz", path, 1, 16384) or (640, 640)
    stride = _meta_int(meta, "stride", path, 1, 4096) or 32
    info = ModelInfo(
        path,
        task,
        {},
        imgsz,
        stride,
        inputs[0].name,
        np.dtype(np.float16 if "float16" in inputs[0].type else np.float32),
        [o.name for o in outputs],
        mask_dim,
        meta,
        "raw",
        kpt_shape,
        shape[0] if isinstance(shape[0], int) else 1,
        not fixed,
        not isinstance(shape[0], int),
    )
    if task == "pose" and kpt_shape is None:
        raise InferenceError(
            f"{path} is a pose model without kpt_shape in its metadata; export it with "
            "ultralytics (yolo export model=... format=onnx)"
        )
    expected = 2 if task == "segment" else 1
    if len(outputs) != expected or len(out_shape) != (2 if task == "classify" else 3):
        raise InferenceError(
            f"{path}: a {task} model has {expected} output(s); found {found}. vidcv reads "
            + _layouts(len(names) if isinstance(names, dict) else 80)
        )
    if task == "classify":
        channels = out_shape[1]
    elif str(meta.get("head", "")).startswith("RTDETR"):
        info.form, channels = "rtdetr", None
        width, nc = out_shape[2], len(names) if isinstance(names, dict) else None
        if isinstance(width, int) and width != 6 and nc is not None and width != 4 + nc:
            raise InferenceError(
                f"{path}: its RT-DETR output rows have {width} values; vidcv reads rows of 6 (cx, cy, "
                f"w, h, score, class) or of 4 + {nc} (cx, cy, w, h and a score per class, as "
                f"ultralytics exported RT-DETR before its decoder's top-k); found {found}"
            )
        if nc is None and isinstance(width, int) and width != 6:
            channels = width  # the older layout without names: its classes are the columns after the box
    elif meta.get("end2end") is True or args.get("nms") is True:
        info.form = "nms" if args.get("nms") is True else "end2end"
        channels = None
        if isinstance(out_shape[2], int) and out_shape[2] != 6 + info.extra:
            raise InferenceError(
                f"{path}: its {info.form} output rows have {out_shape[2]} values but a {task} "
                f"model's have 6 + {info.extra}; found {found}. vidcv reads "
                + _layouts(len(names) if isinstance(names, dict) else 80)
            )
    elif (
        isinstance(out_shape[2], int)
        and out_shape[2] == 6 + info.extra
        and (not isinstance(names, dict) or out_shape[1] != 4 + len(names) + info.extra)
    ):
        info.form, channels = "end2end", None  # rows of an NMS-free head without the metadata saying so
    else:
        channels = out_shape[1]
    if not isinstance(names, dict):
        if not isinstance(channels, int):
            raise InferenceError(
                f"{path} has neither class names in its metadata nor a fixed output size; found {found}"
            )
        names = {i: f"class{i}" for i in range(channels - (0 if task == "classify" else 4 + info.extra))}
    info.names = {int(k): str(v) for k, v in names.items()}
    want = len(info.names) + (0 if task == "classify" else 4 + info.extra)
    if isinstance(channels, int) and channels != want:
        what = "classes" if task == "classify" else f"4 box values + {len(info.names)} classes + {info.extra} extras"
        raise InferenceError(
            f"{path}: its output has {channels} values per candidate but {what} make {want}: the "
            f"metadata and the graph disagree; found {found}. vidcv reads " + _layouts(len(info.names))
        )
    return info


@dataclass
class Letterbox:
    """How a source image was fitted into the network input (to map results back)."""

    source_hw: tuple[int, int]
    input_hw: tuple[int, int]
    new_wh: tuple[int, int]
    left: int
    top: int


def letterbox(image: np.ndarray, input_hw: tuple[int, int], stride: int | None = None) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio and pad with grey 114 to ``input_hw`` (ultralytics' LetterBox); with
    ``stride`` (models of any input size) pad only to the next multiple of it, as ultralytics does."""
    h, w = image.shape[:2]
    r = min(input_hw[0] / h, input_hw[1] / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = input_hw[1] - new_w, input_hw[0] - new_h
    if stride:
        dw, dh = dw % stride, dh % stride
    input_hw = (new_h + dh, new_w + dw)
    dw, dh = dw / 2, dh / 2
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
    typed: np.ndarray = blob.astype(dtype, copy=False)
    return typed


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
    """Network-input xyxy -> source-image xyxy, clipped (ultralytics' scale_boxes): its two corners as points."""
    return scale_points(np.asarray(boxes).reshape(-1, 2, 2), lb).reshape(-1, 4)


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


def classify_input(image_bgr: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """A classifier's input as ultralytics prepares it: shortest side resized to the input (PIL bilinear),
    centre crop, RGB in 0..1 (torchvision's Resize, CenterCrop and ToTensor)."""
    from PIL import Image

    h, w = image_bgr.shape[:2]
    th, tw = size_hw
    if th == tw:
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = th, int(th * long / short)
        size = (new_short, new_long) if w <= h else (new_long, new_short)  # PIL: (width, height)
    else:
        size = (tw, th)
    # Pillow sets its module-level filter names at import; its annotations declare only Image.Resampling
    resized = np.asarray(Image.fromarray(image_bgr).resize(size, Image.BILINEAR))  # type: ignore[attr-defined]
    rh, rw = resized.shape[:2]
    top, left = int(round((rh - th) / 2.0)), int(round((rw - tw) / 2.0))
    return np.ascontiguousarray(resized[top : top + th, left : left + tw])


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


class YoloModel:
    """An ultralytics YOLO ONNX model on ONNX Runtime: ``model(bgr_image, conf, iou) -> Detections``."""

    def __init__(self, path: str, device: str = "auto", threads: int | None = None, warmup: bool = True) -> None:
        size = check_file(path)  # missing, a folder, a device or a pipe: said so before anything reads it
        if path.lower().endswith((".pt", ".pth")):
            raise InferenceError(
                f"{path} is a PyTorch checkpoint; vidcv runs ONNX: convert it with "
                f"`vidcv model export {path}` (loading a .pt unpickles it, which can run code)"
            )
        raw = read_file_metadata(path, size)  # bounded, before ONNX Runtime reads the file
        meta = read_metadata(raw, path) if raw is not None else None
        self.session, self.session_info = create_session(path, device, threads)
        self.info = inspect(self.session, path, meta)
        self.binding = None
        if self.session_info.provider in ("cuda", "tensorrt"):
            self.binding = self.session.io_binding()
        if warmup:
            self.run(np.zeros((max(1, self.info.batch), 3, *self.info.imgsz), self.info.input_dtype))

    @property
    def provider(self) -> str:
        return self.session_info.provider

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        """Raw outputs for a preprocessed batch (IO binding on GPU providers)."""
        if self.binding is None:
            outputs: list[np.ndarray] = self.session.run(self.info.outputs, {self.info.input_name: blob})
            return outputs
        self.binding.bind_cpu_input(self.info.input_name, blob)
        for name in self.info.outputs:
            self.binding.bind_output(name)
        self.session.run_with_iobinding(self.binding)
        copied: list[np.ndarray] = self.binding.copy_outputs_to_cpu()
        return copied

    @property
    def batch_capacity(self) -> int | None:
        """Images one inference call takes: the model's fixed batch, or None when its batch is dynamic (any)."""
        return None if self.info.dynamic_batch else max(1, self.info.batch)

    def __call__(
        self,
        image_bgr: np.ndarray,
        conf: float = 0.25,
        iou: float = 0.7,
        classes: list[int] | None = None,
        max_det: int = 300,
        polygons: bool = True,
    ) -> Detections | Classification:
        """Detections in source pixels (boxes, plus masks and polygons, keypoints or oriented boxes by task),
        or a classifier's top classes; ``classes`` and ``conf`` filter either."""
        blob, fit = self.prepare(image_bgr)
        return self.finish(self.run(self.batch_of(blob)), fit, conf, iou, classes, max_det, polygons)

    def predict_batch(
        self,
        images: list[np.ndarray],
        conf: float = 0.25,
        iou: float = 0.7,
        classes: list[int] | None = None,
        max_det: int = 300,
        polygons: bool = True,
    ) -> list[Detections | Classification]:
        """What ``__call__`` gives for each image, in order, from one inference call per ``batch_capacity``
        images (a fixed batch's last call padded with zeros, as one image is). Images whose network inputs
        differ in size (a dynamic model given pictures of other shapes) go one at a time."""
        prepared = [self.prepare(image) for image in images]
        same_size = len({blob.shape for blob, _ in prepared}) <= 1
        step = max(1, (self.batch_capacity or len(prepared)) if same_size else 1)
        results: list[Detections | Classification] = []
        for k in range(0, len(prepared), step):
            chunk = prepared[k : k + step]
            outputs = self.run(self.batch_of(np.concatenate([blob for blob, _ in chunk])))
            results += [
                self.finish([out[j : j + 1] for out in outputs], fit, conf, iou, classes, max_det, polygons)
                for j, (_, fit) in enumerate(chunk)
            ]
        return results

    def prepare(self, image_bgr: np.ndarray) -> tuple[np.ndarray, Letterbox | tuple[int, int] | None]:
        """The network input of one image (1x3xHxW) and what ``finish`` needs to map results back: the
        letterbox, the source size (RT-DETR's stretch) or nothing (a classifier)."""
        info = self.info
        if info.task == "classify":
            return to_blob(classify_input(image_bgr, info.imgsz), info.input_dtype), None
        if info.form == "rtdetr":  # the image stretched to the input, as its predictor does
            stretched = cv2.resize(image_bgr, info.imgsz[::-1], interpolation=cv2.INTER_LINEAR)
            return to_blob(stretched, info.input_dtype), image_bgr.shape[:2]
        padded, lb = letterbox(image_bgr, info.imgsz, info.stride if info.dynamic else None)
        return to_blob(padded, info.input_dtype), lb

    def finish(
        self,
        outputs: list[np.ndarray],
        fit: Letterbox | tuple[int, int] | None,
        conf: float,
        iou: float,
        classes: list[int] | None,
        max_det: int,
        polygons: bool = True,
    ) -> Detections | Classification:
        """One image's results from its outputs (the first of the batch) and ``prepare``'s ``fit``."""
        info = self.info
        if info.task == "classify":
            return self._classification(outputs[0][0].astype(np.float32), classes)
        if info.form == "rtdetr":
            source_hw = cast("tuple[int, int]", fit)  # prepare stretched the image: fit is its size
            return self._rtdetr_detections(outputs[0], source_hw, conf, classes, max_det)
        lb = cast(Letterbox, fit)  # prepare letterboxed the image for every other form
        if info.form == "raw":
            rows = decode(outputs[0], len(info.names), conf, iou, classes, max_det, rotated=info.task == "obb")
        else:
            rows = select_rows(outputs[0], conf, classes, max_det)
        masks = polys = None
        data: dict[str, np.ndarray] = {}
        if info.task == "segment":
            masks, keep = masks_from_protos(outputs[1][0].astype(np.float32), rows[:, 6:], rows[:, :4], lb)
            rows, masks = rows[keep], masks[keep]  # as ultralytics: no mask, no detection
            polys = [polygon_of(m) for m in masks] if polygons else None
        elif info.task == "pose":
            kpt_shape = cast("tuple[int, int]", info.kpt_shape)  # inspect refuses a pose model without it
            kpts = rows[:, 6:].reshape(len(rows), *kpt_shape)
            if kpt_shape[1] == 2:  # no visibility: confidence 1
                kpts = np.concatenate([kpts, np.ones((*kpts.shape[:2], 1), np.float32)], axis=2)
            data[KEYPOINTS.name] = scale_points(kpts, lb)
        elif info.task == "obb":
            xywhr = np.concatenate([scale_xywh(rows[:, :4], lb), rows[:, -1:]], axis=1)
            data[OBB.name] = xywhr
            rows = rows.copy()
            rows[:, :4] = aabb_of(xywhr, lb.source_hw)
            return Detections(rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int32), info.names, data=data)
        return Detections(
            scale_boxes(rows[:, :4], lb),
            rows[:, 4],
            rows[:, 5].astype(np.int32),
            info.names,
            masks=masks,
            polygons=polys,
            data=data,
        )

    def batch_of(self, blob: np.ndarray) -> np.ndarray:
        """A fixed batch larger than the images given gets zeros after them (whose results are dropped)."""
        if self.info.dynamic_batch or len(blob) >= self.info.batch:
            return blob
        return np.concatenate([blob, np.zeros((self.info.batch - len(blob), *blob.shape[1:]), blob.dtype)])

    def _rtdetr_detections(
        self, output: np.ndarray, source_hw: tuple[int, int], conf: float, classes: list[int] | None, max_det: int
    ) -> Detections:
        """RT-DETR's rows: no NMS, boxes scaled by the source size (its predictor stretches the image)."""
        h, w = source_hw
        rows = select_rows(rtdetr_rows(output, len(self.info.names)), conf, classes, max_det)
        xy, wh = rows[:, :2], rows[:, 2:4]
        xyxy = np.concatenate([xy - wh / 2, xy + wh / 2], axis=1) * np.array([w, h, w, h], np.float32)
        return Detections(xyxy, rows[:, 4], rows[:, 5].astype(np.int32), self.info.names)

    def _classification(self, probs: np.ndarray, classes: list[int] | None) -> Classification:
        """The top classes of a classifier (probabilities as the model gives them), best first."""
        order = np.argsort(-probs, kind="stable")
        if classes is not None:
            order = order[np.isin(order, classes)]
        top = order[:TOP_K]
        return Classification(top, probs[top], self.info.names)
