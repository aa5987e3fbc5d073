"""bitwise equals cv2.bitwise_* with the original or an earlier stage's output."""

import cv2
import numpy as np
import pytest
from plugin_helpers import IMAGES, KINDS, REG, run, same

from vidcv.frame import Frame
from vidcv.pipeline import Pipeline
from vidcv.presets import parse_preset

OPS = {"and": cv2.bitwise_and, "or": cv2.bitwise_or, "xor": cv2.bitwise_xor}


@pytest.mark.parametrize("kind", KINDS)
def test_not(kind):
    assert same(run("bitwise", IMAGES[kind], op="not").image, cv2.bitwise_not(IMAGES[kind]))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", sorted(OPS))
def test_same_shape_with_the_original(kind, op):
    img = IMAGES[kind]
    frame = Frame(cv2.flip(img, 1), 0, 0.0, source_image=img)
    out = REG.create("bitwise", op=op).process(frame)
    assert same(out.image, OPS[op](cv2.flip(img, 1), img))


@pytest.mark.parametrize("op", sorted(OPS))
def test_a_mask_stage_applied_to_the_original(op):
    """The classic colour-mask pipeline: in_range makes a mask, bitwise applies it to the original."""
    img = IMAGES["color-37x53"]
    pipeline = parse_preset(f"""
pipeline:
  - plugin: in_range
    params: {{space: bgr, lower: [0, 0, 100], upper: [255, 255, 255]}}
  - plugin: bitwise
    params: {{op: {op}, with: original}}
""")
    out = pipeline.process(Frame(img.copy(), 0, 0.0))
    mask = cv2.inRange(img, np.array([0, 0, 100], np.uint8), np.array([255, 255, 255], np.uint8))
    expected = (
        cv2.bitwise_and(img, img, mask=mask) if op == "and" else OPS[op](img, cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR))
    )
    assert same(out.image, expected) and out.color_space == "bgr"


def test_with_an_earlier_stage_by_index():
    img = IMAGES["color-61x45"]
    pipeline = parse_preset("""
pipeline:
  - plugin: threshold
    params: {method: otsu}
  - plugin: color
    params: {to: bgr}
  - plugin: morphology
    params: {op: dilate, ksize: 5}
  - plugin: bitwise
    params: {op: xor, with: stage, stage: 1}
""")
    out = pipeline.process(Frame(img.copy(), 0, 0.0))
    binary = cv2.threshold(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    as_bgr = cv2.cvtColor(binary, cv2.COLOR_GRAY2BGR)
    dilated = cv2.dilate(as_bgr, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    assert same(out.image, cv2.bitwise_xor(dilated, as_bgr))


def test_a_later_or_missing_stage_is_reported_and_bypassed():
    pipeline = Pipeline([REG.create("bitwise", **{"with": "stage", "stage": 3})])
    errors = []
    pipeline.process(Frame(IMAGES["gray-37x53"].copy(), 0, 0.0), errors.append)
    assert "'stage' = 3 is not an earlier stage: this stage is stage 0" in errors[0].message


def test_size_mismatch_is_a_clear_error():
    img = IMAGES["color-37x53"]
    frame = Frame(cv2.resize(img, (10, 10)), 0, 0.0, source_image=img)
    with pytest.raises(ValueError, match="sizes differ: the frame is 10x10, the operand 53x37"):
        REG.create("bitwise").process(frame)


def test_disabled_stages_pass_their_input_on_in_stage_images():
    pipeline = parse_preset("""
pipeline:
  - plugin: flip
    enabled: false
  - plugin: bitwise
    params: {op: xor, with: stage, stage: 0}
""")
    out = pipeline.process(Frame(IMAGES["gray-37x53"].copy(), 0, 0.0))
    assert not out.image.any()  # x xor x
