"""Parameter widgets (ui/param_editor.py): an empty yolo model field names the bundled model that runs, while
the value, and the preset saved, stay empty (issue 24 item 9)."""

import yaml

from vidcv.bundled import DEMO_MODEL, bundled_models
from vidcv.pipeline import Pipeline
from vidcv.plugins.yolo import Yolo, resolve_model
from vidcv.presets import dump_preset
from vidcv.ui.param_editor import ParamEditor


def test_an_empty_model_field_names_the_bundled_model_that_runs(qtbot):
    plugin = Yolo(device="cpu")
    editor = ParamEditor(plugin)
    qtbot.addWidget(editor)
    field = editor.widgets["model"].edit
    assert field.text() == "" and field.placeholderText() == f"bundled: {DEMO_MODEL}"
    assert resolve_model("") == bundled_models()[DEMO_MODEL]  # the model the hint names is the one that runs
    assert plugin.values()["model"] == ""
    assert yaml.safe_load(dump_preset(Pipeline([plugin])))["pipeline"][0]["params"]["model"] == ""
    field.setText("/models/mine.onnx")  # a typed model: the hint is no longer shown, the text is the value
    assert field.text() == "/models/mine.onnx"
    assert editor.widgets["conf"].placeholder == ""  # other fields have none
