"""YOLO on ONNX Runtime (GPU when present): detect, segment, pose, obb and classify models."""

from __future__ import annotations

import logging
import os
from typing import ClassVar

from vidcv.bundled import DEMO_MODEL, bundled_models
from vidcv.detections import Classification, Detections
from vidcv.errors import ParamError
from vidcv.frame import Frame
from vidcv.imageops import to_bgr
from vidcv.params import Choice, FilePath, Float, Int, Text, shown
from vidcv.plugin import Plugin, Produces
from vidcv.status import StageStatus

log = logging.getLogger(__name__)


def resolve_model(value: str) -> str:
    """A bundled model name (or '' for the demo model) or a path to an .onnx file."""
    models = bundled_models()
    if not value:
        value = DEMO_MODEL
    if value in models:
        return models[value]
    if os.path.exists(value):  # a folder or a device is named as such by the model's own checks
        return value
    raise ParamError(
        f"parameter 'model' = {shown(value)}: no such file; give the path of a YOLO model exported to ONNX "
        f"(`vidcv model export WEIGHTS.pt`), or a bundled model: {', '.join(models) or 'none'}"
    )


def parse_classes(text: str, names: dict[int, str]) -> list[int] | None:
    """'0, 2' or 'person, car' -> class ids; '' -> None (every class)."""
    if not text.strip():
        return None
    by_name = {v.lower(): k for k, v in names.items()}
    ids = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        if item.isdigit() and int(item) in names:
            ids.append(int(item))
        elif item.lower() in by_name:
            ids.append(by_name[item.lower()])
        else:
            raise ParamError(
                f"parameter 'classes': {shown(item)} is not a class of this model; its classes are "
                + ", ".join(f"{k}={v}" for k, v in names.items())
            )
    return ids


class Yolo(Plugin):
    """Objects (and instance masks) found by a YOLO model."""

    name = "yolo"
    title = "YOLO (ONNX Runtime)"
    category = "detection"
    parallel_frames = False  # ONNX Runtime already spreads one frame over the cores
    summary = (
        "A YOLO model exported to ONNX by ultralytics (detect, segment, pose, obb or classify; raw head, "
        "end-to-end head or NMS in the graph), on ONNX Runtime: TensorRT, CUDA or CPU (device auto tries "
        "them in that order and says what it runs on). Boxes in source pixels, class-aware NMS, masks and "
        "polygons, keypoints or oriented boxes by task, matching ultralytics' predict; a classifier's top "
        "5 classes go to the frame. "
        "Empty 'model' is the bundled demo detector of coloured shapes (circle, square, triangle)."
    )
    #: what an empty parameter runs, for the window to show in the empty field (the value stays empty: a preset
    #: saved with the demo model keeps model: '')
    placeholders: ClassVar[dict[str, str]] = {"model": f"bundled: {DEMO_MODEL}"}
    params = (
        FilePath(
            "model",
            "",
            help="path of a YOLO .onnx, or a bundled model name (empty: the demo model)",
            suggestions=tuple(bundled_models()),
            provenance=True,
        ),
        Float("conf", 0.25, 0.0, 1.0, step=0.01, help="minimum confidence", provenance=True),
        Float(
            "iou", 0.7, 0.0, 1.0, step=0.01, help="IoU above which NMS drops the weaker box of a class", provenance=True
        ),
        Text("classes", "", help="keep only these classes: ids or names, comma-separated (empty: all)"),
        Int("max_det", 300, 1, 3000, help="most detections per frame"),
        Choice(
            "device",
            "auto",
            ("auto", "cpu", "cuda", "tensorrt"),
            help="where to run; auto tries TensorRT, CUDA, then CPU",
        ),
    )

    def setup(self) -> None:
        from vidcv.inference.yolo import YoloModel

        self.model = YoloModel(resolve_model(self.p.model), self.p.device)
        self.class_ids = parse_classes(self.p.classes, self.model.info.names)

    def on_params_changed(self, changed: set[str]) -> None:
        if changed & {"model", "device"}:
            self.setup()
        elif "classes" in changed:
            self.class_ids = parse_classes(self.p.classes, self.model.info.names)

    @property
    def provider(self) -> str:
        """What the model runs on: CPU, CUDA or TENSORRT."""
        return self.model.provider.upper()

    def status(self) -> StageStatus:
        return StageStatus(provider=self.provider, state=self.model.info.task)

    def produces(self) -> Produces:
        return Produces.CLASSIFICATION if self.model.info.task == "classify" else Produces.DETECTIONS

    def batch_frames(self, asked: int | None = None) -> int:
        """Frames per inference call on a file: a model exported with a fixed batch N takes N (or fewer when
        asked), one of any batch size what is asked (1 unless asked), one exported for one image 1."""
        capacity = self.model.batch_capacity
        if capacity is None:
            return max(1, asked or 1)
        return capacity if asked is None else max(1, min(asked, capacity))

    def process(self, frame: Frame) -> Frame:
        image = to_bgr(frame.image, frame.color_space)
        return self._attach(frame, self.model(image, self.p.conf, self.p.iou, self.class_ids, self.p.max_det))

    def process_batch(self, frames: list[Frame]) -> list[Frame]:
        """One inference call for the lot (``YoloModel.predict_batch``): the same results as ``process``."""
        images = [to_bgr(frame.image, frame.color_space) for frame in frames]
        found = self.model.predict_batch(images, self.p.conf, self.p.iou, self.class_ids, self.p.max_det)
        return [self._attach(frame, result) for frame, result in zip(frames, found)]

    @staticmethod
    def _attach(frame: Frame, found: Detections | Classification) -> Frame:
        if isinstance(found, Classification):
            return frame.with_classification(found)
        return frame.with_detections_added(frame.detections_to_source(found))
