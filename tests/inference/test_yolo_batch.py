"""YOLO on several frames in one inference call: a model exported with a dynamic batch takes any count, one
with a fixed batch N up to N (zero-padded); the results equal one call per frame, for every task; frames whose
network inputs differ in size go one at a time; the yolo stage says how many frames it takes per call.

The models are the tiny ones of tests/assets/models, exported offline into a temporary folder.
"""

import os
import shutil
import sys

import cv2
import numpy as np
import pytest

from vidcv.frame import Frame
from vidcv.inference.yolo import YoloModel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from train_test_models import scene_for

MODELS = os.environ.get("VIDCV_TEST_MODELS") or os.path.join(os.path.dirname(__file__), "..", "assets", "models")
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """(task, export options) -> ONNX path, exported once per module from a copy of the .pt (so that the
    export lands in a temporary folder, not beside the committed weights)."""
    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false")
    from ultralytics import YOLO

    folder = tmp_path_factory.mktemp("batch_onnx")
    cache: dict = {}

    def get(task, **options):
        key = (task, tuple(sorted(options.items())))
        if key not in cache:
            name = f"{task}_{'_'.join(f'{k}{v}' for k, v in key[1])}"
            pt = folder / f"{name}.pt"
            shutil.copyfile(os.path.join(MODELS, f"tiny_{task}.pt"), pt)
            cache[key] = YOLO(str(pt), task=task).export(format="onnx", imgsz=160, verbose=False, **options)
        return cache[key]

    return get


def scenes(task, n, size_wh=(240, 160), seed=7):
    """``n`` pictures the models never saw, all of one size (one file's frames)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = scene_for(task, rng, 160, i)
        out.append(np.ascontiguousarray(cv2.resize(img, size_wh, interpolation=cv2.INTER_LINEAR)))
    return out


def assert_same(one, batched):
    """Per-frame results and batched ones agree: classes, boxes, scores, masks, keypoints, oriented boxes."""
    assert len(one) == len(batched)
    assert one.class_id.tolist() == batched.class_id.tolist()
    np.testing.assert_allclose(batched.confidence, one.confidence, atol=1e-5)
    if not hasattr(one, "xyxy"):  # a classification
        return
    np.testing.assert_allclose(batched.xyxy, one.xyxy, atol=1e-3)
    assert (one.masks is None) == (batched.masks is None)
    if one.masks is not None and len(one):
        assert (one.masks == batched.masks).mean() > 0.9999
    assert set(one.data) == set(batched.data)
    for key in one.data:
        np.testing.assert_allclose(batched.data[key], one.data[key], atol=1e-3)


class Counting:
    """Wraps ``YoloModel.run`` to count inference calls and record their batch sizes."""

    def __init__(self, model):
        self.sizes = []
        self._run = model.run
        model.run = self

    def __call__(self, blob):
        self.sizes.append(len(blob))
        return self._run(blob)


@pytest.mark.parametrize(
    "task, options, calls",
    [
        ("detect", {"dynamic": True}, [5]),
        ("detect", {"batch": 2}, [2, 2, 2]),  # the last call: one frame and zeros
        ("segment", {"dynamic": True}, [5]),
        ("pose", {"dynamic": True}, [5]),
        ("obb", {"batch": 4}, [4, 4]),
        ("classify", {"dynamic": True}, [5]),
    ],
)
def test_one_call_per_batch_gives_what_one_call_per_frame_gives(export, task, options, calls):
    model = YoloModel(export(task, **options), device="cpu")
    assert model.batch_capacity == (None if options.get("dynamic") else options["batch"])
    images = scenes(task, 5)
    one = [model(img, conf=0.25, iou=0.7) for img in images]
    counter = Counting(model)
    batched = model.predict_batch(images, conf=0.25, iou=0.7)
    assert counter.sizes == calls
    assert len(batched) == len(images)
    for a, b in zip(one, batched):
        assert_same(a, b)
    assert sum(len(r) for r in one) > 0, "nothing found on any frame: the comparison would be empty"


def test_frames_of_other_sizes_go_one_at_a_time_on_a_dynamic_model(export):
    model = YoloModel(export("detect", dynamic=True), device="cpu")
    images = scenes("detect", 2, (240, 160)) + scenes("detect", 2, (160, 240), seed=8)
    one = [model(img) for img in images]
    counter = Counting(model)
    batched = model.predict_batch(images)
    assert counter.sizes == [1, 1, 1, 1]
    for a, b in zip(one, batched):
        assert_same(a, b)
    fixed = YoloModel(export("detect", batch=2), device="cpu")  # a fixed input size: any pictures batch
    counter = Counting(fixed)
    fixed.predict_batch(images)
    assert counter.sizes == [2, 2]


def test_the_yolo_stage_takes_what_its_model_takes(export, registry):
    dynamic = registry.create("yolo", model=export("detect", dynamic=True), device="cpu")
    fixed = registry.create("yolo", model=export("detect", batch=4), device="cpu")
    single = registry.create("yolo", model=export("detect"), device="cpu")
    assert [dynamic.batch_frames(), dynamic.batch_frames(6), dynamic.batch_frames(1)] == [1, 6, 1]
    assert [fixed.batch_frames(), fixed.batch_frames(2), fixed.batch_frames(16)] == [4, 2, 4]
    assert [single.batch_frames(), single.batch_frames(8)] == [1, 1]
    images = scenes("detect", 3)
    frames = [Frame(img, i, i * 40.0) for i, img in enumerate(images)]
    batched = fixed.process_batch([Frame(img, i, i * 40.0) for i, img in enumerate(images)])
    for a, b in zip((fixed.process(f) for f in frames), batched):
        assert_same(a.detections, b.detections)


def test_vidcv_run_batches_a_file_with_the_same_detections(export, tmp_path):
    from media import run_cli

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, img in enumerate(scenes("detect", 7)):
        cv2.imwrite(str(folder / f"f_{i:03d}.png"), img)
    preset = tmp_path / "yolo.yaml"
    preset.write_text(
        f"pipeline:\n  - plugin: yolo\n    params: {{model: '{export('detect', dynamic=True)}', device: cpu}}\n"
    )
    logs = {}
    for batch in ("1", "3"):
        logs[batch] = tmp_path / f"b{batch}.jsonl"
        res = run_cli(
            "run", str(folder), "-p", str(preset), "--batch", batch, "--detections-jsonl", str(logs[batch]), "-q", "-v"
        )
        assert res.returncode == 0, res.stderr
        assert ("3 frames per call" in res.stderr) == (batch == "3")
    lines = logs["3"].read_text().splitlines()
    assert len(lines) == 7 and '"class_id"' in logs["3"].read_text()
    assert lines == logs["1"].read_text().splitlines()
    res = run_cli("run", str(folder), "-p", str(preset), "--batch", "0", "-q")
    assert res.returncode != 0 and "--batch must be at least 1" in res.stderr


def test_vidcv_batch_passes_batch_on_with_the_same_detections(export, tmp_path):
    """`vidcv batch --batch 3`: each input's detection log equals `vidcv run --batch 1`'s on that file."""
    from media import run_cli

    clip = tmp_path / "videos" / "clip.avi"
    clip.parent.mkdir()
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (240, 160))
    for img in scenes("detect", 7):
        writer.write(img)
    writer.release()
    preset = tmp_path / "yolo.yaml"
    preset.write_text(
        f"pipeline:\n  - plugin: yolo\n    params: {{model: '{export('detect', dynamic=True)}', device: cpu}}\n"
    )
    res = run_cli(
        "run", str(clip), "-p", str(preset), "--batch", "1", "--detections-jsonl", str(tmp_path / "one.jsonl"), "-q"
    )
    assert res.returncode == 0, res.stderr
    res = run_cli(
        "batch", str(clip), "-p", str(preset), "--batch", "3", "--out", str(tmp_path / "out"), "-q", "--workers", "1"
    )
    assert res.returncode == 0, res.stderr
    batched = (tmp_path / "out" / "clip" / "detections.jsonl").read_text().splitlines()
    assert len(batched) == 7 and batched == (tmp_path / "one.jsonl").read_text().splitlines()
    res = run_cli("batch", str(clip), "-p", str(preset), "--batch", "0", "--out", str(tmp_path / "bad"))
    assert res.returncode != 0 and res.stderr.strip() == "vidcv: error: --batch must be at least 1, got 0"
    assert not (tmp_path / "bad").exists()
