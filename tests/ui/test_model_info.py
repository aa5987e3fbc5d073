"""The yolo stage's model picker says what the model is: task, classes, export form, input size."""

import os
import shutil

import numpy as np
import pytest

from vidcv.bundled import DEMO_MODEL, bundled_models
from vidcv.inference.yolo import ModelInfo, YoloModel
from vidcv.plugins.yolo import Yolo
from vidcv.ui import style
from vidcv.ui.model_info import describe, model_note, model_param
from vidcv.ui.param_editor import ParamEditor

MODELS = os.environ.get("VIDCV_TEST_MODELS") or os.path.join(os.path.dirname(__file__), "..", "assets", "models")
pytestmark = pytest.mark.timeout(300)


def info(**kw):
    base = {
        "path": "m.onnx",
        "task": "detect",
        "names": {0: "cat"},
        "imgsz": (640, 640),
        "stride": 32,
        "input_name": "images",
        "input_dtype": np.dtype(np.float32),
        "outputs": ["output0"],
    }
    return ModelInfo(**{**base, **kw})


def test_the_picker_says_what_the_demo_model_is(qtbot):
    plugin = Yolo(device="cpu")
    editor = ParamEditor(plugin)
    qtbot.addWidget(editor)
    assert model_param(plugin) == "model" and editor.model_note is not None
    truth = YoloModel(bundled_models()[DEMO_MODEL], device="cpu", warmup=False).info  # as `vidcv model info` reads it
    names = ", ".join(truth.names.values())
    h, w = truth.imgsz
    assert editor.model_note.text() == (
        f"detect · {len(truth.names)} classes: {names} · raw head (vidcv runs NMS) · input {w}x{h}"
    )
    assert editor.model_note.styleSheet() == ""


def test_picking_a_file_that_is_no_model_says_why_in_red(qtbot, tmp_path):
    editor = ParamEditor(Yolo(device="cpu"))
    qtbot.addWidget(editor)
    picker = editor.widgets["model"]
    picker.edit.setText(str(tmp_path / "missing.onnx"))
    picker.edit.editingFinished.emit()
    assert "no such file" in editor.model_note.text() and style.ERROR.name() in editor.model_note.styleSheet()
    bad = tmp_path / "notes.onnx"
    bad.write_text("not a model")
    picker.edit.setText(str(bad))
    picker.edit.editingFinished.emit()
    assert str(bad) in editor.model_note.text() and style.ERROR.name() in editor.model_note.styleSheet()
    picker.combo.setCurrentText(DEMO_MODEL)
    picker.combo.activated.emit(0)
    assert editor.model_note.text().startswith("detect · 3 classes") and editor.model_note.styleSheet() == ""


def test_a_pose_model_with_nms_in_the_graph_is_named_so(qtbot, tmp_path):
    """A real export: ultralytics' own pose model with NMS embedded, read by vidcv's inspection."""
    pytest.importorskip("ultralytics")
    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false")
    from ultralytics import YOLO

    weights = shutil.copy(os.path.join(MODELS, "tiny_pose.pt"), tmp_path / "tiny_pose.pt")
    model = YOLO(str(weights), task="pose")
    imgsz = int(model.model.args.get("imgsz", 160))
    onnx = model.export(format="onnx", imgsz=imgsz, nms=True, verbose=False)
    plugin = Yolo(model=onnx, device="cpu")
    note = model_note(plugin, onnx)
    k = plugin.model.info.kpt_shape[0]
    names = list(plugin.model.info.names.values())
    assert note is not None and not note.error
    assert note.text.startswith(f"pose ({k} keypoints) · {len(names)} class")
    assert f"NMS embedded · input {imgsz}x{imgsz}" in note.text
    editor = ParamEditor(plugin)  # the stage's own model: described without opening the file again
    qtbot.addWidget(editor)
    assert editor.model_note.text() == note.text


def test_every_form_and_input_is_named():
    many = {i: f"c{i}" for i in range(80)}
    assert describe(info(names=many)) == (
        "detect · 80 classes: c0, c1, c2, c3, … · raw head (vidcv runs NMS) · input 640x640"
    )
    assert "end-to-end (NMS-free)" in describe(info(form="end2end"))
    assert "· RT-DETR ·" in describe(info(form="rtdetr"))
    assert describe(info(form="nms", dynamic=True, imgsz=(480, 640))).endswith(
        "NMS embedded · input any size (default 640x480)"
    )
    assert describe(info(batch=2)).endswith("input 640x640, batch 2")
    assert describe(info(task="classify", names={0: "a"})).startswith("classify · 1 class: a ·")
    assert describe(info(task="obb")).startswith("obb · ")


def test_stages_without_a_model_have_no_note(qtbot):
    from vidcv.plugins.edges import Canny

    plugin = Canny()
    editor = ParamEditor(plugin)
    qtbot.addWidget(editor)
    assert model_param(plugin) is None and model_note(plugin, "x") is None and editor.model_note is None
