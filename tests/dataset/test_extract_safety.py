"""vidcv extract never harms what is already there: foreign folders are refused (or merged with --merge, their
files kept), one writer at a time, names unique per source, --classes with empty frames, the negatives quota
over resumed runs, class names that would break classes.txt, and a frame that fails half way."""

import json
import os

import cv2
import numpy as np
import pytest
import yaml

from media import BLOBS, run_cli
from vidcv.dataset.extract import source_stem
from vidcv.dataset.lock import DatasetBusy
from vidcv.dataset.writer import DatasetError, DatasetWriter
from vidcv.detections import Detections

pytestmark = pytest.mark.timeout(300)


def write_clip(path, frames, empty_every=0, seed=0):
    """A small clip of a red square moving; every ``empty_every``-th frame (0, n, 2n, ...) has none."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    rng = np.random.default_rng(seed)
    for t in range(frames):
        img = np.full((120, 160, 3), 70, np.uint8) + rng.integers(0, 10, (120, 160, 3), dtype=np.uint8)
        if not (empty_every and t % empty_every == 0):
            cv2.rectangle(img, (10 + 3 * t % 100, 40), (40 + 3 * t % 100, 70), (30, 30, 220), -1)
        writer.write(img)
    writer.release()
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    preset = folder / "blobs.yaml"
    preset.write_text(BLOBS)
    return {
        "a": write_clip(str(folder / "a" / "clip.avi"), 12, seed=1),
        "b": write_clip(str(folder / "b" / "clip.avi"), 12, seed=2),
        "gaps": write_clip(str(folder / "gaps.avi"), 30, empty_every=3),
        "preset": str(preset),
        "folder": folder,
    }


def snapshot(root):
    """Every file under ``root`` with its bytes."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, root)] = fh.read()
    return out


def label_names(root):
    return sorted(n[:-4] for s in ("train", "val", "test") for n in os.listdir(os.path.join(root, "labels", s)))


def foreign_dataset(root):
    """A YOLO dataset made by another tool: a labelled image, a background image without a label, its own
    data.yaml (with a key of its own), classes.txt and a manifest.jsonl that is not vidcv's."""
    for kind in ("images", "labels"):
        os.makedirs(os.path.join(root, kind, "train"))
    cv2.imwrite(os.path.join(root, "images", "train", "person1.jpg"), np.full((40, 60, 3), 200, np.uint8))
    cv2.imwrite(os.path.join(root, "images", "train", "bg1.jpg"), np.zeros((40, 60, 3), np.uint8))
    with open(os.path.join(root, "labels", "train", "person1.txt"), "w") as fh:
        fh.write("0 0.5 0.5 0.2 0.4\n")
    with open(os.path.join(root, "data.yaml"), "w") as fh:
        fh.write("train: images/train\nval: images/val\nnames: {0: person}\nroboflow: {version: 3}\n")
    with open(os.path.join(root, "classes.txt"), "w") as fh:
        fh.write("person\n")
    with open(os.path.join(root, "manifest.jsonl"), "w") as fh:
        fh.write('{"file": "person1.jpg", "annotator": "me"}\n')


def test_a_foreign_folder_is_refused_untouched_and_merged_only_on_request(media, tmp_path):
    video, preset = media["a"], media["preset"]
    theirs = tmp_path / "theirs"
    foreign_dataset(str(theirs))
    before = snapshot(theirs)
    res = run_cli("extract", video, "-p", preset, "--out", str(theirs))
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1
    assert "is a dataset that vidcv did not make" in res.stderr and "classes person" in res.stderr
    assert "2 files in images/" in res.stderr and "extract into a new folder, or pass --merge" in res.stderr
    assert snapshot(theirs) == before  # nothing deleted, overwritten or appended to
    res = run_cli("extract", video, "-p", preset, "--out", str(theirs), "--merge")
    assert res.returncode == 1 and "manifest.jsonl was not written by vidcv" in res.stderr
    assert snapshot(theirs) == before
    os.rename(theirs / "manifest.jsonl", tmp_path / "their_manifest.jsonl")
    before = snapshot(theirs)
    res = run_cli("extract", video, "-p", preset, "--out", str(theirs), "--merge")
    assert res.returncode == 0, res.stderr
    after = snapshot(theirs)
    for name in ("images/train/person1.jpg", "images/train/bg1.jpg", "labels/train/person1.txt"):
        assert after[name] == before[name]
    data = yaml.safe_load((theirs / "data.yaml").read_text())
    assert data["names"] == {0: "person", 1: "blob"} and data["roboflow"] == {"version": 3}
    assert data["train"] == "images/train" and data["vidcv_format"] == "yolo"
    assert (theirs / "classes.txt").read_text() == "person\nblob\n"
    assert len(label_names(theirs)) == 1 + 12
    # a folder of other things is refused, saying what it holds
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    res = run_cli("extract", video, "-p", preset, "--out", str(other))
    assert res.returncode == 1 and "is a folder that is not a vidcv dataset (it holds notes.txt)" in res.stderr
    assert os.listdir(other) == ["notes.txt"]


def test_a_merge_is_refused_where_the_layout_or_the_labels_disagree(media, tmp_path):
    video, preset = media["a"], media["preset"]
    theirs = tmp_path / "theirs"
    foreign_dataset(str(theirs))
    (theirs / "manifest.jsonl").unlink()
    (theirs / "data.yaml").write_text("train: images/train\nval: images/train\nnames: {0: person}\n")
    res = run_cli("extract", video, "-p", preset, "--out", str(theirs), "--merge")
    assert res.returncode == 1 and "puts val images at 'images/train'" in res.stderr
    (theirs / "data.yaml").write_text("names: {0: person}\n")
    (theirs / "classes.txt").write_text("car\n")
    res = run_cli("extract", video, "-p", preset, "--out", str(theirs), "--merge")
    assert res.returncode == 1 and "classes (person) and classes.txt's (car) disagree" in res.stderr
    (theirs / "classes.txt").write_text("person\n")
    res = run_cli("extract", video, "-p", preset, "--out", str(theirs), "--merge", "--format", "yolo-obb")
    assert res.returncode == 1 and "its labels have 5 numbers a line, and --format yolo-obb writes 9" in res.stderr
    assert not (theirs / "images" / "val").exists()  # refused before anything was written


def test_the_same_file_name_in_two_folders(media, tmp_path):
    out = tmp_path / "ds"
    for clip in (media["a"], media["b"]):
        res = run_cli("extract", clip, "-p", media["preset"], "--out", str(out), "--split", "1,0,0")
        assert res.returncode == 0 and "kept 12 frames" in res.stdout, res.stdout + res.stderr
    stem_a, stem_b = source_stem(media["a"]), source_stem(media["b"])
    assert stem_a.startswith("clip_") and stem_b.startswith("clip_") and stem_a != stem_b
    assert label_names(out) == sorted(f"{s}_{i:06d}" for s in (stem_a, stem_b) for i in range(12))
    # the same file by another path (relative, from its folder) is the same source
    again = run_cli("extract", "clip.avi", "-p", media["preset"], "--out", str(out), cwd=os.path.dirname(media["a"]))
    assert again.returncode == 0 and "already in dataset 12" in again.stdout, again.stdout + again.stderr


@pytest.mark.parametrize("negatives, kept", [("0", 20), ("0.25", 24)])
def test_classes_filter_on_frames_with_and_without_detections(media, tmp_path, negatives, kept):
    out = tmp_path / "ds"
    res = run_cli(
        "extract",
        media["gaps"],
        "-p",
        media["preset"],
        "--out",
        str(out),
        "--classes",
        "blob",
        "--negatives",
        negatives,
    )
    assert res.returncode == 0, res.stderr
    assert f"kept {kept} frames" in res.stdout and "20 with labels" in res.stdout
    res = run_cli(
        "extract",
        media["gaps"],
        "-p",
        media["preset"],
        "--out",
        str(tmp_path / "dogs"),
        "--classes",
        "dog",
        "--negatives",
        "1",
    )
    assert res.returncode == 0 and "0 with labels, 1 negatives" in res.stdout  # nothing is a dog


def test_the_negatives_quota_counts_the_whole_dataset_across_resumed_runs(media, tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    args = ["-p", media["preset"], "--negatives", "0.25", "--split-by", "frame"]
    assert run_cli("extract", media["gaps"], *args, "--out", str(whole)).returncode == 0
    for limit in range(4, 30, 4):  # seven runs stopped early (as by a kill), each resumed by the next
        res = run_cli("extract", media["gaps"], *args, "--out", str(resumed), "--max-frames", str(limit))
        assert res.returncode == 0, res.stderr
    last = run_cli("extract", media["gaps"], *args, "--out", str(resumed))
    assert last.returncode == 0, last.stderr
    for root in (whole, resumed):
        labels = [p for s in ("train", "val", "test") for p in (root / "labels" / s).iterdir()]
        negatives = [p for p in labels if p.stat().st_size == 0]
        # 20 positives, and 4 negatives (a fifth needs 20 positives before it): the same however often resumed
        assert (len(labels), len(negatives)) == (24, 4), root


def test_class_names_that_would_break_classes_txt_are_cleaned(tmp_path):
    root = tmp_path / "ds"
    img = np.zeros((60, 80, 3), np.uint8)
    names = {0: "cat\nfood", 1: " dog\t big ", 2: "\r\n"}
    dets = Detections(
        np.array([[5, 5, 30, 30], [40, 10, 70, 50], [1, 1, 20, 20]], np.float32),
        np.ones(3, np.float32),
        np.array([0, 1, 2]),
        names,
    )
    assert DatasetWriter(str(root)).add("cam_0123abcd", 0, img, dets, {"source": "test"}) is not None
    assert (root / "classes.txt").read_text().splitlines() == ["cat food", "dog big", "unnamed"]
    assert yaml.safe_load((root / "data.yaml").read_text())["names"] == {0: "cat food", 1: "dog big", 2: "unnamed"}
    label = next(
        (root / "labels" / s / "cam_0123abcd_000000.txt")
        for s in ("train", "val", "test")
        if (root / "labels" / s / "cam_0123abcd_000000.txt").exists()
    )
    assert [int(line.split()[0]) for line in label.read_text().splitlines()] == [0, 1, 2]


def test_a_single_add_is_a_session_of_its_own_and_respects_the_lock(tmp_path):
    """The GUI's snapshot: DatasetWriter(root).add(...) locks, writes and lets go; refused while a run writes."""
    root = str(tmp_path / "ds")
    img = np.zeros((60, 80, 3), np.uint8)
    dets = Detections(np.array([[5, 5, 30, 30]], np.float32), np.ones(1, np.float32), np.array([0]), {0: "blob"})
    writer = DatasetWriter(root)
    assert writer.add("snap_0123abcd", 3, img, dets, {"source": "s"}) is not None
    writer.save_meta()  # outside a session: writes nothing, needs no lock
    assert sorted(os.listdir(root)) == ["classes.txt", "data.yaml", "images", "labels", "manifest.jsonl"]
    running = DatasetWriter(root)
    running.open()
    try:
        with pytest.raises(DatasetBusy, match=r"being written by another vidcv \(pid \d+.*\(this process\)"):
            DatasetWriter(root).add("snap_0123abcd", 4, img, dets, {"source": "s"})
    finally:
        running.close()
    assert DatasetWriter(root).add("snap_0123abcd", 4, img, dets, {"source": "s"}) is not None
    assert len((tmp_path / "ds" / "manifest.jsonl").read_text().splitlines()) == 2


def test_a_frame_that_fails_half_way_leaves_nothing_of_it(tmp_path):
    """Its label cannot be written (a folder stands at its name): the frame's image is removed again, the run
    says which file, and the next frame and the next run work."""
    root = tmp_path / "ds"
    img = np.zeros((60, 80, 3), np.uint8)
    dets = Detections(np.array([[5, 5, 30, 30]], np.float32), np.ones(1, np.float32), np.array([0]), {0: "blob"})
    writer = DatasetWriter(str(root), ratios=(1, 0, 0))
    writer.open()
    (root / "labels" / "train" / "x_0123abcd_000001.txt").mkdir()
    with pytest.raises(DatasetError, match=r"could not write .*labels/train/x_0123abcd_000001\.txt"):
        writer.add("x_0123abcd", 1, img, dets, {"source": "s"})
    assert os.listdir(root / "images" / "train") == []
    assert writer.add("x_0123abcd", 2, img, dets, {"source": "s"}) == "train"
    writer.close()
    assert [json.loads(x)["name"] for x in (root / "manifest.jsonl").read_text().splitlines()] == ["x_0123abcd_000002"]
    assert not (root / ".vidcv.journal").exists()


KILL_AT = """
import os, signal, sys
import numpy as np
from vidcv.dataset import journal, writer
from vidcv.detections import Detections

root, moment = sys.argv[1], sys.argv[2]
die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
if moment == "before the label":
    writer.text_writer = lambda text: die
else:
    journal.Journal.append_manifest = die
dets = Detections(np.array([[5, 5, 30, 30]], np.float32), np.ones(1, np.float32), np.array([0]), {0: "blob"})
w = writer.DatasetWriter(root, ratios=(1, 0, 0))
w.add("x_0123abcd", 0, np.zeros((60, 80, 3), np.uint8), dets, {"source": "s"})
w.add("x_0123abcd", 1, np.zeros((60, 80, 3), np.uint8), dets, {"source": "s"})
"""


@pytest.mark.parametrize("moment", ["before the label", "before the manifest line"])
def test_a_writer_killed_between_the_files_of_a_frame(tmp_path, moment):
    """A real SIGKILL at a chosen point of a frame: the next session removes the half-written frame's image (and
    nothing else) or, when only its manifest line was missing, adds that line."""
    import subprocess
    import sys

    root = tmp_path / "ds"
    first = DatasetWriter(str(root), ratios=(1, 0, 0))
    img = np.zeros((60, 80, 3), np.uint8)
    dets = Detections(np.array([[5, 5, 30, 30]], np.float32), np.ones(1, np.float32), np.array([0]), {0: "blob"})
    assert first.add("y_0123abcd", 0, img, dets, {"source": "s"}) == "train"
    background = root / "images" / "train" / "bg.jpg"
    cv2.imwrite(str(background), img)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT, str(root), moment], capture_output=True, text=True, check=False
    )
    assert proc.returncode == -9, proc.stderr
    assert (root / ".vidcv.lock").exists() and (root / ".vidcv.journal").exists()
    images = sorted(os.listdir(root / "images" / "train"))
    assert images == ["bg.jpg", "x_0123abcd_000000.jpg", "y_0123abcd_000000.jpg"]
    again = DatasetWriter(str(root))
    again.open()
    again.close()
    manifest = [json.loads(x)["name"] for x in (root / "manifest.jsonl").read_text().splitlines()]
    if moment == "before the label":
        assert again.orphans_removed == 1 and manifest == ["y_0123abcd_000000"]
        assert sorted(os.listdir(root / "images" / "train")) == ["bg.jpg", "y_0123abcd_000000.jpg"]
    else:
        assert again.orphans_removed == 0 and manifest == ["y_0123abcd_000000", "x_0123abcd_000000"]
        assert label_names(root) == ["x_0123abcd_000000", "y_0123abcd_000000"]
    assert background.exists() and sorted(os.listdir(root)) == [
        "classes.txt",
        "data.yaml",
        "images",
        "labels",
        "manifest.jsonl",
    ]


def test_a_manifest_that_cannot_grow_stops_the_run_and_the_next_run_repairs_it(tmp_path):
    """A file size limit (RLIMIT_FSIZE, like a full disk for the growing manifest) cuts a manifest line: the run
    stops naming the file, the frame whose line was cut is removed again, and the next run drops the cut line
    and completes the dataset."""
    import resource
    import signal
    import subprocess

    from media import vidcv_cmd

    clip = write_clip(str(tmp_path / "tiny" / "clip.avi"), 30)
    preset = tmp_path / "blobs.yaml"
    preset.write_text(BLOBS)
    out = tmp_path / "ds"
    args = [*vidcv_cmd(), "extract", clip, "-p", str(preset), "--out", str(out), "--split", "1,0,0", "-q"]

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

    cut = subprocess.run(args, capture_output=True, text=True, preexec_fn=limit, timeout=120, check=False)
    assert cut.returncode == 1 and "could not write " in cut.stderr and "manifest.jsonl: File too large" in cut.stderr
    text = (out / "manifest.jsonl").read_bytes()
    assert 3000 < len(text) <= 4000  # the last line is cut (unless it happened to end at the limit)
    kept = label_names(out)
    assert len(kept) == text.count(b"\n") < 30  # the frame whose line failed is not in the dataset
    res = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    names = [json.loads(x)["name"] for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(names) == len(set(names)) == 30 and sorted(names) == label_names(out)


def test_a_class_name_too_long_for_a_folder_is_named_before_any_class_folder_is_made(tmp_path):
    """A 300-character class name (a model's metadata) in a classify dataset: one line naming the class and the
    limit, and no class folder made (it failed half way, naming no class, leaving empty class folders)."""
    from vidcv.dataset.classify import ClassifyWriter
    from vidcv.detections import Classification

    long_name = "duck" + "k" * 296
    names = {0: "goose", 1: long_name}
    writer = ClassifyWriter(str(tmp_path / "ds"), ratios=(1, 0, 0))
    writer.open()
    try:
        with pytest.raises(
            DatasetError,
            match=r"the class 'duckk+'\.\.\. \(300 characters\) is too long for a folder "
            r"name \(300 bytes, at most \d+ here\)",
        ):
            writer.add(
                "x_0123abcd",
                0,
                np.zeros((60, 80, 3), np.uint8),
                Detections.empty(),
                {"source": "s"},
                classification=Classification(np.array([1]), np.array([0.9]), names),
            )
    finally:
        writer.close()
    assert all(os.listdir(tmp_path / "ds" / split) == [] for split in ("train", "val", "test"))
