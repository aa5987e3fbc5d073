"""vidcv dataset check: clean on what vidcv extract makes in every format; each planted problem found with its file
and line; --fix quarantines and clips (nothing deleted, nothing outside the folder touched), refuses a planted link
and waits for no writer; rejected/ and quarantine/ are left out."""

import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import yaml

from media import run_cli
from vidcv.dataset.check import CLIP_MARGIN, KINDS, check_dataset, check_line
from vidcv.dataset.editor import LabelSession
from vidcv.dataset.lock import DatasetBusy
from vidcv.fileio import LinkRefused

pytestmark = pytest.mark.timeout(300)

FORMATS = ("yolo", "yolo-seg", "yolo-pose", "yolo-obb", "coco", "classify")
FRAMES, BLANK = 12, 5  #: the clip's length, and its one frame without shapes (a negative)


def shapes_clip(path):
    """A clip of the demo detector's shapes (a circle, a square, a triangle) moving over noise, one frame empty."""
    w, h = 640, 360
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    rng = np.random.default_rng(0)
    for t in range(FRAMES):
        img = np.full((h, w, 3), 150, np.uint8) + rng.integers(0, 20, (h, w, 3), dtype=np.uint8)
        if t != BLANK:
            cv2.circle(img, (60 + 20 * t, 100), 28, (40, 200, 255), -1)
            cv2.rectangle(img, (300, 60 + 10 * t), (356, 116 + 10 * t), (220, 60, 40), -1)
            tri = np.array([[500 - 5 * t, 300], [556 - 5 * t, 300], [528 - 5 * t, 244]], np.int32)
            cv2.fillPoly(img, [tri], (60, 190, 60))
        out.write(img)
    out.release()
    return path


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """format -> a dataset vidcv extract made of the clip with the bundled demo model (box-only: yolo-seg and
    yolo-obb take the boxes' corners, yolo-pose keeps the frames without keypoints, classify cuts crops)."""
    folder = tmp_path_factory.mktemp("extracted")
    clip = shapes_clip(str(folder / "shapes.avi"))
    out = {}
    for fmt in FORMATS:
        root = folder / fmt
        extra = ["--crops"] if fmt == "classify" else ["--negatives", "1"]
        res = run_cli(
            "extract", clip, "-p", "shapes", "--out", str(root), "--format", fmt, "--split", "0.5,0.5,0",
            "--split-by", "frame", *extra,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        out[fmt] = str(root)
    return out


def copy_of(extracted, fmt, tmp_path, name="ds"):
    """A copy of an extracted dataset, its data.yaml's path set to the copy (as --fix would)."""
    root = tmp_path / name
    shutil.copytree(extracted[fmt], root)
    meta = yaml.safe_load((root / "data.yaml").read_text())
    meta["path"] = str(root)
    (root / "data.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return root


def frames_of(root, split):
    return sorted(n[:-4] for n in os.listdir(root / "images" / split) if n.endswith(".jpg"))


def found(report):
    return sorted((p.kind, p.path, p.line) for p in report.problems)


def tree(path):
    """Every file under ``path`` with its bytes."""
    out = {}
    for folder, _, files in os.walk(path):
        for f in files:
            with open(os.path.join(folder, f), "rb") as fh:
                out[os.path.relpath(os.path.join(folder, f), path)] = fh.read()
    return out


def test_every_format_vidcv_extract_makes_is_clean(extracted):
    for fmt in FORMATS:
        report = check_dataset(extracted[fmt])
        assert report.clean and not report.problems and not report.notes, (fmt, found(report))
        # classify: 11 frames of 3 crops each; yolo-pose: the box model's frames hold no keypoints, so every
        # frame is a negative, kept up to --negatives 1 per labelled frame (none): the shapeless one is not
        images = {"classify": 33, "yolo-pose": FRAMES - 1}.get(fmt, FRAMES)
        assert report.images == images and report.label_files == (0 if fmt == "classify" else images), fmt


def test_each_planted_problem_is_found_with_its_file_and_line(extracted, tmp_path):
    root = copy_of(extracted, "yolo", tmp_path)
    train, val = frames_of(root, "train"), frames_of(root, "val")
    a, b, c, d, e = train[:5]
    with open(root / "labels" / "train" / f"{a}.txt", "a") as fh:  # after its 3 (or 0) lines
        fh.write("7 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1\n0 0.98 0.5 0.1 0.1\n0 0.5 0.5 0 0.1\n0 300 200 40 40\nx 1 1 1 1\n")
    first = len((root / "labels" / "train" / f"{a}.txt").read_text().splitlines()) - 6
    (root / "labels" / "train" / f"{b}.txt").unlink()  # missing label
    shutil.copy(root / "labels" / "train" / f"{c}.txt", root / "labels" / "val" / "ghost.txt")  # orphan
    data = (root / "images" / "train" / f"{d}.jpg").read_bytes()
    (root / "images" / "train" / f"{d}.jpg").write_bytes(data[: len(data) // 2])  # truncated
    shutil.copy(root / "images" / "train" / f"{e}.jpg", root / "images" / "train" / "copy.jpg")  # duplicate
    shutil.copy(root / "labels" / "train" / f"{e}.txt", root / "labels" / "train" / "copy.txt")
    shutil.copy(root / "images" / "val" / f"{val[0]}.jpg", root / "images" / "train" / f"{val[0]}.jpg")  # name
    shutil.copy(root / "labels" / "val" / f"{val[0]}.txt", root / "labels" / "train" / f"{val[0]}.txt")
    pixels = cv2.imread(str(root / "images" / "val" / f"{val[1]}.jpg"))  # the same pixels, another name and file
    cv2.imwrite(str(root / "images" / "train" / "leak.png"), pixels)
    (root / "labels" / "train" / "leak.txt").write_text("")
    report = check_dataset(str(root))
    label = f"labels/train/{a}.txt"
    assert found(report) == sorted(
        [
            ("class_out_of_range", label, first + 1),
            ("malformed", label, first + 2),
            ("out_of_bounds", label, first + 3),
            ("zero_size", label, first + 4),
            ("out_of_bounds", label, first + 5),
            ("malformed", label, first + 6),
            ("missing_label", f"images/train/{b}.jpg", None),
            ("orphan_label", "labels/val/ghost.txt", None),
            ("undecodable", f"images/train/{d}.jpg", None),
            ("duplicate", f"images/train/{e}.jpg", None),  # copy.jpg sorts first: it is the one kept
            ("in_two_splits", f"images/val/{val[0]}.jpg", None),
            ("in_two_splits", f"images/val/{val[1]}.jpg", None),
        ]
    )
    by = {(p.kind, p.line): p for p in report.problems}
    assert by["class_out_of_range", first + 1].message == "class 7 is not in data.yaml's names (0..2)"
    assert (
        by["class_out_of_range", first + 1]
        .text("DIR")
        .startswith(f"DIR/{label}:{first + 1}: class 7 is not in data.yaml's names (0..2): ")
    )
    assert "4 values, and a boxes line has 5" in by["malformed", first + 2].message
    assert by["out_of_bounds", first + 3].fixable and "0.0300" in by["out_of_bounds", first + 3].message
    assert not by["out_of_bounds", first + 5].fixable and "pixels" in by["out_of_bounds", first + 5].advice
    assert "truncated JPEG" in by["undecodable", None].message
    assert "copy.jpg" in by["duplicate", None].message
    assert {p.fixable for p in report.problems if p.kind in ("orphan_label", "undecodable")} == {True}
    assert not report.clean and report.counts()["in_two_splits"] == 2 and set(report.counts()) == set(KINDS)
    assert "12 problems in" in report.summary("DIR") and "(3 fixable with --fix)" in report.summary("DIR")


def test_fix_quarantines_and_clips_and_a_second_check_is_left_with_what_needs_a_guess(extracted, tmp_path):
    root = copy_of(extracted, "yolo-seg", tmp_path)
    train = frames_of(root, "train")
    a, b, c = train[:3]
    with open(root / "labels" / "train" / f"{a}.txt", "a") as fh:
        fh.write("1 -0.02 0.1 0.3 0.1 0.3 0.4\n9 0.1 0.1 0.3 0.1 0.3 0.4\n")
    clipped_line = len((root / "labels" / "train" / f"{a}.txt").read_text().splitlines()) - 1
    shutil.copy(root / "labels" / "train" / f"{b}.txt", root / "labels" / "train" / "orphan.txt")
    (root / "images" / "train" / f"{c}.jpg").write_bytes(b"not a picture at all")
    before = check_dataset(str(root))
    assert sorted(p.kind for p in before.problems) == [
        "class_out_of_range",
        "orphan_label",
        "out_of_bounds",
        "undecodable",
    ]
    report = check_dataset(str(root), fix=True)
    assert report.fixed_run and not report.clean
    assert {c.to_dict()["action"] for c in report.changes} == {"quarantined", "clipped"}
    moved = {c.path: c.to for c in report.changes if c.action == "quarantined"}
    assert moved == {
        "labels/train/orphan.txt": "quarantine/labels/train/orphan.txt",
        f"images/train/{c}.jpg": f"quarantine/images/train/{c}.jpg",
        f"labels/train/{c}.txt": f"quarantine/labels/train/{c}.txt",
    }
    for src, dst in moved.items():  # moved, not deleted
        assert not (root / src).exists() and (root / dst).is_file()
    assert (root / "quarantine" / "images" / "train" / f"{c}.jpg").read_bytes() == b"not a picture at all"
    lines = (root / "labels" / "train" / f"{a}.txt").read_text().splitlines()
    assert lines[clipped_line - 1] == "1 0.000000 0.100000 0.300000 0.100000 0.300000 0.400000"
    assert lines[-1] == "9 0.1 0.1 0.3 0.1 0.3 0.4"  # a wrong class is not guessed
    text = [p.text("DIR") for p in report.problems]
    assert any(
        f"DIR/labels/train/{a}.txt:{clipped_line}: the outline reaches 0.0200 outside the image" in t for t in text
    )
    assert any(
        f"fixed: moved to DIR/quarantine/images/train/{c}.jpg, its label to DIR/quarantine/labels/train/{c}.txt" in t
        for t in text
    )
    assert any("fixed: moved to DIR/quarantine/labels/train/orphan.txt" in t for t in text)
    assert any(f"fixed: clipped to the image (DIR/labels/train/{a}.txt replaced" in t for t in text)
    assert "fixed 3 (moved 3 files to DIR/quarantine, clipped the lines of 1 label file); 1 left" in report.summary(
        "DIR"
    )
    assert not (root / ".vidcv.lock").exists() and not (root / ".vidcv.journal").exists()
    again = check_dataset(str(root))  # quarantine/ is not checked
    assert found(again) == [("class_out_of_range", f"labels/train/{a}.txt", clipped_line + 1)]
    assert check_dataset(str(root), fix=True).changes == []  # nothing more to fix: a wrong class is left alone
    moved_again = root / "labels" / "train" / "orphan.txt"
    shutil.copy(root / "labels" / "train" / f"{b}.txt", moved_again)  # the same name again goes beside the first
    assert [c.to for c in check_dataset(str(root), fix=True).changes] == ["quarantine/labels/train/orphan.2.txt"]


def test_a_missing_label_is_not_made_up_and_a_box_further_out_is_not_clipped(extracted, tmp_path):
    root = copy_of(extracted, "yolo", tmp_path)
    a, b = frames_of(root, "train")[:2]
    (root / "labels" / "train" / f"{a}.txt").unlink()
    (root / "labels" / "train" / f"{b}.txt").write_text("0 0.97 0.5 0.2 0.1\n")  # reaches 0.07 past the edge
    report = check_dataset(str(root), fix=True)
    assert sorted(p.kind for p in report.left) == ["missing_label", "out_of_bounds"] and not report.changes
    assert not (root / "labels" / "train" / f"{a}.txt").exists()
    assert (root / "labels" / "train" / f"{b}.txt").read_text() == "0 0.97 0.5 0.2 0.1\n"


def test_label_lines_of_every_family():
    def kinds(line, family, kpt=None, names=3):
        return [f.kind for f in check_line(line, family, names, kpt).findings]

    assert kinds("0 0.5 0.5 0.2 0.2", "boxes") == []
    assert kinds("0 0.5 0.5 0.2 0.2 0.1", "boxes") == ["malformed"]
    assert kinds("1.5 0.5 0.5 0.2 0.2", "boxes") == ["malformed"]
    assert kinds("0 nan 0.5 0.2 0.2", "boxes") == ["malformed"]
    assert kinds("3 0.5 0.5 0.2 0.2", "boxes") == ["class_out_of_range"]
    assert kinds("3 0.5 0.5 0.2 0.2", "boxes", names=None) == []  # data.yaml names no classes: not checked
    assert kinds("0 0.5 0.5 0.2 -0.1", "boxes") == ["zero_size"]
    assert kinds("0 0.1 0.1 0.2000005 0.2000005", "boxes") == []  # rounding is within the tolerance
    assert kinds("0 0.1 0.1 0.3 0.2", "boxes") == ["out_of_bounds"]
    fixed = check_line("0 0.99 0.5 0.04 0.2", "boxes", 3, None)
    assert fixed.findings[0].fixable and fixed.clipped == "0 0.985000 0.500000 0.030000 0.200000"
    assert check_line("0 1.02 0.5 0.02 0.2", "boxes", 3, None).clipped is None  # wholly outside: not fixable
    # segments: an odd count of at least 7; obb: 9
    assert kinds("0 0.1 0.1 0.5 0.1 0.3 0.4", "segments") == []
    assert kinds("0 0.1 0.1 0.5 0.1 0.3", "segments") == ["malformed"]
    assert kinds("0 0.1 0.1 0.5 0.1 0.3 0.1", "segments") == ["zero_size"]
    assert kinds("0 0.1 0.1 0.5 0.1 0.5 0.3 0.1 0.3", "obb") == []
    assert kinds("0 0.1 0.1 0.5 0.1 0.5 0.3", "obb") == ["malformed"]
    assert kinds("0 0.1 0.1 0.3 0.3 0.5 0.5 0.2 0.2", "obb") == ["zero_size"]  # corners on one line
    obb = check_line("2 0.1 -0.01 0.5 0.1 0.5 0.3 0.1 0.3", "obb", 3, None)
    assert obb.clipped == "2 0.100000 0.000000 0.500000 0.100000 0.500000 0.300000 0.100000 0.300000"
    # pose: data.yaml's kpt_shape sets the width; visibility 0, 1 or 2
    pose = "0 0.5 0.5 0.2 0.2 0.45 0.45 2 0 0 0"
    assert kinds(pose, "pose", [2, 3]) == []
    assert kinds(pose, "pose", [3, 3]) == ["malformed"]
    assert kinds("0 0.5 0.5 0.2 0.2", "pose", [2, 3]) == ["malformed"]
    assert kinds("0 0.5 0.5 0.2 0.2 0.45 0.45 5 0 0 0", "pose", [2, 3]) == ["malformed"]
    assert kinds("0 0.5 0.5 0.2 0.2 1.3 0.45 2 0 0 0", "pose", [2, 3]) == ["out_of_bounds"]
    kpt = check_line("0 0.5 0.5 0.2 0.2 1.01 0.45 2 0 0 0", "pose", 3, [2, 3])
    assert kpt.clipped == "0 0.500000 0.500000 0.200000 0.200000 1.000000 0.450000 2 0.000000 0.000000 0"
    assert CLIP_MARGIN == 0.05


def test_a_pose_dataset_with_keypoints_is_checked_against_kpt_shape(extracted, tmp_path):
    root = copy_of(extracted, "yolo-pose", tmp_path)
    meta = yaml.safe_load((root / "data.yaml").read_text())
    meta["kpt_shape"] = [2, 3]
    (root / "data.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    a, b = frames_of(root, "train")[:2]
    (root / "labels" / "train" / f"{a}.txt").write_text("0 0.5 0.5 0.2 0.2 0.45 0.45 2 0 0 0\n")
    (root / "labels" / "train" / f"{b}.txt").write_text(
        "0 0.5 0.5 0.2 0.2 0.45 0.45 2\n1 0.5 0.5 0.2 0.2 0.4 0.4 1 0.6 1.02 2\n"
    )
    report = check_dataset(str(root))
    assert found(report) == [("malformed", f"labels/train/{b}.txt", 1), ("out_of_bounds", f"labels/train/{b}.txt", 2)]
    assert "a pose line has 11 (a class, a box and 2 keypoints of 3 values)" in report.problems[0].message


def test_classify_undecodable_crops_duplicates_and_splits(extracted, tmp_path):
    root = tmp_path / "cls"
    shutil.copytree(extracted["classify"], root)
    meta = yaml.safe_load((root / "data.yaml").read_text())
    meta["path"] = str(root)
    (root / "data.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    crops = sorted((root / "train" / "circle").iterdir())
    crops[0].write_bytes(crops[0].read_bytes()[:-2])  # the end marker gone
    shutil.copy(crops[1], root / "val" / "circle" / "again.jpg")
    report = check_dataset(str(root))
    assert found(report) == [
        ("in_two_splits", "val/circle/again.jpg", None),
        ("undecodable", f"train/circle/{crops[0].name}", None),
    ]
    fixed = check_dataset(str(root), fix=True)
    assert [c.to for c in fixed.changes] == [f"quarantine/train/circle/{crops[0].name}"]
    assert found(check_dataset(str(root))) == [("in_two_splits", "val/circle/again.jpg", None)]


def test_rejected_and_quarantined_frames_are_not_checked(extracted, tmp_path):
    root = copy_of(extracted, "yolo", tmp_path)
    with LabelSession(str(root)) as session:
        frame = next(f for f in session.frames if f.split == "train")
        session.reject(frame)
    assert (root / "rejected" / "labels" / "train" / f"{frame.name}.txt").is_file()
    (root / "rejected" / "labels" / "train" / f"{frame.name}.txt").write_text("9 5 5 5\n")  # not checked
    shutil.copy(root / "rejected" / "labels" / "train" / f"{frame.name}.txt", root / "labels" / "train")
    (root / "quarantine" / "images" / "train").mkdir(parents=True)
    (root / "quarantine" / "images" / "train" / "broken.jpg").write_bytes(b"x")
    report = check_dataset(str(root))
    # the label left in labels/ belongs to a rejected frame: not an orphan; its lines are not read either
    assert report.clean and report.images == FRAMES - 1, found(report)


def test_a_copied_dataset_whose_path_names_the_original_is_read_from_its_own_folder(extracted, tmp_path):
    root = tmp_path / "moved"
    shutil.copytree(extracted["yolo"], root)
    name = frames_of(root, "train")[0]
    (root / "labels" / "train" / f"{name}.txt").unlink()
    report = check_dataset(str(root))
    assert found(report) == [("missing_label", f"images/train/{name}.jpg", None), ("path_elsewhere", "data.yaml", None)]
    assert extracted["yolo"] in report.problems[0].message and report.problems[0].kind == "path_elsewhere"
    original = tree(extracted["yolo"])
    fixed = check_dataset(str(root), fix=True)
    assert yaml.safe_load((root / "data.yaml").read_text())["path"] == str(root)
    assert [c.action for c in fixed.changes] == ["path_set"] and tree(extracted["yolo"]) == original
    assert found(check_dataset(str(root))) == [("missing_label", f"images/train/{name}.jpg", None)]


def test_a_split_that_is_another_splits_folder_is_said_once(extracted, tmp_path):
    root = copy_of(extracted, "yolo", tmp_path)
    for kind in ("images", "labels"):
        shutil.rmtree(root / kind / "val")
        os.symlink(root / kind / "train", root / kind / "val")  # as some set val up to train on a single split
    report = check_dataset(str(root))
    assert found(report) == [("in_two_splits", "data.yaml", None)]
    assert report.problems[0].message == "val uses the images of train (images/val)"


def test_fix_rebuilds_coco_annotations(extracted, tmp_path):
    root = copy_of(extracted, "coco", tmp_path)
    a = frames_of(root, "train")[0]
    path = root / "labels" / "train" / f"{a}.txt"
    path.write_text(path.read_text() + "0 0.99 0.5 0.04 0.2\n")
    report = check_dataset(str(root), fix=True)
    assert report.clean and [c.action for c in report.changes] == ["clipped", "rebuilt"]
    doc = json.loads((root / "annotations" / "instances_train.json").read_text())
    image = next(i["id"] for i in doc["images"] if i["file_name"] == f"train/{a}.jpg")
    boxes = [ann["bbox"] for ann in doc["annotations"] if ann["image_id"] == image]
    assert any(abs(b[0] + b[2] - 640) < 0.01 and abs(b[2] - 0.03 * 640) < 0.01 for b in boxes)


def test_a_link_at_quarantine_is_refused_and_nothing_outside_is_touched(extracted, tmp_path):
    root = copy_of(extracted, "yolo", tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    os.symlink(outside, root / "quarantine")
    a = frames_of(root, "train")[0]
    shutil.copy(root / "labels" / "train" / f"{a}.txt", root / "labels" / "train" / "orphan.txt")
    (root / "images" / "train" / f"{a}.jpg").write_bytes(b"broken")
    path = root / "labels" / "train" / f"{frames_of(root, 'train')[1]}.txt"
    path.write_text("0 0.99 0.5 0.04 0.2\n")
    before = tree(root)
    with pytest.raises(LinkRefused) as info:
        check_dataset(str(root), fix=True)
    assert "refusing to write through" in str(info.value) and str(root / "quarantine") in str(info.value)
    assert len(str(info.value).splitlines()) == 1
    assert tree(outside) == {"keep.txt": b"mine"} and tree(root) == before  # nothing moved, nothing clipped
    assert not (root / ".vidcv.lock").exists()
    res = run_cli("dataset", "check", str(root), "--fix")
    assert res.returncode == 1 and res.stderr.startswith("vidcv: error: refusing to write through")
    assert len(res.stderr.strip().splitlines()) == 1 and tree(outside) == {"keep.txt": b"mine"}


def test_fix_is_refused_while_another_writer_holds_the_lock(extracted, tmp_path):
    root = copy_of(extracted, "yolo", tmp_path)
    shutil.copy(root / "labels" / "train" / f"{frames_of(root, 'train')[0]}.txt", root / "labels" / "train" / "o.txt")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from vidcv.dataset.lock import DatasetLock; DatasetLock(sys.argv[1]).acquire(); "
            "print('held', flush=True); time.sleep(60)",
            str(root),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DatasetBusy) as info:
            check_dataset(str(root), fix=True)
        message = str(info.value)
        assert f"pid {holder.pid}" in message and "--fix changes files" in message and len(message.splitlines()) == 1
        assert (root / "labels" / "train" / "o.txt").exists()
        report = check_dataset(str(root))  # reading needs no lock
        assert [p.kind for p in report.problems] == ["orphan_label"]
        assert any(f"pid {holder.pid}" in n for n in report.notes)
        res = run_cli("dataset", "check", str(root), "--fix")
        assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1
        assert f"pid {holder.pid}" in res.stderr and "being written by another vidcv" in res.stderr
    finally:
        holder.kill()
        holder.wait(10)
    assert check_dataset(str(root), fix=True).changes[0].to == "quarantine/labels/train/o.txt"
