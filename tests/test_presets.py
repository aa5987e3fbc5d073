import os

import pytest

import vidcv.presets
from vidcv.bundled import bundled_presets, assets_dir
from vidcv.errors import PresetError
from vidcv.presets import dump_preset, load_preset, parse_preset, save_preset


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


@pytest.mark.parametrize("text, words", [
    ("pipeline:\n  - plugin: cany\n", "stage 0 (cany): unknown plugin 'cany'; did you mean 'canny'?"),
    ("pipeline:\n  - plugin: color\n  - plugin: blur\n    params: {size: 3}\n",
     "stage 1 (blur): plugin 'blur' has no parameter 'size'"),
    ("pipeline:\n  - plugin: blur\n    params: {ksize: four}\n",
     "stage 0 (blur): parameter 'ksize' = 'four' is not allowed: expected an odd integer from 1 to 99"),
    ("pipeline:\n  - plugin: blur\n    params: {ksize: 4}\n", "parameter 'ksize' = 4 is not allowed"),
    ("pipeline:\n  - plugin: canny\n    params: {low: 5000}\n",
     "stage 0 (canny): parameter 'low' = 5000 is not allowed: expected a number from 0 to 1000"),
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
])
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
    import yaml

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
