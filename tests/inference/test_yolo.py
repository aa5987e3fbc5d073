"""YOLO on ONNX Runtime: the same boxes as ultralytics' own predict on the same model and frames."""

import os
import sys

import cv2
import numpy as np
import pytest

from vidcv.bundled import DEMO_MODEL, bundled_models
from vidcv.inference.postprocess import nms, scale_boxes
from vidcv.inference.preprocess import letterbox
from vidcv.inference.providers import InferenceError
from vidcv.inference.yolo import YoloModel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from train_demo_model import CLASSES, backgrounds, make_image

MODEL = bundled_models()[DEMO_MODEL]
pytestmark = pytest.mark.timeout(300)


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix + 1e-9)


@pytest.fixture(scope="module")
def scenes():
    """Shape scenes the model never saw (another seed), scaled up and cropped to other sizes and aspect ratios
    (shapes keep their proportions; those cut by the crop are dropped from the labels)."""
    rng = np.random.default_rng(1234)
    photos = backgrounds()
    out = []
    for scale, (w, h) in (
        (1.0, (256, 256)),
        (2.5, (640, 360)),
        (1.5, (384, 300)),
        (5.0, (1280, 720)),
        (1.0, (256, 256)),
        (2.0, (512, 400)),
    ):
        img, labels = make_image(rng, photos, 256)
        big = cv2.resize(img, (round(256 * scale), round(256 * scale)), interpolation=cv2.INTER_LINEAR)[:h, :w]
        kept = [
            (c, x1 * scale, y1 * scale, x2 * scale, y2 * scale)
            for c, x1, y1, x2, y2 in labels
            if x2 * scale <= w and y2 * scale <= h
        ]
        out.append((np.ascontiguousarray(big), kept))
    return out


@pytest.fixture(scope="module")
def model():
    return YoloModel(MODEL, device="cpu")


@pytest.fixture(scope="module")
def ultralytics_yolo():
    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics import YOLO

    return YOLO(MODEL, task="detect")


def test_the_demo_model_describes_itself(model):
    assert model.info.task == "detect" and model.info.names == dict(enumerate(CLASSES))
    assert model.info.imgsz == (256, 256) and model.provider == "cpu"


def test_letterbox_and_scaling_match_ultralytics():
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils import ops

    rng = np.random.default_rng(0)
    for h, w in ((360, 640), (500, 300), (256, 256), (101, 999), (77, 33)):
        img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        ours, lb = letterbox(img, (256, 256))
        theirs = LetterBox((256, 256), auto=False)(image=img)
        assert np.array_equal(ours, theirs), (h, w)
        boxes = np.array([[10.5, 20.25, 200.0, 230.0], [0.0, 0.0, 256.0, 256.0]], np.float32)
        import torch

        expected = ops.scale_boxes((256, 256), torch.tensor(boxes.copy()), (h, w)).numpy()
        assert np.allclose(scale_boxes(boxes, lb), expected, atol=1e-4)


def test_nms_equals_torchvision():
    import torch
    import torchvision

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 200, (300, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(5, 60, (300, 2)).astype(np.float32)], axis=1)
    scores = rng.uniform(0, 1, 300).astype(np.float32)
    for thr in (0.3, 0.5, 0.7):
        expected = torchvision.ops.nms(torch.tensor(boxes), torch.tensor(scores), thr).numpy()
        assert np.array_equal(nms(boxes, scores, thr), expected)


@pytest.mark.parametrize("conf, iou_thr", [(0.25, 0.7), (0.1, 0.5), (0.5, 0.45)])
def test_boxes_match_ultralytics_predict(model, ultralytics_yolo, scenes, conf, iou_thr):
    """Every ultralytics box has a vidcv box of the same class at IoU >= 0.95, and vidcv has no extra box."""
    total = 0
    for img, _ in scenes:
        theirs = ultralytics_yolo.predict(img, conf=conf, iou=iou_thr, imgsz=256, verbose=False)[0].boxes
        ours = model(img, conf=conf, iou=iou_thr)
        assert len(ours) == len(theirs)
        for box, cls in zip(theirs.xyxy.numpy(), theirs.cls.numpy().astype(int)):
            candidates = [iou(box, b) for b, c in zip(ours.xyxy, ours.class_id) if c == cls]
            assert candidates and max(candidates) >= 0.95
        total += len(theirs)
    assert total > 0


def test_the_demo_model_finds_the_shapes(model, scenes):
    found = hits = 0
    for img, labels in scenes:
        dets = model(img)
        for c, *box in labels:
            found += 1
            hits += any(k == c and iou(box, b) >= 0.5 for b, k in zip(dets.xyxy, dets.class_id))
    assert hits / found >= 0.7, f"recall {hits}/{found}"


def test_classes_filter_and_max_det(model, scenes):
    img = scenes[1][0]
    every = model(img, conf=0.05)
    only = model(img, conf=0.05, classes=[0])
    assert set(only.class_id.tolist()) <= {0} and len(only) == int((every.class_id == 0).sum())
    assert len(model(img, conf=0.01, max_det=2)) <= 2


def test_bad_models_are_clear_errors(tmp_path):
    with pytest.raises(InferenceError, match="model file not found"):
        YoloModel(str(tmp_path / "none.onnx"))
    pt = tmp_path / "weights.pt"
    pt.write_bytes(b"x")
    with pytest.raises(InferenceError, match="vidcv model export .*can run code"):
        YoloModel(str(pt))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not onnx")
    with pytest.raises(InferenceError, match="cannot load"):
        YoloModel(str(junk))
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8, 8])],
    )
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    with pytest.raises(
        InferenceError, match=r"expected one image input of shape \[batch, 3, height, width\]; found inputs"
    ):
        YoloModel(str(path))


def test_an_explicit_gpu_device_that_cannot_run_is_an_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the CUDA path is checked on the device machine")
    with pytest.raises(InferenceError, match="device 'cuda' cannot run here"):
        YoloModel(MODEL, device="cuda")
    auto = YoloModel(MODEL, device="auto", warmup=False)
    assert auto.provider == "cpu"
    assert any("cuda needs" in r or "did not start" in r for r in auto.session_info.reasons)
    assert auto.session_info.warnings == []  # no GPU driver here: the CPU is no fault, nothing to warn of
    with pytest.raises(InferenceError, match="device 'npu' is not known"):
        YoloModel(MODEL, device="npu")
