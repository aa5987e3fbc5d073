"""Labelling assists: proposals from the pipeline's detector, boxes propagated through the source video into the
dataset's later frames, and box to polygon; none of them overwrites what a person made or accepted."""

import json
import os

import cv2
import numpy as np
import pytest

from vidcv.bundled import assets_dir, sample_video
from vidcv.dataset.assist import Proposer, propagate_labels, propose, to_polygon
from vidcv.dataset.editor import REVIEWED, UNREVIEWED, LabelSession
from vidcv.dataset.existing import DatasetError
from vidcv.dataset.labels import PERSON, Label, box_iou
from vidcv.dataset.writer import DatasetWriter
from vidcv.detections import Detections
from vidcv.presets import find_preset, load_preset

SAMPLED = list(range(0, 60, 6))


@pytest.fixture(scope="module")
def truth():
    with open(os.path.join(assets_dir(), "sample_truth.json")) as fh:
        data = json.load(fh)
    return {f["frame"]: {o["class"]: o["xyxy"] for o in f["objects"]} for f in data["frames"]}


def sample_frames(indices):
    cap = cv2.VideoCapture(sample_video())
    frames, i = {}, 0
    while i <= max(indices):
        ok, img = cap.read()
        assert ok
        if i in indices:
            frames[i] = img
        i += 1
    cap.release()
    return frames


@pytest.fixture
def sample_dataset(tmp_path):
    """Frames 0, 6, ... 54 of the bundled sample in a dataset without labels, as extract records them."""
    root = str(tmp_path / "ds")
    writer = DatasetWriter(root, split_by="frame", ratios=(1.0, 0.0, 0.0))
    writer.open()
    for i, img in sample_frames(SAMPLED).items():
        writer.add("sample", i, img, Detections.empty(), {"source": sample_video(), "frame": i})
    writer.close()
    return root


def frame_at(session, index):
    return next(f for f in session.frames if f.name.endswith(f"_{index:06d}"))


def test_boxes_labelled_once_are_carried_to_the_later_frames_of_the_video(sample_dataset, truth):
    with LabelSession(sample_dataset) as session:
        session.add_class("square")
        session.add_class("triangle")
        first = frame_at(session, 0)
        hand = [Label(0, tuple(truth[0]["square"])), Label(1, tuple(truth[0]["triangle"]))]
        session.save(first, hand, (640, 360), status=REVIEWED)
        kept = Label(0, (10, 10, 60, 60))
        session.save(frame_at(session, 30), [kept], (640, 360), status=REVIEWED)
        report = propagate_labels(session, first, hand)
        assert report.frames == len(SAMPLED) - 2  # every later frame but the reviewed one
        for index in SAMPLED[1:]:
            frame = frame_at(session, index)
            labels = session.read_labels(frame, (640, 360))
            if index == 30:
                assert [lab.box for lab in labels] == [pytest.approx(kept.box, abs=0.01)]
                continue
            assert frame.status == UNREVIEWED and {lab.origin for lab in labels} == {"propagate"}
            for lab in labels:
                cls = session.names[lab.cls]
                assert box_iou(lab.box, truth[index][cls]) >= 0.8, (index, cls)


def test_propagation_needs_the_source_video(sample_dataset, tmp_path):
    with LabelSession(sample_dataset) as session:
        session.history[frame_at(session, 0).name]["source"] = str(tmp_path / "gone.mp4")
        with pytest.raises(DatasetError, match="is not found: give its file"):
            propagate_labels(session, frame_at(session, 0), [Label(0, (10, 10, 50, 50))])


def test_the_detector_proposes_the_shapes_and_keeps_what_a_person_made(sample_dataset, truth):
    proposer = Proposer(load_preset(find_preset("shapes")), min_confidence=0.5)
    with LabelSession(sample_dataset) as session:
        mine = frame_at(session, 0)
        session.add_class("mine")
        person = Label(0, tuple(truth[0]["square"]))
        session.save(mine, [person], (640, 360))
        done = frame_at(session, 6)
        session.save(done, [], (640, 360), status=REVIEWED)
        changed = {f.name: n for f, n in propose(session, proposer, [mine, done, frame_at(session, 12)])}
        assert done.name not in changed and session.read_labels(done, (640, 360)) == []
        labels = session.read_labels(frame_at(session, 12), (640, 360))
        found = {session.names[lab.cls]: lab for lab in labels}
        assert set(found) == {"circle", "square", "triangle"}
        for cls, lab in found.items():
            assert lab.origin.startswith("model:") and box_iou(lab.box, truth[12][cls]) >= 0.8
        on_mine = session.read_labels(mine, (640, 360))
        assert on_mine[0].box == pytest.approx(person.box, abs=0.01) and on_mine[0].origin == PERSON
        assert {session.names[lab.cls] for lab in on_mine[1:]} == {"circle", "triangle"}  # not over the square
    proposer.close()


def test_a_box_becomes_the_outline_of_the_object_in_it():
    img = np.full((120, 160, 3), 200, np.uint8)
    rng = np.random.default_rng(0)
    img[:] = rng.integers(150, 255, img.shape, np.uint8)
    cv2.circle(img, (80, 60), 30, (20, 40, 200), -1)
    lab = to_polygon(img, Label(0, (40, 20, 120, 100)))
    mask = np.zeros((120, 160), np.uint8)
    cv2.fillPoly(mask, [np.round(np.array(lab.polygon)).astype(np.int32)], 1)
    truth = np.zeros_like(mask)
    cv2.circle(truth, (80, 60), 30, 1, -1)
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou >= 0.85 and lab.origin == "grabcut" and len(lab.polygon) >= 6
