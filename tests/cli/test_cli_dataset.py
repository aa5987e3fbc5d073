"""vidcv dataset stats and check on the command line: the table and the lines, exit statuses, the JSON's keys, --fix."""

import json
import os
import shutil

import pytest
import yaml

from media import run_cli
from vidcv.dataset.check import KINDS

pytestmark = pytest.mark.timeout(300)
SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "assets", "sample.mp4")
STATS_KEYS = [
    "dataset",
    "format",
    "family",
    "classes",
    "splits",
    "frames",
    "labels",
    "negatives",
    "missing_labels",
    "images_per_class",
    "notes",
]
CHECK_KEYS = ["dataset", "format", "family", "checked", "clean", "counts", "problems", "fixed", "notes"]
PROBLEM_KEYS = ["kind", "path", "line", "message", "fix", "fixable", "fixed"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The bundled sample, every 30th frame, extracted with the demo model: 10 frames in train and val (a
    circle, a square and a triangle in each)."""
    root = tmp_path_factory.mktemp("cli") / "ds"
    res = run_cli(
        "extract", SAMPLE, "-p", "shapes", "--every", "30", "--split", "0.5,0.5,0", "--split-by", "frame",
        "--out", str(root),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return root


def copy_of(dataset, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    meta = yaml.safe_load((root / "data.yaml").read_text())
    meta["path"] = str(root)
    (root / "data.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return root


def test_stats_prints_a_table_and_stable_json(dataset):
    res = run_cli("dataset", "stats", str(dataset))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"dataset   {dataset}" and lines[1].startswith("format    yolo (boxes), 3 classes")
    splits = [json.loads(line)["split"] for line in (dataset / "manifest.jsonl").read_text().splitlines()]
    per_split = [str(splits.count(s)) for s in ("train", "val", "test")]
    assert ["total", *per_split, "10"] in [line.split() for line in lines]  # frames per split
    assert ["circle", *per_split, "10"] in [line.split() for line in lines]  # one circle in each frame
    res = run_cli("dataset", "stats", str(dataset), "--json")
    doc = json.loads(res.stdout)
    assert res.returncode == 0 and list(doc) == STATS_KEYS
    assert doc["frames"]["total"] == 10 and doc["labels"]["total"] == 30 and doc["negatives"]["total"] == 0


def test_check_is_clean_then_lists_each_problem_in_one_line(dataset, tmp_path):
    res = run_cli("dataset", "check", str(dataset))
    assert res.returncode == 0 and res.stdout == f"{dataset}: no problems in 10 images and 10 label files\n"
    root = copy_of(dataset, tmp_path)
    name = sorted(os.listdir(root / "labels" / "train"))[0]
    label = root / "labels" / "train" / name
    label.write_text(label.read_text() + "7 0.5 0.5 0.1 0.1\n")
    shutil.copy(label, root / "labels" / "val" / "ghost.txt")
    shown = str(tmp_path / "ds") + "/"  # DIR as given, a trailing slash or not
    res = run_cli("dataset", "check", shown)
    lines = res.stdout.splitlines()
    assert res.returncode == 1 and res.stderr == ""
    assert lines == [
        f"{root}/labels/train/{name}:4: class 7 is not in data.yaml's names (0..2): correct the id, or add the "
        "class to data.yaml's names",
        f"{root}/labels/val/ghost.txt: a label file without its image (no ghost.* in images/val): --fix moves it "
        "to quarantine/",
        f"{root}: 2 problems in 10 images and 10 label files (1 fixable with --fix)",
    ]
    res = run_cli("dataset", "check", str(root), "--json")
    doc = json.loads(res.stdout)
    assert res.returncode == 1 and list(doc) == CHECK_KEYS and doc["clean"] is False
    assert doc["checked"] == {"images": 10, "label_files": 10} and list(doc["counts"]) == list(KINDS)
    assert [list(p) for p in doc["problems"]] == [PROBLEM_KEYS] * 2
    assert doc["problems"][0] | {"message": ""} == {
        "kind": "class_out_of_range",
        "path": f"labels/train/{name}",
        "line": 4,
        "message": "",
        "fix": "correct the id, or add the class to data.yaml's names",
        "fixable": False,
        "fixed": None,
    }
    res = run_cli("dataset", "check", str(root), "--fix", "--json")
    doc = json.loads(res.stdout)
    assert res.returncode == 1 and doc["fixed"] == [
        {"action": "quarantined", "path": "labels/val/ghost.txt", "to": "quarantine/labels/val/ghost.txt"}
    ]
    assert doc["problems"][1]["fixed"] == "moved to quarantine/labels/val/ghost.txt" and doc["clean"] is False
    assert (root / "quarantine" / "labels" / "val" / "ghost.txt").is_file()
    label.write_text("".join(line + "\n" for line in label.read_text().splitlines()[:3]))
    res = run_cli("dataset", "check", str(root))
    assert res.returncode == 0 and res.stdout.startswith(f"{root}: no problems")


def test_check_fix_names_every_file_it_moved(dataset, tmp_path):
    root = copy_of(dataset, tmp_path)
    name = sorted(os.listdir(root / "images" / "val"))[0]
    (root / "images" / "val" / name).write_bytes(b"")
    res = run_cli("dataset", "check", str(root), "--fix")
    stem = name[:-4]
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines() == [
        f"{root}/images/val/{name}: an empty file: fixed: moved to {root}/quarantine/images/val/{name}, its label "
        f"to {root}/quarantine/labels/val/{stem}.txt",
        f"{root}: 1 problem in 10 images and 10 label files; fixed 1 (moved 2 files to {root}/quarantine)",
    ]


def test_errors_are_one_line(tmp_path):
    res = run_cli("dataset", "stats", str(tmp_path / "nothing"))
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "is not a folder" in res.stderr
    (tmp_path / "empty").mkdir()
    res = run_cli("dataset", "check", str(tmp_path / "empty"))
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "neither a data.yaml nor images" in res.stderr
    res = run_cli("dataset")
    assert res.returncode == 2 and "ACTION" in res.stderr
