"""Every declared parameter of every plugin is reachable from a preset, and presets round-trip."""

import pytest
import yaml
from plugin_helpers import REG

from vidcv.params import Param
from vidcv.presets import dump_preset, parse_preset

NAMES = REG.names()


# Free-text parameters whose valid values depend on the plugin.
KNOWN_GOOD = {"classes": "circle, triangle"}


def other_value(param: Param):
    """A valid value that differs from the default."""
    if param.name in KNOWN_GOOD and param.kind == "str":
        return KNOWN_GOOD[param.name]
    if param.kind == "bool":
        return not param.default
    if param.kind == "choice":
        return next(c for c in param.choices if c != param.default)
    if param.kind == "path" and param.choices:
        return next(c for c in param.choices if c != param.default)
    if param.kind in ("str", "path"):
        return param.default + "x"
    if param.kind in ("color", "ints"):
        hi = 255 if param.kind == "color" else param.maximum
        return [v - 1 if hi is not None and v >= hi else v + 1 for v in param.default]
    step = param.step or 1
    if param.kind == "int" and param.odd:
        if param.default == 0:
            return 1  # "0 = off", then odd values
        step = 2
    value = param.default + step
    if param.maximum is not None and value > param.maximum:
        value = param.default - step
    return int(value) if param.kind == "int" else float(value)


def test_the_classic_library_is_registered():
    expected = {
        "color",
        "in_range",
        "threshold",
        "morphology",
        "blur",
        "sharpen",
        "canny",
        "sobel",
        "prewitt",
        "scharr",
        "laplacian",
        "equalize",
        "brightness_contrast",
        "resize",
        "rotate",
        "flip",
        "crop",
        "translate",
        "bitwise",
        "contours",
        "background_subtraction",
        "features",
        "kmeans",
    }
    assert expected <= set(NAMES)


def runs_here(name, param, value):
    """False for a value this machine cannot run (roi_track's contrib-only methods without opencv-contrib)."""
    from vidcv.errors import ParamError

    try:
        REG.create(name, **{param.name: value})
    except ParamError as exc:
        assert "needs opencv-contrib-python" in str(exc)
        return False
    return True


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_is_reachable_from_a_preset(name):
    cls = REG.get(name)
    for param in cls.params:
        value = other_value(param)
        if not runs_here(name, param, value):
            continue
        param.validate(value)
        text = yaml.safe_dump({"pipeline": [{"plugin": name, "params": {param.name: value}}]})
        plugin = parse_preset(text, REG).stages[0].plugin
        assert plugin.p[param.name] == value, (name, param.name)


@pytest.mark.parametrize("name", NAMES)
def test_presets_round_trip_with_every_parameter_changed(name):
    cls = REG.get(name)
    params = {p.name: other_value(p) for p in cls.params if runs_here(name, p, other_value(p))}
    text = yaml.safe_dump({"pipeline": [{"plugin": name, "enabled": False, "params": params}]})
    pipeline = parse_preset(text, REG)
    dumped = dump_preset(pipeline)
    again = parse_preset(dumped, REG)
    assert dump_preset(again) == dumped
    assert {k: v for k, v in again.stages[0].plugin.p.items() if k in params} == params
    assert again.stages[0].enabled is False


@pytest.mark.parametrize("name", NAMES)
def test_every_plugin_declares_what_the_ui_needs(name):
    d = REG.get(name).to_dict()
    assert d["name"] == name and d["title"] and d["category"] != "other" and len(d["summary"]) > 20
    for p in d["params"]:
        assert p["help"], (name, p["name"])
        if p["type"] in ("int", "float"):
            assert "minimum" in p and "maximum" in p, (name, p["name"])
