"""YOLO models exported to ONNX by ultralytics (detect, segment, pose, obb, classify; raw heads, end-to-end
heads and NMS exported in the graph; fixed or dynamic input, a fixed batch), run on ONNX Runtime.

``inspect`` reads what a model is (task, export form, classes, input) from its metadata and graph; ``YoloModel``
runs it, with the pre-processing of ``vidcv.inference.preprocess`` and the post-processing of
``vidcv.inference.postprocess``. Both follow ultralytics' own predict step for step, so that the boxes match
ultralytics' predictions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast

import cv2
import numpy as np

from vidcv.detections import KEYPOINTS, OBB, Classification, Detections
from vidcv.frame import aabb_of
from vidcv.inference.modelfile import check_file, meta_int, meta_ints, meta_names, read_file_metadata, read_metadata
from vidcv.inference.postprocess import (
    classification,
    decode,
    masks_from_protos,
    polygon_of,
    rtdetr_detections,
    scale_boxes,
    scale_points,
    scale_xywh,
    select_rows,
)
from vidcv.inference.preprocess import Letterbox, batch_of, classify_input, letterbox, to_blob
from vidcv.inference.providers import InferenceError, create_session
from vidcv.params import shown

log = logging.getLogger(__name__)

TASKS = ("detect", "segment", "pose", "obb", "classify")
#: raw head (vidcv runs NMS), NMS-free head, NMS inside the graph, RT-DETR's decoder (normalised boxes)
FORMS = ("raw", "end2end", "nms", "rtdetr")


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
    names = meta_names(meta, path)
    mask_dim = int(outputs[1].shape[1]) if task == "segment" and len(outputs) == 2 else 0
    kpt_shape = meta_ints(meta, "kpt_shape", path, 1, 1000) if task == "pose" else None
    meta_args = meta.get("args")
    args = meta_args if isinstance(meta_args, dict) else {}
    shape = inputs[0].shape
    fixed = all(isinstance(d, int) for d in shape[2:])
    if fixed:
        imgsz = (int(shape[2]), int(shape[3]))
    else:
        imgsz = meta_ints(meta, "imgsz", path, 1, 16384) or (640, 640)
    stride = meta_int(meta, "stride", path, 1, 4096) or 32
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
        outputs = self.run(batch_of(blob, self.info.batch, self.info.dynamic_batch))
        return self.finish(outputs, fit, conf, iou, classes, max_det, polygons)

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
            outputs = self.run(
                batch_of(np.concatenate([blob for blob, _ in chunk]), self.info.batch, self.info.dynamic_batch)
            )
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
            return classification(outputs[0][0].astype(np.float32), info.names, classes)
        if info.form == "rtdetr":
            source_hw = cast("tuple[int, int]", fit)  # prepare stretched the image: fit is its size
            return rtdetr_detections(outputs[0], info.names, source_hw, conf, classes, max_det)
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
