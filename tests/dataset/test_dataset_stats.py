"""vidcv dataset stats: frames per split and review status, labels per class and split, negatives and a classify
dataset's images per class, equal to what extraction made (the manifest) after a frame is rejected and one reviewed;
read without the lock."""

import json
import shutil
from collections import Counter

import pytest
import yaml
from test_check import BLANK, FRAMES, shapes_clip

from media import run_cli
from vidcv.dataset.editor import REVIEWED, LabelSession
from vidcv.dataset.lock import DatasetLock
from vidcv.dataset.stats import dataset_stats

pytestmark = pytest.mark.timeout(300)
CLASSES = ["circle", "square", "triangle"]
SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stats")
    clip = shapes_clip(str(folder / "shapes.avi"))
    out = {}
    for fmt, extra in (("yolo", ["--negatives", "1"]), ("classify", ["--crops"])):
        root = folder / fmt
        res = run_cli(
            "extract", clip, "-p", "shapes", "--out", str(root), "--format", fmt, "--split", "0.5,0.5,0",
            "--split-by", "frame", *extra,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        out[fmt] = root
    return out


def manifest(root):
    return [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]


def copy_of(src, dst):
    shutil.copytree(src, dst)
    meta = yaml.safe_load((dst / "data.yaml").read_text())
    meta["path"] = str(dst)
    (dst / "data.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return dst


def test_counts_equal_what_was_extracted_after_a_reject_and_a_review(extracted, tmp_path):
    root = copy_of(extracted["yolo"], tmp_path / "ds")
    entries = manifest(root)
    split_of = {e["name"]: e["split"] for e in entries}
    assert len(entries) == FRAMES and sorted(e["labels"] for e in entries) == [0] + [3] * (FRAMES - 1)
    blank = next(e["name"] for e in entries if e["labels"] == 0)
    assert blank.endswith(f"_{BLANK:06d}")
    with LabelSession(str(root)) as session:
        rejected = next(f for f in session.frames if f.name != blank and f.split == "train")
        reviewed = next(f for f in session.frames if f.name != blank and f.split == "val")
        session.reject(rejected)
        session.set_status(reviewed, REVIEWED)
    per_split = Counter(split_of.values())
    labelled = Counter(split_of[n] for n in split_of if n not in (blank, rejected.name))
    doc = dataset_stats(str(root)).to_dict()
    assert doc["dataset"] == str(root) and doc["format"] == "yolo" and doc["family"] == "boxes"
    assert doc["classes"] == CLASSES and doc["splits"] == list(SPLITS) and doc["notes"] == []
    frames = {
        s: {
            "unreviewed": per_split[s] - (s == "train") - (s == "val"),
            "reviewed": int(s == "val"),
            "rejected": int(s == "train"),
            "total": per_split[s],
        }
        for s in SPLITS
    }
    assert doc["frames"] == {
        "per_split": frames,
        "per_status": {"unreviewed": FRAMES - 2, "reviewed": 1, "rejected": 1},
        "total": FRAMES,
    }
    assert doc["labels"] == {
        "per_split": {s: dict.fromkeys(CLASSES, labelled[s]) for s in SPLITS},
        "per_split_total": {s: 3 * labelled[s] for s in SPLITS},
        "per_class": dict.fromkeys(CLASSES, FRAMES - 2),
        "total": 3 * (FRAMES - 2),
    }
    negatives = {s: int(s == split_of[blank]) for s in SPLITS}
    assert doc["negatives"] == {"per_split": negatives, "total": 1}
    assert doc["missing_labels"] == {"per_split": dict.fromkeys(SPLITS, 0), "total": 0}
    assert doc["images_per_class"] is None
    table = dataset_stats(str(root)).table().splitlines()
    assert table[1] == "format    yolo (boxes), 3 classes: circle, square, triangle"
    row = next(line for line in table if line.strip().startswith("rejected")).split()
    assert row == ["rejected", "1", "0", "0", "1"]
    row = next(line for line in table if line.strip().startswith("circle")).split()
    assert row == ["circle", *(str(labelled[s]) for s in SPLITS), str(FRAMES - 2)]
    row = next(line for line in table if line.startswith("negatives")).split()
    assert row == ["negatives", *(str(negatives[s]) for s in SPLITS), "1"]


def test_unknown_ids_unreadable_lines_and_missing_labels_are_counted_apart(extracted, tmp_path):
    root = copy_of(extracted["yolo"], tmp_path / "odd")
    train = sorted(p.stem for p in (root / "labels" / "train").iterdir())
    (root / "labels" / "train" / f"{train[0]}.txt").write_text("7 0.5 0.5 0.1 0.1\nx 0.5 0.5 0.1 0.1\n\n")
    (root / "labels" / "train" / f"{train[1]}.txt").unlink()
    doc = dataset_stats(str(root)).to_dict()
    assert doc["labels"]["per_class"]["#7"] == 1 and doc["labels"]["per_class"]["?"] == 1
    assert list(doc["labels"]["per_class"])[:3] == CLASSES
    assert doc["missing_labels"]["per_split"]["train"] == 1


def test_classify_images_per_class(extracted):
    root = extracted["classify"]
    split_of = {e["name"]: e["split"] for e in manifest(root)}
    lock = DatasetLock(str(root))
    lock.acquire()  # another writer at work: reading needs no lock
    try:
        doc = dataset_stats(str(root)).to_dict()
    finally:
        lock.release()
    per_split = Counter(split_of.values())
    assert doc["family"] == "classify" and doc["labels"] == {} and doc["negatives"]["total"] == 0
    assert doc["images_per_class"] == {
        "per_split": {s: dict.fromkeys(CLASSES, per_split[s]) for s in SPLITS},
        "per_split_total": {s: 3 * per_split[s] for s in SPLITS},
        "per_class": dict.fromkeys(CLASSES, FRAMES - 1),
        "total": 3 * (FRAMES - 1),
    }
    assert doc["frames"]["per_split"]["train"]["unreviewed"] == 3 * per_split["train"]
    assert "images" in dataset_stats(str(root)).table()


def test_a_copy_whose_data_yaml_names_the_original_is_counted_from_its_own_folder(extracted, tmp_path):
    root = tmp_path / "moved"
    shutil.copytree(extracted["yolo"], root)
    for label in (root / "labels" / "val").iterdir():
        label.unlink()
    stats = dataset_stats(str(root))
    assert stats.to_dict()["missing_labels"]["per_split"]["val"] == len(list((root / "images" / "val").iterdir()))
    assert str(extracted["yolo"]) in stats.notes[0] and stats.table().splitlines()[-1].startswith("note: ")
