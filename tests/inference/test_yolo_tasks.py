"""Every task and export form against ultralytics' own predict on the same ONNX file and the same frames.

The models are the small ones `scripts/train_test_models.py` trains on synthetic shapes (committed in
tests/assets/models, trained so that their scores mean something); each is exported here, offline, in the
forms ultralytics offers: the raw head, NMS in the graph, dynamic input, a fixed batch of 2, fp16 weights.
RT-DETR (a tiny one from tests/assets/models/tiny_rtdetr.yaml) is compared with ultralytics' RTDETR predict, which
stretches the picture to the input instead of letterboxing it.
"""

import os
import sys

import cv2
import numpy as np
import pytest

from vidcv.frame import xywhr_corners
from vidcv.inference.yolo import YoloModel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from train_test_models import scene_for

MODELS = os.environ.get("VIDCV_TEST_MODELS") or os.path.join(os.path.dirname(__file__), "..", "assets", "models")
pytestmark = pytest.mark.timeout(600)

FORMS = {
    "detect": {
        "raw": {},
        "nms": {"nms": True},
        "dynamic": {"dynamic": True},
        "batch2": {"batch": 2},
        "fp16": {"half": True},
        "fp16io": {},
    },
    "segment": {"raw": {}, "nms": {"nms": True}},
    "pose": {"raw": {}, "nms": {"nms": True}, "dynamic": {"dynamic": True}, "fp16io": {}},
    "obb": {"raw": {}, "nms": {"nms": True}},
    "classify": {"raw": {}, "dynamic": {"dynamic": True}, "fp16": {"half": True}},
    "detect26": {"end2end": {"nms": False}, "raw": {}},  # YOLO26: its NMS-free head (nms=False), the raw one
    "rtdetr": {"rtdetr": {}, "dynamic": {"dynamic": True}},  # RT-DETR: its decoder, at a fixed or any input size
}
TASK_OF = {"detect26": "detect", "rtdetr": "detect"}  # model -> ultralytics task
CASES = [(model, form) for model, forms in FORMS.items() for form in forms]


def ultralytics_model(model, path):
    """ultralytics' own model for a .pt or .onnx file: RTDETR for RT-DETR (its predictor), YOLO for the rest."""
    from ultralytics import RTDETR, YOLO

    return RTDETR(path) if model == "rtdetr" else YOLO(path, task=TASK_OF.get(model, model))


def form_of(model, form):
    """The form vidcv should find in the export."""
    return "rtdetr" if model == "rtdetr" else form if form in ("nms", "end2end") else "raw"


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """(task, form) -> (ONNX path, input size), exported once per session."""
    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false")
    folder = tmp_path_factory.mktemp("onnx")
    cache: dict = {}

    def get(task, form):
        if (task, form) not in cache:
            model = ultralytics_model(task, os.path.join(MODELS, f"tiny_{task}.pt"))
            imgsz = int(model.model.args.get("imgsz", 160))
            path = model.export(format="onnx", imgsz=imgsz, verbose=False, **FORMS[task][form])
            target = folder / f"{task}_{form}.onnx"
            os.replace(path, target)
            if form == "fp16io":  # a GPU export's fp16 input and outputs (on the CPU, half=True keeps fp32 I/O)
                import onnx
                from onnxruntime.transformers import float16

                onnx.save(float16.convert_float_to_float16(onnx.load(str(target)), keep_io_types=False), str(target))
            cache[task, form] = (str(target), imgsz)
        return cache[task, form]

    return get


def frames(task, n=6, seed=99):
    """Scenes the models never saw (another seed), at other sizes and aspect ratios."""
    task = TASK_OF.get(task, task)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = scene_for(task, rng, 160, i)
        w, h = ((160, 160), (240, 160), (200, 260), (320, 180), (160, 160), (300, 300))[i % 6]
        out.append(np.ascontiguousarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)))
    return out


def box_iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix + 1e-9)


def corners_close(a, b, tol):
    """The same rotated rectangle: corner sets equal within ``tol`` pixels in some cyclic order."""
    return any(np.abs(np.roll(a, k, axis=0) - b).max() <= tol for k in range(4))


def match(ours, theirs_xyxy, theirs_cls):
    """For each of ultralytics' boxes, the index of ours with the same class at IoU >= 0.95 (one each)."""
    free = list(range(len(ours)))
    pairs = []
    for j, (box, cls) in enumerate(zip(theirs_xyxy, theirs_cls)):
        best = max(free, key=lambda i: box_iou(ours.xyxy[i], box) if ours.class_id[i] == cls else -1, default=None)
        assert best is not None and ours.class_id[best] == cls and box_iou(ours.xyxy[best], box) >= 0.95, (j, box)
        free.remove(best)
        pairs.append((best, j))
    assert not free, f"{len(free)} detections ultralytics does not have"
    return pairs


@pytest.mark.parametrize("model, form", CASES, ids=[f"{t}-{f}" for t, f in CASES])
def test_parity_with_ultralytics_predict(exported, model, form):
    path, imgsz = exported(model, form)
    task = TASK_OF.get(model, model)
    ours = YoloModel(path, device="cpu")
    assert ours.info.task == task
    assert ours.info.form == form_of(model, form)
    assert ours.info.dynamic == (form == "dynamic") and ours.info.batch == (2 if form == "batch2" else 1)
    assert ours.info.input_dtype == (np.float16 if form == "fp16io" else np.float32)
    theirs = ultralytics_model(model, path)
    found = 0
    for img in frames(model):
        got = ours(img, conf=0.25, iou=0.7)
        want = theirs.predict(img, imgsz=imgsz, conf=0.25, iou=0.7, verbose=False)[0]
        if task == "classify":
            top5 = [int(i) for i in want.probs.top5]
            assert got.class_id.tolist() == top5
            assert np.allclose(got.confidence, want.probs.top5conf.numpy(), atol=1e-3)
            found += 1
            continue
        if task == "obb":
            xywhr = want.obb.xywhr.numpy()
            want_cls = want.obb.cls.numpy().astype(int)
            assert len(got) == len(xywhr)
            free = list(range(len(got)))
            for box, cls in zip(xywhr, want_cls):
                target = xywhr_corners(box[None])[0]
                hit = next(
                    (
                        i
                        for i in free
                        if got.class_id[i] == cls
                        and corners_close(xywhr_corners(got.data["obb"][i][None])[0], target, 2.0)
                    ),
                    None,
                )
                assert hit is not None, box
                free.remove(hit)
            found += len(xywhr)
            continue
        pairs = match(got, want.boxes.xyxy.numpy(), want.boxes.cls.numpy().astype(int))
        conf_want = want.boxes.conf.numpy()
        assert all(abs(got.confidence[i] - conf_want[j]) < 1e-3 for i, j in pairs)
        if task == "pose":
            kw = want.keypoints.data.numpy()
            for i, j in pairs:
                k = got.data["keypoints"][i]
                assert np.abs(k[:, :2] - kw[j][:, :2]).max() <= 1.5 and np.abs(k[:, 2] - kw[j][:, 2]).max() <= 0.01
        found += len(pairs)
    assert found > 0, "no detection on any frame: the comparison would be empty"


def test_rtdetr_exported_before_the_top_k(exported, tmp_path, monkeypatch):
    """RT-DETR exported by ultralytics before its decoder's top-k: (cx, cy, w, h, a score per class) per query.

    Its predictor kept each query's best class. The reference is ultralytics' predict on today's export of the same
    weights, one row per query: a query's rows share their box, and the best of them is what the old predictor kept.
    """
    import shutil

    import onnx
    import torch
    from ultralytics.nn.modules.head import RTDETRDecoder

    from vidcv.inference.providers import InferenceError

    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false")
    shutil.copy(os.path.join(MODELS, "tiny_rtdetr.pt"), tmp_path / "old.pt")
    monkeypatch.setattr(RTDETRDecoder, "postprocess", lambda self, boxes, scores: torch.cat([boxes, scores], -1))
    old = ultralytics_model("rtdetr", str(tmp_path / "old.pt")).export(format="onnx", imgsz=160, verbose=False)
    monkeypatch.undo()
    new, _ = exported("rtdetr", "rtdetr")
    ours = YoloModel(old, device="cpu")
    assert ours.info.form == "rtdetr" and ours.session.get_outputs()[0].shape == [1, 50, 4 + len(ours.info.names)]
    theirs = ultralytics_model("rtdetr", new)
    found = 0
    for img in frames("rtdetr"):
        got = ours(img, conf=0.25)
        want = theirs.predict(img, imgsz=160, conf=0.25, verbose=False)[0].boxes
        xyxy, conf, cls = want.xyxy.numpy(), want.conf.numpy(), want.cls.numpy().astype(int)
        best = {}  # one row per query (its box), its best class
        for j in range(len(xyxy)):
            key = tuple(np.round(xyxy[j], 2))
            if key not in best or conf[j] > conf[best[key]]:
                best[key] = j
        keep = sorted(best.values())
        pairs = match(got, xyxy[keep], cls[keep])
        # two exports, two graphs (simplified apart): their scores differ by up to 7e-4 on these frames
        assert all(abs(got.confidence[i] - conf[keep][j]) < 2e-3 for i, j in pairs)
        found += len(pairs)
    assert found > 0
    # the same layout with class names that do not fit it: one line naming what was found and what vidcv reads
    model = onnx.load(old)
    for prop in model.metadata_props:
        if prop.key == "names":
            prop.value = str({i: f"c{i}" for i in range(5)})
    onnx.save(model, tmp_path / "bad.onnx")
    with pytest.raises(
        InferenceError, match=r"RT-DETR output rows have 7 values; vidcv reads rows of 6 .* or of 4 \+ 5"
    ):
        YoloModel(str(tmp_path / "bad.onnx"), device="cpu")


def test_rtdetr_rows_with_two_classes_tell_the_layouts_apart():
    """Two classes give 6 values a row in both layouts: the top-k's class column holds whole numbers."""
    from vidcv.inference.postprocess import rtdetr_rows

    box = [0.5, 0.5, 0.2, 0.2]
    topk = np.array([[box + [0.9, 1.0], box + [0.3, 0.0]]], np.float32)
    np.testing.assert_array_equal(rtdetr_rows(topk, 2), topk)
    per_class = np.array([[box + [0.2, 0.7], box + [0.6, 0.1]]], np.float32)
    np.testing.assert_allclose(rtdetr_rows(per_class, 2), [[box + [0.7, 1.0], box + [0.6, 0.0]]])
    three = np.array([[box + [0.2, 0.7, 0.4]]], np.float32)  # 3 classes: 7 values, a score each
    np.testing.assert_allclose(rtdetr_rows(three, 3), [[box + [0.7, 1.0]]])


def test_classification_reaches_the_frame_and_the_log(exported, tmp_path):
    """A classify model in a pipeline: the top 5 classes on the frame, in the detection log, best first."""
    import json

    from vidcv.frame import Frame
    from vidcv.pipeline import Pipeline
    from vidcv.plugins.yolo import Yolo
    from vidcv.sinks import DetectionsLogSink

    path, _ = exported("classify", "raw")
    pipeline = Pipeline([Yolo(model=path, device="cpu")])
    sink = DetectionsLogSink(str(tmp_path / "log.jsonl"))
    for i, img in enumerate(frames("classify", 3)):
        frame = pipeline.process(Frame(img, i, 0.0))
        names = pipeline.stages[0].plugin.model.info.names
        assert frame.classification is not None and len(frame.classification) == min(5, len(names))
        sink.write(frame)
    sink.close()
    line = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[0])
    probs = [c["confidence"] for c in line["classification"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0 + 1e-3  # softmax: the top 5 of all classes
    assert {"class_id", "class_name", "confidence"} == set(line["classification"][0]) and line["detections"] == []


def test_pose_and_obb_fields_reach_the_detection_log(exported, tmp_path):
    import json

    from vidcv.frame import Frame
    from vidcv.pipeline import Pipeline
    from vidcv.plugins.yolo import Yolo
    from vidcv.sinks import DetectionsLogSink

    for task, field in (("pose", "keypoints"), ("obb", "obb")):
        path, _ = exported(task, "raw")
        pipeline = Pipeline([Yolo(model=path, device="cpu")])
        log = tmp_path / f"{task}.jsonl"
        sink = DetectionsLogSink(str(log))
        for i, img in enumerate(frames(task, 4)):
            sink.write(pipeline.process(Frame(img, i, 0.0)))
        sink.close()
        dets = [d for line in log.read_text().splitlines() for d in json.loads(line)["detections"]]
        assert dets and all(field in d for d in dets)
        if task == "pose":
            assert all(len(p) == 3 for d in dets for p in d["keypoints"])
        else:
            assert all(len(d["obb"]) == 5 for d in dets)


def test_annotate_and_the_overlays_draw_every_kind(exported, qtbot):
    """Keypoints, oriented boxes and the classifier's banner are drawn by annotate and by the GUI's overlays."""
    from vidcv.frame import Frame
    from vidcv.pipeline import Pipeline
    from vidcv.plugins.annotate import Annotate
    from vidcv.plugins.yolo import Yolo
    from vidcv.ui.video_view import VideoView

    for task in ("pose", "obb", "classify"):
        path, _ = exported(task, "raw")
        img = frames(task, 1)[0]
        detect = Pipeline([Yolo(model=path, device="cpu")]).process(Frame(img.copy(), 0, 0.0))
        drawn = Annotate().process(detect).image
        assert drawn.shape == img.shape and np.count_nonzero(np.any(drawn != img, axis=2)) > 50, task
        view = VideoView()
        qtbot.addWidget(view)
        view.resize(320, 320)
        plain = Frame(img.copy(), 0, 0.0)
        view.show_frame(plain)
        before = view.grab().toImage()
        view.show_frame(detect)
        assert view.grab().toImage() != before, task
