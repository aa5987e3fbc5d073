"""vidcv.codegen: how a pipeline becomes a script (helpers copied in order, names, the vidcv fallback)."""

import runpy

import numpy as np

from vidcv.codegen import _assignment, _Helpers, export_script
from vidcv.frame import Frame
from vidcv.params import Int
from vidcv.pipeline import Pipeline
from vidcv.plugin import Plugin
from vidcv.registry import default_registry
from vidcv.stagecode import CodeContext, StageCode

REG = default_registry()


class Invert(Plugin):
    """A third-party plugin that does not say how it is written as code."""

    name = "invert"
    params = (Int("strength", 255, 0, 255),)

    def process(self, frame: Frame) -> Frame:
        return frame.with_image(self.p.strength - frame.image)


def test_helpers_come_with_what_they_use_before_them():
    helpers = _Helpers()
    helpers.add_used_by("to_gray(image, 'hsv')", ["vidcv.imageops"])
    names = list(helpers.sources)
    assert names.index("COLOR_SPACES") < names.index("convert_color") < names.index("to_gray")
    assert {"_FROM_BGR", "_TO_BGR", "_DIRECT"} <= set(names) and "to_bgr" not in names


def test_a_plugin_without_code_runs_through_vidcv_and_the_script_says_so():
    pipeline = Pipeline([REG.create("blur"), Invert(strength=200)])
    code = export_script(pipeline, "mixed")
    assert "It needs vidcv" in code and "invert run through vidcv's own" in code
    assert 'INVERT = default_registry().create(\n    "invert",\n    strength=200,\n)' in code
    assert "from vidcv.frame import Frame" in code and "class Frame" not in code


def test_a_stage_named_like_a_helper_it_uses_is_renamed():
    class ToGray(Plugin):
        name = "to_gray"

        def process(self, frame: Frame) -> Frame:
            return frame.with_image(frame.image[..., 0].copy())

        def to_code(self, ctx: CodeContext) -> StageCode:
            return StageCode("return frame.with_image(to_gray(frame.image, frame.color_space))", "gray")

    code = export_script(Pipeline([ToGray()]), "t")
    assert "def to_gray_stage(frame: Frame) -> Frame:" in code and "def to_gray(image" in code
    assert "frame = to_gray_stage(frame)" in code


def test_long_calls_are_split_one_argument_a_line():
    assert _assignment("A", "f(1, 2)") == "A = f(1, 2)"
    long = _assignment("NAME", "cv2.createBackgroundSubtractorMOG2(" + ", ".join(["X" * 30] * 3) + ", k=True)")
    assert long.splitlines() == [
        "NAME = cv2.createBackgroundSubtractorMOG2(",
        *["    " + "X" * 30 + ","] * 3,
        "    k=True,",
        ")",
    ]


def test_the_script_runs_as_a_module(tmp_path):
    path = tmp_path / "p.py"
    pipeline = Pipeline([REG.create("color", to="hsv"), REG.create("in_range"), REG.create("morphology")])
    path.write_text(export_script(pipeline, "p"))
    ns = runpy.run_path(str(path))
    image = np.random.default_rng(3).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    got = ns["process"](ns["Frame"](image.copy()))
    want = pipeline.process(Frame(image.copy(), 0, 0.0))
    assert np.array_equal(got.image, want.image) and got.color_space == want.color_space == "gray"
