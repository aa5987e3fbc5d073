"""A model whose metadata is hostile or damaged (a stride that is no number, class names nested thousands of levels
deep, a 400-digit integer) is refused in one line that names the model file and the metadata key."""

import pytest
from onnx_meta import with_metadata

from media import run_cli
from vidcv.inference.modelfile import parse_meta
from vidcv.inference.providers import InferenceError
from vidcv.inference.yolo import YoloModel

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize(
    "values, words",
    [
        ({"stride": "abc"}, "its metadata 'stride' = 'abc' is not an integer from 1 to 4096"),
        ({"stride": "0"}, "its metadata 'stride' = 0 is not an integer from 1 to 4096"),
        ({"stride": "9" * 400}, "its metadata 'stride' = <an integer of 400 digits> is not an integer"),
        (
            {"names": "[" * 3000 + "]" * 3000},
            "its metadata 'names' = '[[[[[[[[[[[[[[[[[...]]]]]]]]]]]]]]]]]]' is not a mapping of class ids (0, 1, ...) to names",
        ),
        ({"names": '{"0": ' + "[" * 900 + "]" * 900 + "}"}, "its metadata 'names' = '{\"0\": [[[[[[[[[[[...]]]]]"),
        ({"names": "{'a': 'circle'}"}, "its metadata 'names' = {'a': 'circle'} is not a mapping of class ids"),
        ({"names": "{0: ['circle']}"}, "its metadata 'names' = {0: ['circle']} is not a mapping"),
        ({"names": "7"}, "its metadata 'names' = 7 is not a mapping"),
        (
            {"task": "pose", "kpt_shape": "['a', 3]"},
            "its metadata 'kpt_shape' = ['a', 3] is not two integers from 1 to 1000",
        ),
        (
            {"task": "[" * 50 + "]" * 50},
            "is a '[[[[[[[[[[[[[[[[[...]]]]]]]]]]]]]]]]]]' model; vidcv runs detect, segment",
        ),
    ],
)
def test_bad_metadata_is_one_line_naming_the_model_and_the_key(demo_onnx, tmp_path, values, words):
    path = with_metadata(demo_onnx, tmp_path / "bad.onnx", **values)
    with pytest.raises(InferenceError) as caught:
        YoloModel(path, device="cpu", warmup=False)
    message = str(caught.value)
    assert message.startswith(f"{path}") and words in message, message
    assert "\n" not in message and len(message) < 400, message


def test_the_command_line_says_it_in_one_line(demo_onnx, tmp_path):
    path = with_metadata(demo_onnx, tmp_path / "bad.onnx", stride="abc")
    result = run_cli("model", "info", path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidcv: error")]
    assert errors == [
        (
            f"vidcv: error: {path}: its metadata 'stride' = 'abc' is not an integer from 1 to 4096; export "
            "the model again with ultralytics (vidcv model export) or correct its metadata"
        )
    ]
    assert "internal error" not in result.stderr


def test_ultralytics_metadata_still_reads(demo_onnx, tmp_path):
    path = with_metadata(demo_onnx, tmp_path / "ok.onnx", stride="32", names="{'0': 'circle', 1: 'square', 2: 'tri'}")
    info = YoloModel(path, device="cpu", warmup=False).info
    assert info.stride == 32 and info.names == {0: "circle", 1: "square", 2: "tri"}


def test_parse_meta_keeps_deep_values_as_text():
    assert parse_meta("{'a': [1, 2]}") == {"a": [1, 2]}
    deep = "[" * 20 + "]" * 20
    assert parse_meta(deep) == deep  # never a structure so deep that printing it could overflow the stack
    assert parse_meta("yolov8n") == "yolov8n"
