import functools
import os
import re

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import vidcv.presets
from vidcv.bundled import assets_dir, bundled_presets
from vidcv.errors import PresetError
from vidcv.params import shown
from vidcv.presets import dump_preset, load_preset, parse_preset, save_preset
from vidcv.registry import Registry


def documented_example() -> str:
    """The YAML example of vidcv.presets' docstring, read from there so that the tests follow the documentation."""
    doc = vidcv.presets.__doc__ or ""
    assert "```yaml\n" in doc, "the vidcv.presets docstring has lost its YAML example"
    return doc.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_documented_example_loads(registry):
    p = parse_preset(documented_example(), registry)
    assert [s.plugin_name for s in p.stages] == ["color", "canny"]
    assert [s.enabled for s in p.stages] == [True, False]
    assert p.stages[1].plugin.p.low == 50.0 and p.stages[1].plugin.p.aperture == 3


def test_save_and_load_round_trip_exactly(tmp_path, registry):
    p = parse_preset(documented_example(), registry)
    p.set_param(1, "l2gradient", True)
    p.set_param(0, "to", "hsv")
    path = str(tmp_path / "sub" / "saved.yaml")
    save_preset(p, path)
    again = load_preset(path, registry)
    assert dump_preset(again) == dump_preset(p)
    assert again.stages[0].plugin.p.to == "hsv" and again.stages[1].plugin.p.l2gradient is True
    assert again.stages[1].enabled is False
    save_preset(again, str(tmp_path / "twice.yaml"))
    assert open(path).read() == open(tmp_path / "twice.yaml").read()


@pytest.mark.parametrize("name", bundled_presets())
def test_bundled_presets_load_and_round_trip(name, registry):
    p = load_preset(f"{assets_dir()}/presets/{name}.yaml", registry)
    assert len(p) > 0
    assert dump_preset(parse_preset(dump_preset(p), registry)) == dump_preset(p)


@pytest.mark.parametrize(
    "text, words",
    [
        ("pipeline:\n  - plugin: cany\n", "stage 0 (cany): unknown plugin 'cany'; did you mean 'canny'?"),
        (
            "pipeline:\n  - plugin: color\n  - plugin: blur\n    params: {size: 3}\n",
            "stage 1 (blur): plugin 'blur' has no parameter 'size'",
        ),
        (
            "pipeline:\n  - plugin: blur\n    params: {ksize: four}\n",
            "stage 0 (blur): parameter 'ksize' = 'four' is not allowed: expected an odd integer from 1 to 99",
        ),
        ("pipeline:\n  - plugin: blur\n    params: {ksize: 4}\n", "parameter 'ksize' = 4 is not allowed"),
        (
            "pipeline:\n  - plugin: canny\n    params: {low: 5000}\n",
            "stage 0 (canny): parameter 'low' = 5000 is not allowed: expected a number from 0 to 1000",
        ),
        ("pipeline:\n  - plugin: color\n    params: {to: purple}\n", "expected one of bgr, gray, hsv"),
        ("pipeline:\n  - plugin: color\n    enabled: maybe\n", "'enabled' = 'maybe' is not allowed"),
        ("pipeline:\n  - plugin: color\n    parmas: {}\n", "stage 0 (color): unknown key 'parmas'"),
        ("pipeline:\n  - color\n", "stage 0: expected a mapping"),
        ("pipeline:\n  - params: {}\n", "missing 'plugin'"),
        ("pipelines: []\n", "unknown top-level key 'pipelines'"),
        ("- plugin: color\n", "expected a mapping with a 'pipeline' list"),
        ("pipeline: {plugin: color}\n", "'pipeline' must be a list"),
        ("pipeline: [\n", "not valid YAML at line"),
        ("version: 9\npipeline: []\n", "version 9 is not supported"),
    ],
)
def test_bad_presets_name_stage_parameter_value_and_what_is_allowed(text, words, registry):
    with pytest.raises(PresetError) as info:
        parse_preset(text, registry, origin="my.yaml")
    message = str(info.value)
    assert message.startswith("my.yaml") and words in message


def test_missing_preset_file():
    with pytest.raises(PresetError, match="no such preset file: nope.yaml"):
        load_preset("nope.yaml")


def test_yaml_is_read_safely(registry):
    with pytest.raises(PresetError, match="not valid YAML"):
        parse_preset("pipeline: !!python/object/apply:os.system ['echo hacked']\n", registry)


def test_empty_file_is_an_empty_pipeline(registry):
    assert len(parse_preset("", registry)) == 0


def test_a_saved_preset_keeps_its_description(tmp_path, registry):
    text = "description: Gray, then Canny\npipeline:\n  - plugin: color\n    params: {to: gray}\n  - plugin: canny\n"
    p = parse_preset(text, registry)
    assert p.description == "Gray, then Canny"
    save_preset(p, str(tmp_path / "mine.yaml"))
    saved = open(tmp_path / "mine.yaml").read()
    assert saved.startswith("description: Gray, then Canny\npipeline:\n")
    assert load_preset(str(tmp_path / "mine.yaml"), registry).description == "Gray, then Canny"
    assert "description" not in dump_preset(parse_preset("pipeline: []", registry))  # none given, none written
    with pytest.raises(PresetError, match="'description' must be text"):
        parse_preset("description: [a, b]\npipeline: []\n", registry)


@pytest.mark.parametrize("name", bundled_presets())
def test_bundled_presets_keep_their_description(name, registry):
    path = f"{assets_dir()}/presets/{name}.yaml"
    written = yaml.safe_load(open(path))["description"]
    assert yaml.safe_load(dump_preset(load_preset(path, registry)))["description"] == written


def test_find_preset_suggests_the_closest_name(tmp_path, monkeypatch):
    from vidcv.presets import find_preset

    assert find_preset("edges") == find_preset("edges.yaml") == os.path.join(assets_dir(), "presets", "edges.yaml")
    with pytest.raises(PresetError, match=r"no such preset file: edgse; did you mean 'edges'\? \(bundled presets: "):
        find_preset("edgse")
    (tmp_path / "my_edges.yaml").write_text("pipeline: []\n")
    monkeypatch.chdir(tmp_path)
    assert find_preset("my_edges.yaml") == "my_edges.yaml"
    with pytest.raises(PresetError, match=r"did you mean 'my_edges.yaml'\?"):
        find_preset("my_edgse.yaml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "my_edges.yaml").write_text("pipeline: []\n")
    with pytest.raises(PresetError, match=r"did you mean 'sub.my_edges.yaml'\?"):  # beside the name given
        find_preset(os.path.join("sub", "my_edgs.yaml"))
    with pytest.raises(PresetError) as exc:
        find_preset("zzzz")
    assert "did you mean" not in str(exc.value)


# --- hostile presets: bounded reading, one short line per fault ---------------------------------------------


def anchor_bomb(depth: int) -> str:
    """A few hundred bytes that PyYAML's aliases would expand to 9**depth strings."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, depth + 1)]
    return "\n".join(lines) + f"\npipeline: [{{plugin: blur, params: {{ksize: *l{depth}}}}}]\n"


def test_an_anchor_bomb_is_refused_at_its_first_alias(tmp_path, registry):
    path = tmp_path / "bomb.yaml"
    path.write_text(anchor_bomb(9))  # 9**9 = 387 million strings once expanded
    assert path.stat().st_size < 600
    with pytest.raises(PresetError) as info:
        load_preset(str(path), registry)
    assert str(info.value) == (
        f"{path}: not valid YAML at line 2, column 10: aliases (*name, which repeat an &name "
        "anchor) are not allowed here: write each value out in full"
    )


def test_anchors_without_aliases_and_saved_shared_values_load(registry):
    assert len(parse_preset("description: &d edges\npipeline: [{plugin: canny}]\n", registry)) == 1
    p = parse_preset("pipeline: [{plugin: in_range}, {plugin: in_range}]\n", registry)
    shared = [1, 2, 3]
    p.stages[0].plugin.p["lower"] = p.stages[1].plugin.p["lower"] = shared  # one list object in two stages
    text = dump_preset(p)
    assert "&" not in text and "*" not in text  # written out twice, which the loader takes back
    assert [s.plugin.p.lower for s in parse_preset(text, registry).stages] == [shared, shared]


def test_a_preset_file_is_read_only_up_to_its_limit(tmp_path, registry):
    from vidcv.presets import MAX_PRESET_BYTES

    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as fh:
        fh.write(b"pipeline:\n" + b"- {plugin: blur}\n" * 1000)
        fh.truncate(4 * 1024**3)  # a sparse 4 GB file: refused after reading MAX_PRESET_BYTES + 1
    with pytest.raises(PresetError, match=rf"^{huge}: over 256 KB, too large for a preset"):
        load_preset(str(huge), registry)
    with pytest.raises(PresetError, match="too large for a preset"):
        parse_preset("pipeline: []\n" + "#" * MAX_PRESET_BYTES, registry)
    (tmp_path / "bin.yaml").write_bytes(b"pipeline: [\xff]\n")
    with pytest.raises(PresetError, match="not a preset: byte 11 is not UTF-8 text"):
        load_preset(str(tmp_path / "bin.yaml"), registry)


@pytest.mark.parametrize(
    "text, words",
    [
        ("pipeline:\n" + "- {plugin: gray}\n" * 257, "257 stages, more than the 256 a pipeline may have"),
        ("pipeline: " + "[" * 5000 + "]" * 5000 + "\n", "not a preset: its values are nested too deeply"),
        (
            "pipeline: [{plugin: blur, params: {ksize: " + "7" * 5000 + "}}]\n",
            "not a preset: an integer has too many digits",
        ),
        (
            "pipeline: [{plugin: blur, params: {1: 2}}]\n",
            "stage 0 (blur): plugin 'blur' has no parameter 1; its parameters are: method, ksize",
        ),
        (
            "pipeline: [{plugin: blur, params: {ksize: " + "9" * 400 + "}}]\n",
            (
                "stage 0 (blur): parameter 'ksize' = <an integer of 400 digits> is not allowed: expected an odd integer from 1 "
                "to 99"
            ),
        ),
        (
            "pipeline: [{plugin: canny, params: {low: " + "9" * 400 + "}}]\n",
            "stage 0 (canny): parameter 'low' = <an integer of 400 digits> is not allowed: expected a number from 0 to 1000",
        ),
        (
            "pipeline: [{plugin: blur, params: {method: [" + ", ".join(["x" * 100] * 2000) + "]}}]\n",
            "stage 0 (blur): parameter 'method' = ['xxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxx', 'xxxxx",
        ),
        (
            "pipeline: [{plugin: " + "x" * 100_000 + "}]\n",
            "stage 0: unknown plugin 'xxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxx'; the plugins are: ",
        ),
        ("pipeline: [{plugin: [1, 2]}]\n", "stage 0: 'plugin' = [1, 2] is no name (the registry name, e.g. blur)"),
        ("pipeline: [{plugin: canny, enabled: " + "y" * 10_000 + "}]\n", "'enabled' = 'yyyyyyyyyyyyyyyyy...yyy"),
        ("version: true\npipeline: []\n", "preset format version True is not supported"),
    ],
)
def test_hostile_presets_get_one_short_line(text, words, registry):
    with pytest.raises(PresetError) as info:
        parse_preset(text, registry, origin="my.yaml")
    message = str(info.value)
    assert message.startswith("my.yaml: ") and words in message, message
    assert "\n" not in message and len(message) <= 400, message


# --- fuzzed presets: hypothesis writes them, every rejection is one short line naming the stage and parameter ---


@functools.cache
def fuzz_registry() -> Registry:
    """The installed plugins, made once (a function-scoped fixture would be shared by every hypothesis example)."""
    return Registry()


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(10**300, 10**400)
    | st.integers(-(10**400), -(10**300))
    | st.floats()
    | st.text(max_size=12)
    | st.builds(lambda c, n: c * n, st.characters(blacklist_categories=("Cs",)), st.integers(200, 20_000))
    | st.sampled_from(["gray", "gaussian", "yolov8n", "/nonexistent/model.onnx", "frame", "0"]),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=3),
    max_leaves=12,
)


@st.composite
def _stage(draw: st.DrawFn) -> object:
    names = fuzz_registry().names()
    name = draw(st.sampled_from(names) | st.text(max_size=8) | _values)
    declared = list(fuzz_registry().get(name).declared()) if name in names else []
    keys = (st.sampled_from(declared) if declared else st.nothing()) | st.text(max_size=6) | st.integers()
    item = {"plugin": name, "params": draw(st.dictionaries(keys, _values, max_size=4) | _values)}
    if draw(st.integers(0, 9)) == 0:
        item["enabled"] = draw(st.booleans() | _values)
    if draw(st.integers(0, 19)) == 0:
        item[draw(st.text(max_size=6) | st.integers())] = draw(_values)
    return item if draw(st.integers(0, 19)) else draw(_values)  # now and then no stage at all


_documents = st.fixed_dictionaries(
    {"pipeline": st.lists(_stage(), max_size=3)}, optional={"version": st.just(1) | _values, "description": _values}
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_documents)
def test_fuzzed_presets_are_loaded_or_refused_in_one_line_naming_stage_and_parameter(doc):
    try:
        parse_preset(yaml.safe_dump(doc, sort_keys=False), fuzz_registry(), origin="fuzz.yaml").close()
        event("loaded")
        return
    except PresetError as exc:
        message = str(exc)
    event(
        "refused: "
        + (
            "a huge integer"
            if "<an integer of" in message
            else "a parameter name that is no text"
            if re.search(r"no parameter -?\d", message)
            else "a long value, cut"
            if "..." in message
            else "other"
        )
    )
    assert message.startswith("fuzz.yaml: ") and "\n" not in message and len(message) <= 400, message
    where = re.match(r"fuzz\.yaml: stage (\d+)", message)
    if where is None:
        return
    stage = doc["pipeline"][int(where[1])]
    if not (
        isinstance(stage, dict)
        and set(stage) <= {"plugin", "params", "enabled"}
        and stage.get("plugin") in fuzz_registry().names()
        and isinstance(stage.get("enabled", True), bool)
        and isinstance(stage.get("params"), dict)
        and stage["params"]
    ):
        return  # a fault of the stage itself, named above
    # the fault is in its parameters: the message names one of them
    assert any(f"parameter '{key}'" in message or f"no parameter {shown(key)}" in message for key in stage["params"]), (
        message
    )


def test_a_stage_whose_model_is_refused_says_why_whole(tmp_path):
    """A stage's own error (a .pt given as a model, a folder) is shown whole on one line: the fix is at its end
    (it was cut in the middle by the shortening meant for echoed values)."""
    (tmp_path / "runs" / "shapes" / "weights").mkdir(parents=True)
    pt = tmp_path / "runs" / "shapes" / "weights" / "best.pt"
    pt.write_bytes(b"not really")
    for model, end in (
        (str(pt), "(loading a .pt unpickles it, which can run code)"),
        (str(tmp_path / "runs"), "is a folder, not a model file: give the path of an .onnx file"),
    ):
        with pytest.raises(PresetError) as caught:
            parse_preset(f"pipeline:\n  - plugin: yolo\n    params: {{model: '{model}'}}\n", origin="p.yaml")
        message = str(caught.value)
        assert message.endswith(end) and model in message and "\n" not in message and "..." not in message


def test_a_relative_model_path_is_found_beside_the_preset_from_any_folder(tmp_path, monkeypatch):
    import shutil

    from vidcv.bundled import assets_dir

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(os.path.join(assets_dir(), "models", "shapes_yolov8n.onnx"), run / "best.onnx")
    (run / "pipeline.yaml").write_text("pipeline:\n  - plugin: yolo\n    params: {model: best.onnx, device: cpu}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    pipeline = load_preset(str(run / "pipeline.yaml"))
    assert pipeline.stages[0].plugin.values()["model"] == str(run / "best.onnx")
    assert "best.onnx" in dump_preset(pipeline)  # saved again: the absolute path, found from anywhere


def test_decode_is_bgr_by_default_luma_when_asked_and_anything_else_is_refused_in_one_line():
    from vidcv.codegen import export_script
    from vidcv.presets import dump_preset, parse_preset

    plain = parse_preset("pipeline:\n  - plugin: canny\n")
    assert plain.decode == "bgr" and "decode" not in dump_preset(plain)  # the default is left out of a saved preset
    luma = parse_preset("decode: luma\npipeline:\n  - plugin: canny\n")
    assert luma.decode == "luma" and parse_preset(dump_preset(luma)).decode == "luma"  # kept when saved
    assert "decode: luma" in export_script(luma) and "decode: luma" not in export_script(plain)
    for bad in ("gray", "LUMA", 1, True, "[bgr]", "null"):
        with pytest.raises(PresetError) as err:
            parse_preset(f"decode: {bad}\npipeline: []\n", origin="p.yaml")
        message = str(err.value)
        assert message.startswith("p.yaml: 'decode' = ") and "use bgr" in message and "\n" not in message
