"""`vidcv presets` (vidcv/cli/presets.py): the bundled presets with their descriptions and stages, as text and
JSON, and one preset's YAML to start a preset of one's own from (issue 24 item 9)."""

import json
import os

import yaml

from media import run_cli
from vidcv.bundled import bundled_preset, bundled_presets
from vidcv.presets import load_preset, pipeline_to_dict


def bundled(name):
    with open(bundled_preset(name), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_presets_lists_every_bundled_preset_with_its_description_and_stages():
    names = bundled_presets()
    assert {"edges", "shapes", "track_shapes"} <= set(names)
    res = run_cli("presets", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["broken"] == [] and [p["name"] for p in doc["presets"]] == names
    for preset in doc["presets"]:
        data = bundled(preset["name"])
        assert preset["description"] == data["description"] and preset["description"]
        assert [s["plugin"] for s in preset["stages"]] == [s["plugin"] for s in data["pipeline"]]
        assert all(s["enabled"] for s in preset["stages"]) and os.path.samefile(
            preset["path"], bundled_preset(preset["name"])
        )
    text = run_cli("presets")
    assert text.returncode == 0 and text.stderr == ""
    lines = text.stdout.splitlines()
    for name in names:
        data = bundled(name)
        row = next(i for i, line in enumerate(lines) if line.split()[:1] == [name])
        assert lines[row].endswith(data["description"])
        assert lines[row + 1].split() == ["stages:", *" -> ".join(s["plugin"] for s in data["pipeline"]).split()]


def test_presets_name_prints_the_yaml_that_runs_as_the_bundled_one(tmp_path):
    res = run_cli("presets", "track_shapes")
    assert res.returncode == 0, res.stderr
    with open(bundled_preset("track_shapes"), encoding="utf-8") as fh:
        assert res.stdout == fh.read()
    mine = tmp_path / "my.yaml"  # what `vidcv presets track_shapes > my.yaml` makes
    mine.write_text(res.stdout)
    assert pipeline_to_dict(load_preset(str(mine))) == pipeline_to_dict(load_preset(bundled_preset("track_shapes")))
    one = json.loads(run_cli("presets", "edges", "--json").stdout)
    assert one["name"] == "edges" and [s["plugin"] for s in one["stages"]] == ["color", "blur", "canny"]


def test_a_mistyped_preset_name_gets_a_did_you_mean():
    res = run_cli("presets", "edgs")
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith("vidcv: error: no such preset file: edgs; did you mean 'edges'?")
    assert len(res.stderr.splitlines()) == 1


def test_a_preset_file_is_described_too_with_a_bypassed_stage_marked(tmp_path):
    from vidcv.cli.presets import describe_preset, stages_text

    mine = tmp_path / "mine.yaml"
    mine.write_text("description: Mine\npipeline:\n  - plugin: color\n  - plugin: canny\n    enabled: false\n")
    res = run_cli("presets", str(mine), "--json")
    assert res.returncode == 0, res.stderr
    described = json.loads(res.stdout)
    assert described == describe_preset("mine", str(mine))
    assert [(s["plugin"], s["enabled"]) for s in described["stages"]] == [("color", True), ("canny", False)]
    assert stages_text(described) == "color -> canny (off)"
    mine.write_text("pipeline: [1, 2]\n")
    res = run_cli("presets", str(mine), "--json")
    assert res.returncode == 1 and res.stderr == (
        f"vidcv: error: {mine}: 'pipeline' must be a list of stages, each with its 'plugin'\n"
    )
