"""The yolo stage: the bundled demo model by default, class filters, source pixels after a resize."""

import numpy as np
import pytest
from plugin_helpers import REG

from vidcv.errors import ParamError, PresetError
from vidcv.frame import Frame
from vidcv.presets import parse_preset


def shapes_scene_and_names():
    """Frame 150 of the bundled sample (640x360, which the model sees letterboxed to 256) and the sorted
    class names of the shapes its truth file says are there: a circle, a square and a triangle."""
    import json
    import os

    import cv2

    from vidcv.bundled import assets_dir, sample_video

    cap = cv2.VideoCapture(sample_video())
    cap.set(cv2.CAP_PROP_POS_FRAMES, 150)
    ok, img = cap.read()
    cap.release()
    assert ok
    with open(os.path.join(assets_dir(), "sample_truth.json")) as fh:
        objects = json.load(fh)["frames"][150]["objects"]
    return img, sorted(o["class"] for o in objects)


def shapes_scene():
    return shapes_scene_and_names()[0]


def test_default_model_finds_the_demo_shapes():
    plugin = REG.create("yolo", device="cpu")
    assert plugin.provider == "CPU"
    scene, expected = shapes_scene_and_names()
    dets = plugin.process(Frame(scene, 0, 0.0)).detections
    names = sorted(dets.class_name(c) for c in dets.class_id)
    assert names == expected == ["circle", "square", "triangle"]
    direct = plugin.model(shapes_scene())
    assert np.array_equal(dets.xyxy, direct.xyxy)


def test_classes_by_name_or_id():
    only = REG.create("yolo", device="cpu", classes="square").process(Frame(shapes_scene(), 0, 0.0)).detections
    assert [only.class_name(c) for c in only.class_id] == ["square"]
    assert REG.create("yolo", device="cpu", classes="0, 2").class_ids == [0, 2]
    with pytest.raises(ParamError, match="'hexagon' is not a class of this model; its classes are 0=circle"):
        REG.create("yolo", device="cpu", classes="hexagon")


def test_boxes_after_a_resize_are_in_source_pixels():
    direct = REG.create("yolo", device="cpu").process(Frame(shapes_scene(), 0, 0.0)).detections
    pipeline = parse_preset(
        "pipeline:\n  - plugin: resize\n    params: {scale: 0.5}\n  - plugin: yolo\n    params: {device: cpu}\n", REG
    )
    small = pipeline.process(Frame(shapes_scene(), 0, 0.0)).detections
    assert len(small) == len(direct) == 3

    def key(d):
        return np.lexsort((d.xyxy[:, 0], d.class_id))

    assert np.abs(small.xyxy[key(small)] - direct.xyxy[key(direct)]).max() < 8


def test_a_missing_model_is_a_preset_error_naming_the_stage():
    with pytest.raises(PresetError, match=r"stage 0 \(yolo\): parameter 'model' = 'nope.onnx': no such file"):
        parse_preset("pipeline:\n  - plugin: yolo\n    params: {model: nope.onnx}\n", REG)
