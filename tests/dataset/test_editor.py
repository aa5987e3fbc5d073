"""LabelSession: labels read and written in pixels, review, reject and restore, class renames and merges, the lock,
and a merge killed half way rolled forward by the next session."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import yaml

from vidcv.dataset.editor import (
    REJECTED,
    REVIEWED,
    UNREVIEWED,
    LabelSession,
    label_path_of,
    merge_proposals,
    statuses,
)
from vidcv.dataset.existing import DatasetError
from vidcv.dataset.labels import PERSON, Label, format_line, parse_line, rotate_corners
from vidcv.dataset.lock import DatasetBusy
from vidcv.dataset.writer import DatasetWriter
from vidcv.detections import Detections

W, H = 160, 120


def image(seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (H, W, 3), np.uint8)


def make_dataset(root, frames=6, fmt="yolo"):
    writer = DatasetWriter(str(root), fmt=fmt, split_by="frame", ratios=(1.0, 0.0, 0.0))
    writer.open()
    for i in range(frames):
        dets = Detections(
            xyxy=np.array([[10 + i, 20, 50 + i, 60], [80, 30, 120, 90]], np.float32),
            confidence=np.array([0.9, 0.4], np.float32),
            class_id=np.array([0, 1], np.int32),
            names={0: "duck", 1: "cup"},
        )
        writer.add(
            "clip",
            i,
            image(i),
            dets,
            {"source": "clip.mp4", "frame": i, "detectors": [{"stage": "yolo", "model": "shapes.onnx"}]},
        )
    writer.close()
    return str(root)


def lines(path):
    with open(path) as fh:
        return [ln.split() for ln in fh.read().splitlines()]


def test_a_label_line_round_trips_in_pixels_for_every_family():
    box = Label(2, (10.0, 20.0, 50.0, 60.0))
    assert parse_line(format_line(box, "boxes", (W, H)), "boxes", (W, H)).box == pytest.approx(box.box, abs=1e-3)
    poly = Label(1, (0, 0, 0, 0)).with_polygon([(10, 10), (60, 15), (40, 70)])
    back = parse_line(format_line(poly, "segments", (W, H)), "segments", (W, H))
    assert np.allclose(back.polygon, poly.polygon, atol=1e-3) and back.box == pytest.approx((10, 10, 60, 70), abs=1e-3)
    obb = Label(0, (0, 0, 0, 0)).with_polygon(rotate_corners([(40, 40), (80, 40), (80, 60), (40, 60)], 30))
    back = parse_line(format_line(obb, "obb", (W, H)), "obb", (W, H))
    assert np.allclose(back.polygon, obb.polygon, atol=1e-3)
    pose = Label(0, (10, 10, 50, 90), keypoints=((20, 20, 2), (0, 0, 0), (40, 80, 1)))
    back = parse_line(format_line(pose, "pose", (W, H)), "pose", (W, H))
    assert np.allclose(back.keypoints, pose.keypoints, atol=1e-3)


def test_labels_past_the_edge_are_clipped_and_a_box_under_a_pixel_is_dropped(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=1)
    with LabelSession(root) as session:
        frame = session.frames[0]
        session.save(frame, [Label(0, (-20, -5, 30, 40)), Label(1, (100, 100, 100.5, 110))], (W, H))
        assert lines(frame.label) == [["0", "0.093750", "0.166667", "0.187500", "0.333333"]]


def test_edits_review_reject_and_restore_reach_the_files_and_the_manifest(tmp_path):
    root = make_dataset(tmp_path / "ds")
    with LabelSession(root) as session:
        assert session.names == ["duck", "cup"] and len(session.frames) == 6
        frame = session.frames[0]
        labels = session.read_labels(frame, (W, H))
        assert [lab.cls for lab in labels] == [0, 1] and labels[0].origin.startswith("model")
        assert labels[0].box == pytest.approx((10, 20, 50, 60), abs=0.01)
        moved = [labels[0].moved(5, 5), Label(1, (100, 10, 140, 50))]
        session.save(frame, moved, (W, H), status=REVIEWED)
        got = session.read_labels(frame, (W, H))
        assert got[0].box == pytest.approx((15, 25, 55, 65), abs=0.01) and [g.origin for g in got][1] == PERSON
        second = session.frames[1]
        image_before = open(second.image, "rb").read()
        session.reject(second)
        assert second.status == REJECTED and second.image.startswith(os.path.join(root, "rejected", "images"))
        assert os.path.exists(label_path_of(second.image)) and not os.path.exists(
            os.path.join(root, "images", "train", os.path.basename(second.image))
        )
        session.restore(second)
        assert second.status == UNREVIEWED and open(second.image, "rb").read() == image_before
        session.reject(session.frames[2])
    assert statuses(root)[session.frames[0].name] == REVIEWED
    manifest = [json.loads(line) for line in open(os.path.join(root, "manifest.jsonl"))]
    assert manifest[-1]["event"] == "reject" and {"edit", "restore"} <= {m.get("event") for m in manifest}
    reopened = LabelSession(root)
    reopened.open()
    by_name = {f.name: f.status for f in reopened.frames}
    reopened.close()
    assert by_name[session.frames[0].name] == REVIEWED and by_name[session.frames[2].name] == REJECTED
    assert by_name[session.frames[1].name] == UNREVIEWED


def test_a_rejected_frame_is_not_extracted_again_by_a_later_run(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=3)
    with LabelSession(root) as session:
        session.reject(session.frames[0])
    writer = DatasetWriter(root)
    writer.open()
    assert writer.add("clip", 0, image(0), Detections.empty(), {}) is None
    writer.close()


def test_rename_and_merge_of_classes(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=3)
    with LabelSession(root) as session:
        assert session.add_class("ball") == 2
        session.save(session.frames[0], [Label(2, (5, 5, 40, 40)), Label(1, (60, 60, 90, 90))], (W, H))
        session.rename_class(0, "rubber duck")
        assert session.names == ["rubber duck", "cup", "ball"]
        session.rename_class(1, "ball")  # cup merges into ball: ids 2 -> 1
        assert session.names == ["rubber duck", "ball"]
        assert [ln[0] for ln in lines(session.frames[0].label)] == ["1", "1"]
        assert [ln[0] for ln in lines(session.frames[1].label)] == ["0", "1"]
    data = yaml.safe_load(open(os.path.join(root, "data.yaml")))
    assert data["names"] == {0: "rubber duck", 1: "ball"}
    assert open(os.path.join(root, "classes.txt")).read() == "rubber duck\nball\n"


def test_a_class_merge_killed_after_its_journal_is_rolled_forward(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=3)
    code = f"""
import os
from vidcv.dataset.editor import LabelSession
import vidcv.dataset.editor as ed
session = LabelSession({root!r}); session.open()
real = ed.rename
calls = []
def dying(src, dst):
    calls.append(src)
    if len(calls) == 2:
        os._exit(9)
    real(src, dst)
ed.rename = dying
session.rename_class(0, "cup")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 9, res.stderr
    with LabelSession(root) as session:
        assert session.names == ["cup"]
        for frame in session.frames:
            assert [ln[0] for ln in lines(frame.label)] == ["0", "0"]
        assert not [n for n in os.listdir(os.path.join(root, "labels", "train")) if n.startswith(".")]


def test_a_second_writer_is_refused_while_a_session_is_open(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=1)
    with LabelSession(root):
        with pytest.raises(DatasetBusy, match="being written by another vidcv"):
            DatasetWriter(root).open()
        code = f"from vidcv.dataset.editor import LabelSession; LabelSession({root!r}).open()"
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert "being written by another vidcv" in res.stderr


def test_proposals_never_replace_what_a_person_made_or_accepted():
    person = Label(0, (10, 10, 50, 50))
    old = Label(1, (100, 100, 120, 120), origin="model:a")
    over = Label(1, (12, 12, 50, 50), origin="model:b")
    fresh = Label(1, (60, 60, 90, 90), origin="model:b")
    assert merge_proposals([person, old], [over, fresh], UNREVIEWED) == [person, fresh]
    assert merge_proposals([person, old], [over, fresh], REVIEWED) == [person, old]


def test_a_plain_ultralytics_folder_made_elsewhere_opens_and_edits(tmp_path):
    root = tmp_path / "roboflow"
    for split in ("train", "valid"):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        cv2.imwrite(str(root / split / "images" / "a.jpg"), image(1))
        (root / split / "labels" / "a.txt").write_text("0 0.5 0.5 0.25 0.5\n")
    (root / "data.yaml").write_text(
        yaml.safe_dump({"train": "../train/images", "val": "../valid/images", "names": ["duck"]})
    )
    with LabelSession(str(root)) as session:
        assert session.family == "boxes" and len(session.frames) == 2 and not session.writable_layout
        frame = next(f for f in session.frames if f.split == "val")
        assert session.read_labels(frame, (W, H))[0].box == pytest.approx((60, 30, 100, 90))
        session.save(frame, [Label(0, (0, 0, 80, 60))], (W, H), status=REVIEWED)
        session.rename_class(0, "rubber duck")
        with pytest.raises(DatasetError, match="outside images/SPLIT"):
            session.add_frame("cam", 0, image(2), Detections.empty(), {})
    assert (root / "valid" / "labels" / "a.txt").read_text() == "0 0.250000 0.250000 0.500000 0.500000\n"
    assert yaml.safe_load((root / "data.yaml").read_text())["names"] == {0: "rubber duck"}


def test_create_makes_an_empty_dataset_that_takes_frames_and_refuses_a_folder_of_other_files(tmp_path):
    session = LabelSession.create(str(tmp_path / "new"), fmt="yolo-seg")
    with session:
        assert session.family == "segments" and session.frames == [] and session.writable_layout
        dets = Detections(
            xyxy=np.array([[10, 10, 60, 50]], np.float32),
            confidence=np.array([0.8], np.float32),
            class_id=np.array([0], np.int32),
            names={0: "duck"},
        )
        frame = session.add_frame("cam", 3, image(3), dets, {"source": "camera 0", "frame": 3})
        assert frame is not None and frame.status == UNREVIEWED and session.names == ["duck"]
        assert session.add_frame("cam", 3, image(3), dets, {}) is None
        assert cv2.imread(frame.image).shape == (H, W, 3)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not a vidcv dataset"):
        LabelSession.create(str(tmp_path / "other"))
