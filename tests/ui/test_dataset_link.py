"""The main window and the dataset view together: L (Add frame to dataset) from a live pattern and from a file puts
the original frame with the detections as proposals into the open dataset; M proposes with the window's
pipeline, P carries boxes through the source video, G outlines a box; a new empty folder becomes a dataset."""

import json
import os

import cv2
import numpy as np
import pytest
import test_label_canvas
from PySide6.QtCore import Qt

from vidcv.bundled import assets_dir, sample_video
from vidcv.dataset.editor import REVIEWED, UNREVIEWED
from vidcv.dataset.labels import Label, box_iou
from vidcv.dataset.writer import DatasetWriter
from vidcv.detections import Detections
from vidcv.presets import find_preset

pytestmark = pytest.mark.timeout(120)
open_view = test_label_canvas.open_view  # the fixture: the dataset view on a folder, closed at the end


def mad(a, b):
    """Mean absolute difference in levels."""
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def added_frames(root):
    return [e for e in map(json.loads, open(os.path.join(root, "manifest.jsonl"))) if e.get("added_from") == "window"]


@pytest.mark.parametrize("source", ["pattern:", "sample"])
def test_l_adds_the_original_frame_with_its_detections_as_proposals(qtbot, window, tmp_path, source):
    root = str(tmp_path / "new")
    assert window.open_preset(find_preset("shapes"))
    window.session.add_stage("color")  # the processed image is gray: what is added is the original
    assert window.open_source(sample_video() if source == "sample" else source)
    assert window.datasets.open(root)  # an empty folder becomes a new dataset
    view = window.datasets.view
    qtbot.waitUntil(lambda: window.view.frame is not None, timeout=10_000)
    window.session.toggle_play()  # paused: the frame on screen is the frame added
    qtbot.wait(200)
    frame = window.session.last_frame
    assert frame.image.ndim == 2 and frame.source_image.ndim == 3
    window.actions_.add_frame.trigger()
    assert "added to" in window.message, window.message
    entry = added_frames(root)[-1]
    assert entry["frame"] == frame.index and entry["status"] == UNREVIEWED
    added = next(f for f in view.session.frames if f.name == entry["name"])
    stored = cv2.imread(added.image)
    processed = cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR)
    assert stored.shape == frame.source_image.shape and mad(stored, frame.source_image) < 2  # JPEG q95 of it
    assert mad(stored, processed) > 10 * mad(stored, frame.source_image)  # not the processed image
    labels = view.session.read_labels(added, (stored.shape[1], stored.shape[0]))
    assert len(labels) == len(frame.detections) and all(lab.origin.startswith("model:") for lab in labels)
    if source == "sample":
        assert {view.session.names[lab.cls] for lab in labels} == {"circle", "square", "triangle"}
        assert entry["source_path"] == os.path.abspath(sample_video())
    qtbot.waitUntil(lambda: added in view.filmstrip.strip.frames, timeout=5000)  # the view shows it
    window.actions_.add_frame.trigger()  # the same frame again: said, not added twice
    assert "already in" in window.message and len(added_frames(root)) == 1


def test_m_proposes_with_the_window_pipeline_and_keeps_a_person_s_box(qtbot, window, tmp_path):
    root = str(tmp_path / "ds")
    cap = cv2.VideoCapture(sample_video())
    ok, image = cap.read()
    cap.release()
    writer = DatasetWriter(root, split_by="frame", ratios=(1.0, 0.0, 0.0))
    writer.open()
    writer.add("sample", 0, image, Detections.empty(), {"source": sample_video(), "frame": 0})
    writer.close()
    assert window.datasets.open(root)
    view = window.datasets.view
    with qtbot.waitActive(view):
        view.activateWindow()
    view.add_class("mine")
    view.apply_labels([Label(0, (10, 10, 60, 60))], "drawn")
    assert not view.assists.propose_current()  # no detector in the window's pipeline yet: said so
    assert "no detector" in view.message_text
    assert window.open_preset(find_preset("shapes"))
    qtbot.keyClick(view.canvas, Qt.Key.Key_M)
    labels = view.canvas.labels
    assert labels[0].origin == "person" and len(labels) == 4
    assert {view.session.names[lab.cls] for lab in labels[1:]} == {"circle", "square", "triangle"}
    qtbot.keyClick(view.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undoable edit
    assert len(view.canvas.labels) == 1


def test_p_carries_the_boxes_to_the_later_frames_of_the_sample(qtbot, open_view, tmp_path):
    with open(os.path.join(assets_dir(), "sample_truth.json")) as fh:
        truth = {f["frame"]: {o["class"]: o["xyxy"] for o in f["objects"]} for f in json.load(fh)["frames"]}
    root = str(tmp_path / "ds")
    cap = cv2.VideoCapture(sample_video())
    writer = DatasetWriter(root, split_by="frame", ratios=(1.0, 0.0, 0.0))
    writer.open()
    for i in range(31):
        ok, image = cap.read()
        if i % 10 == 0:
            writer.add("sample", i, image, Detections.empty(), {"source": "sample.mp4", "frame": i})
    cap.release()
    writer.close()
    view = open_view(root)
    view.add_class("square")
    view.apply_labels([Label(0, tuple(truth[0]["square"]))], "drawn")
    assert not view.assists.propagate_from_current()  # sample.mp4 is not beside the dataset: said in one line
    assert "is not found" in view.message_text
    assert view.assists.propagate_from_current(sample_video())
    session = view.session
    for frame in session.frames[1:]:
        index = int(frame.name.rsplit("_", 1)[1])
        (lab,) = session.read_labels(frame, (640, 360))
        assert frame.status == UNREVIEWED and lab.origin == "propagate"
        assert box_iou(lab.box, truth[index]["square"]) >= 0.8


def test_g_outlines_the_selected_box_in_a_segmentation_dataset(qtbot, open_view, tmp_path):
    root = str(tmp_path / "seg")
    rng = np.random.default_rng(1)
    image = rng.integers(150, 255, (240, 320, 3), np.uint8)
    cv2.circle(image, (160, 120), 50, (30, 40, 200), -1)
    writer = DatasetWriter(root, fmt="yolo-seg", split_by="frame", ratios=(1.0, 0.0, 0.0))
    writer.open()
    dets = Detections(np.array([[100, 60, 220, 180]], np.float32), np.ones(1, np.float32), np.array([0]), {0: "disc"})
    writer.add("disc", 0, image, dets, {"source": "generated", "frame": 0})
    writer.close()
    view = open_view(root)
    view.canvas.select(0)
    qtbot.keyClick(view.canvas, Qt.Key.Key_G)
    (lab,) = view.session.read_labels(view.current, (320, 240))
    assert len(lab.polygon) >= 8 and lab.origin == "grabcut"
    mask = np.zeros((240, 320), np.uint8)
    cv2.fillPoly(mask, [np.round(np.array(lab.polygon)).astype(np.int32)], 1)
    disc = np.zeros_like(mask)
    cv2.circle(disc, (160, 120), 50, 1, -1)
    assert (mask & disc).sum() / (mask | disc).sum() >= 0.85
    view.accept_current()
    assert view.session.frames[0].status == REVIEWED
