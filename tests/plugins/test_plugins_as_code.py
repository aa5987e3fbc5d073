"""Exported scripts compute what vidcv computes: every classic plugin, bit for bit, over a spread of values."""

import sys
import types

import cv2
import numpy as np
import pytest
from plugin_helpers import IMAGES, REG
from test_presets_all_plugins import other_value

from vidcv.codegen import export_script
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline, Stage
from vidcv.stagecode import CodeContext

#: Plugins a script runs with OpenCV and NumPy alone.
CLASSIC = sorted(n for n in REG.names() if REG.get(n).category not in ("detection", "tracking"))

#: Values worth trying beyond "each parameter changed on its own" (branches that need two values at once).
EXTRA = {
    "canny": [{"auto": True, "sigma": 0.5}, {"aperture": 5, "l2gradient": True}],
    "blur": [{"method": m, "ksize": 7} for m in ("box", "gaussian", "median", "bilateral")],
    "threshold": [
        {"method": m}
        for m in (
            "binary",
            "binary_inv",
            "trunc",
            "tozero",
            "tozero_inv",
            "otsu",
            "triangle",
            "adaptive_mean",
            "adaptive_gaussian",
        )
    ],
    "color": [{"to": s} for s in ("bgr", "gray", "hsv", "hls", "lab", "ycrcb", "rgb")],
    "bitwise": [{"op": op, "with": "stage", "stage": 0} for op in ("and", "or", "xor")]
    + [{"op": "xor"}, {"op": "not"}, {"with": "stage", "stage": 1}],  # the last: not an earlier stage
    "resize": [
        {"width": 40, "height": 30},
        {"width": 40},
        {"height": 50, "interpolation": "cubic"},
        {"scale": 1.7, "interpolation": "lanczos"},
        {"interpolation": "linear"},
    ],
    "rotate": [
        {"angle": 30.0, "expand": True},
        {"angle": 90.0, "expand": True},
        {"angle": -45.0, "scale": 0.7, "expand": True},
    ],
    "flip": [{"mode": "both"}],
    "crop": [{"x": 10, "y": 5, "width": 20, "height": 15}, {"x": 40, "width": 30}, {"x": 100}],  # clipped; outside
    "translate": [{"dx": -7, "dy": 5}],
    "contours": [
        {"mode": "ccomp"},
        {"mode": "tree"},
        {"min_area": 0.0},
        {"min_area": 20.0, "max_area": 400.0},
        {"draw": "none"},
    ],
    "background_subtraction": [{"method": "knn", "var_threshold": 400.0}, {"method": "knn", "detect_shadows": False}],
}
EXTRA["threshold"] += [
    {"method": "adaptive_mean", "block_size": 25, "c": -4.5, "maxval": 200.0},
    {"method": "adaptive_gaussian", "block_size": 5, "c": 7.0},
    {"method": "otsu", "maxval": 128.0},
    {"method": "triangle", "maxval": 100.0},
    {"method": "trunc", "thresh": 90.0},
    {"method": "binary_inv", "thresh": 200.0, "maxval": 180.0},
]
EXTRA["morphology"] = [
    {"op": op, "ksize": 5} for op in ("erode", "dilate", "open", "close", "gradient", "tophat", "blackhat")
] + [{"shape": s, "ksize": 7, "iterations": 3} for s in ("rect", "ellipse", "cross")]
EXTRA["equalize"] = [{"clip_limit": 0.5, "tile": 2}, {"method": "global"}]
EXTRA["brightness_contrast"] = [{"alpha": 1.8, "beta": -40.0, "gamma": 0.5}, {"alpha": 0.5, "beta": 60.0, "gamma": 2.2}]
EXTRA["kmeans"] = [{"k": 2, "attempts": 3}, {"k": 8}]
EXTRA["features"] = [{"method": m, "max_features": 10} for m in ("orb", "sift", "fast")]
EXTRA["sobel"] = [{"ksize": k, "normalize": n} for k in (5, 7) for n in (True, False)]

#: Stages put before the plugin so that it sees other inputs than BGR (a colour space, a mask).
BEFORE = {
    "none": [],
    "hsv": [("color", {"to": "hsv"})],
    "mask": [("threshold", {"method": "otsu"})],
    "mask-bgr": [("threshold", {"method": "otsu"}), ("color", {"to": "bgr"})],  # bitwise: the earlier output a mask
    "lab-mask": [("color", {"to": "lab"}), ("threshold", {"method": "otsu"})],  # bitwise: the frame a mask
}


def _large() -> np.ndarray:
    """A 240x320 textured image: the plugin test images are too small for ORB to find anything."""
    rng = np.random.default_rng(7)
    img = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (3, 3), 0.8)
    for i in range(12):
        cv2.rectangle(img, (20 * i, 10 * i), (20 * i + 40, 10 * i + 30), (255 - 20 * i, 20 * i, 128), -1)
    return img


INPUTS = {**{k: v for k, v in IMAGES.items() if v.ndim == 3}, "large": _large()}  # sources deliver BGR


def spread(name):
    """Defaults, each parameter changed on its own, and the extra combinations."""
    cls = REG.get(name)
    values = [{}] + [{p.name: other_value(p)} for p in cls.params if p.kind not in ("str", "path")]
    return values + EXTRA.get(name, [])


def load(code: str, name: str = "exported") -> types.ModuleType:
    """Import the script's text as a module (as `python script.py` would, without running main)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module
    try:
        exec(compile(code, module.__file__, "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module


CASES = [(name, i, before) for name in CLASSIC for i in range(len(spread(name))) for before in BEFORE]


@pytest.mark.parametrize("name, case, before", CASES)
def test_the_script_equals_vidcv(name, case, before):
    values = spread(name)[case]
    stages = [Stage(REG.create(n, **v)) for n, v in BEFORE[before]]
    stages.append(Stage(REG.create(name, **values)))
    pipeline = Pipeline(stages)
    assert all(s.plugin.to_code(CodeContext()) is not None for s in pipeline.stages), f"{name} has no to_code"
    script = load(export_script(pipeline, name))
    compared = 0
    for kind, image in INPUTS.items():
        for index in range(3 if REG.get(name).stateful else 1):
            errors = []
            want = pipeline.process(Frame(image.copy(), index, index * 33.3), errors.append)
            got = script.process(script.Frame(image.copy(), index, index * 33.3))
            if errors:  # vidcv bypasses a stage that raised (an invalid combination): nothing to compare
                continue
            assert got.color_space == want.color_space, (kind, values)
            assert got.image.dtype == want.image.dtype and np.array_equal(got.image, want.image), (kind, values)
            compared += 1
    assert compared or name == "bitwise", f"no valid case for {name} {values} after {before}"


def test_every_classic_plugin_writes_itself_as_code():
    missing = [n for n in CLASSIC if REG.create(n).to_code(CodeContext()) is None]
    assert missing == []


def test_a_bypassed_stage_is_left_out_with_a_comment():
    pipeline = Pipeline([Stage(REG.create("blur")), Stage(REG.create("canny"), enabled=False)])
    code = export_script(pipeline, "t")
    assert "    # canny: bypassed in the pipeline" in code and "frame = canny(frame)" not in code
    image = IMAGES["color-37x53"]
    got = load(code).process(load(code).Frame(image.copy())).image
    assert np.array_equal(got, pipeline.process(Frame(image.copy(), 0, 0.0)).image)


def test_repeated_plugins_get_their_own_functions_and_constants():
    pipeline = Pipeline([Stage(REG.create("blur", ksize=3)), Stage(REG.create("blur", ksize=9))])
    code = export_script(pipeline, "t")
    assert "BLUR_1_KSIZE = 3" in code and "BLUR_2_KSIZE = 9" in code
    assert "def blur_1(frame: Frame) -> Frame:" in code and "def blur_2(frame: Frame) -> Frame:" in code
    image = IMAGES["color-61x45"]
    script = load(code)
    assert np.array_equal(
        script.process(script.Frame(image.copy())).image, pipeline.process(Frame(image.copy(), 0, 0.0)).image
    )


def code_lines(pipeline):
    """The exported script without its comments and docstrings (which quote the plugin summaries)."""
    code = export_script(pipeline, "t").split('"""', 2)[2]
    return "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("#", '"""')))


def test_no_dead_branches_for_the_values_chosen():
    code = code_lines(Pipeline([Stage(REG.create("blur", method="median"))]))
    assert "medianBlur" in code and "GaussianBlur" not in code and "bilateralFilter" not in code
    code = code_lines(Pipeline([Stage(REG.create("threshold", method="otsu"))]))
    assert "THRESH_OTSU" in code and "adaptiveThreshold" not in code
