"""The dataset view driven as a user would: review keys (accept, reject, restore, next, previous), filters,
classes (add, rename, merge), the status line, the help, a dataset someone else holds, a screenshot, a classify
dataset, frames added while it is open, and a SIGKILL between two edits that leaves the first on disk."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import test_label_canvas
import yaml
from PySide6.QtCore import Qt
from test_label_canvas import LEFT, NONE, W, at, boxes, drag, make_dataset, on_disk, scene

from vidcv.dataset.editor import REJECTED, REVIEWED, UNREVIEWED, LabelSession, label_path_of, statuses
from vidcv.dataset.labels import Label
from vidcv.detections import Detections
from vidcv.ui.dataset_panel import NO_LABELS
from vidcv.ui.dataset_view import open_dataset_window, run_screenshot

pytestmark = pytest.mark.timeout(60)
open_view = test_label_canvas.open_view  # the fixture: the dataset view on a folder, closed at the end


def names(frames):
    return [f.name for f in frames]


def strip(win):
    return names(win.filmstrip.strip.frames)


def test_enter_and_space_accept_and_move_on_x_rejects_u_restores(tmp_path, qtbot, open_view):
    root = make_dataset(tmp_path / "ds", frames=4)
    win = open_view(root)
    canvas = win.canvas
    first = win.current
    assert first.name == "clip_000000" and "clip_000000" in win.info.text() and "unreviewed" in win.info.text()
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert statuses(root)[first.name] == REVIEWED and win.current.name == "clip_000001"
    qtbot.keyClick(canvas, Qt.Key.Key_Space)  # tapped: accept too
    assert statuses(root)["clip_000001"] == REVIEWED and win.current.name == "clip_000002"
    third = win.current
    image, label = third.image, third.label
    qtbot.keyClick(canvas, Qt.Key.Key_X)
    rejected_image = os.path.join(root, "rejected", "images", "train", os.path.basename(image))
    assert not os.path.exists(image) and not os.path.exists(label)
    assert os.path.isfile(rejected_image) and os.path.isfile(label_path_of(rejected_image))
    assert statuses(root)[third.name] == REJECTED and win.current.name == "clip_000003"
    qtbot.keyClick(canvas, Qt.Key.Key_Left)
    assert win.current is third and win.canvas.read_only and "rejected" in win.canvas.note
    drag(qtbot, canvas, (250, 20), (300, 60))  # a rejected frame is not edited
    assert len(on_disk(win)) == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Return)  # nor accepted
    assert statuses(root)[third.name] == REJECTED and "restores" in win.message_text
    qtbot.keyClick(canvas, Qt.Key.Key_U)
    assert os.path.isfile(image) and os.path.isfile(label) and not os.path.exists(rejected_image)
    assert statuses(root)[third.name] == UNREVIEWED and win.current is third and not win.canvas.read_only
    # the badges: the filmstrip paints each frame's status, the counts follow
    assert [f.status for f in win.filmstrip.strip.frames] == [REVIEWED, REVIEWED, UNREVIEWED, UNREVIEWED]
    assert win.session.counts()["status"] == {UNREVIEWED: 2, REVIEWED: 2, REJECTED: 0}
    assert "reviewed <b>2" in win.panel.counts.text().replace("</td><td align=right>", " ")


def test_frame_keys_move_within_the_filters_and_the_filters_show_the_right_frames(tmp_path, qtbot, open_view):
    root = make_dataset(tmp_path / "ds", frames=6, ratios=(0.5, 0.5, 0.0))
    win = open_view(root)
    canvas = win.canvas
    splits = {f.name: f.split for f in win.session.frames}
    assert set(splits.values()) == {"train", "val"}
    train = [f.name for f in win.session.frames if f.split == "train"]
    win.set_filters(split="train")
    assert names(win.frames_shown()) == train and strip(win) == train and win.current.name == train[0]
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    assert win.current.name == train[1]
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    qtbot.keyClick(canvas, Qt.Key.Key_Right)  # past the last: stays, and says so
    assert win.current.name == train[2] and "last frame" in win.message_text
    qtbot.keyClick(canvas, Qt.Key.Key_A)
    assert win.current.name == train[1]
    # class filter: delete the ball on this frame, everything on another
    win.set_filters()
    win.show_frame(win.session.frames[0])
    qtbot.mouseClick(canvas, LEFT, NONE, at(canvas, 200, 150))
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    empty = win.current.name
    for _ in range(2):
        qtbot.mouseClick(canvas, LEFT, NONE, at(canvas, 50, 80) if _ == 0 else at(canvas, 200, 150))
        qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    all_names = names(win.session.frames)
    win.set_filters(cls=1)  # frames holding a ball
    assert names(win.frames_shown()) == [n for n in all_names if n not in (all_names[0], empty)]
    win.set_filters(cls=NO_LABELS)
    assert names(win.frames_shown()) == [empty] and win.current.name == empty
    # status filter: after an accept the next frame in the filter comes, the accepted one leaves the strip
    win.set_filters(status=UNREVIEWED)
    assert win.current.name == empty
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert empty not in strip(win) and win.current.name != empty
    win.set_filters(status=REVIEWED)
    assert names(win.frames_shown()) == [empty] and strip(win) == [empty]
    win.set_filters(status=REJECTED)
    assert win.frames_shown() == [] and win.current is None and "no frame" in win.info.text()
    win.set_filters()
    assert len(win.frames_shown()) == 6


def test_a_click_in_the_filmstrip_shows_that_frame(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds", frames=3))
    view = win.filmstrip
    rect = view.visualRect(view.strip.index(2))
    qtbot.mouseClick(view.viewport(), LEFT, NONE, rect.center())
    assert win.current is win.session.frames[2] and win.canvas.key == win.session.frames[2].key


def test_classes_add_rename_and_merge_after_a_confirmation(tmp_path, qtbot, open_view, monkeypatch):
    root = make_dataset(tmp_path / "ds", frames=2)
    win = open_view(root)
    canvas = win.canvas
    assert win.add_class("cone") == 2 and canvas.current_class == 2
    assert [win.panel.classes.item(i).text() for i in range(3)] == ["1  box  (2)", "2  ball  (2)", "3  cone  (0)"]
    drag(qtbot, canvas, (250, 20), (300, 60))  # drawn as a cone
    assert boxes(win)[2][0] == 2 and win.panel.classes.item(2).text() == "3  cone  (1)"
    assert win.rename_class(0, "crate") and win.session.names == ["crate", "ball", "cone"]
    assert win.actions_["class_0"].text() == "crate"
    asked = []
    monkeypatch.setattr(win, "ask_merge", lambda old, new: asked.append((old, new)) or False)
    assert not win.rename_class(2, "ball")  # declined: nothing changes
    assert win.session.names == ["crate", "ball", "cone"] and asked == [("cone", "ball")]
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # an undo history exists
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)
    monkeypatch.setattr(win, "ask_merge", lambda old, new: True)
    assert win.rename_class(2, "ball")
    assert win.session.names == ["crate", "ball"] and [b[0] for b in boxes(win)] == [0, 1, 1]
    assert yaml.safe_load(open(os.path.join(root, "data.yaml")))["names"] == {0: "crate", 1: "ball"}
    assert [c.cls for c in canvas.labels] == [0, 1, 1] and canvas.current_class == 1
    assert not canvas.can_undo()  # the history held the old class ids: gone with the merge
    assert win.panel.classes.count() == 2 and not win.actions_["class_2"].isVisible()


def test_the_status_line_says_who_made_the_labels_and_f1_lists_the_keys(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds", frames=2))
    text = win.info.text()
    assert "clip_000000" in text and "train" in text and "unreviewed" in text
    assert "2 labels by model:m.onnx ×2" in text and "1 of 2" in text
    drag(qtbot, win.canvas, (250, 20), (300, 60))
    assert "3 labels by model:m.onnx ×2, person ×1" in win.info.text() and "selected: box (person)" in win.info.text()
    qtbot.keyClick(win.canvas, Qt.Key.Key_F1)
    assert win.help_box is not None and win.help_box.isVisible()
    help_text = win.help_box.text()
    for keys in ("Right, D", "Left, A", "Return, Enter", "Ctrl+Shift+Z, Ctrl+Y", "Del", "F1", "Space (tapped)"):
        assert keys in help_text, keys
    win.help_box.close()


def test_a_dataset_held_by_another_session_is_refused_in_one_line(tmp_path, qtbot, capfd):
    root = make_dataset(tmp_path / "ds", frames=1)
    with LabelSession(root):
        assert open_dataset_window(root) is None
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vidcv-gui: error: ") and root in err[0]
    assert open_dataset_window(str(tmp_path / "nothing")) is None
    win = open_dataset_window(root)  # released: it opens
    assert win is not None
    win.close()


def test_a_screenshot_of_the_view(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds", frames=3))
    png = str(tmp_path / "view.png")
    assert run_screenshot(win, png)
    shot = cv2.imread(png)
    assert shot.shape[:2] == (win.height(), win.width()) and win.session.journal is None


def test_a_classify_dataset_shows_each_frames_class_and_reviews(tmp_path, qtbot, open_view):
    root = tmp_path / "cls"
    for split, cls, i in (("train", "cat", 0), ("train", "dog", 1), ("val", "cat", 2)):
        folder = root / split / cls
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"f{i}.jpg"), scene(i))
    win = open_view(root)
    assert win.session.family == "classify" and win.canvas.read_only and win.canvas.banner == "cat"
    assert "class cat" in win.info.text()
    qtbot.keyClick(win.canvas, Qt.Key.Key_1)  # number keys change nothing here
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert statuses(str(root))["f0"] == REVIEWED and win.canvas.banner == "dog"
    qtbot.keyClick(win.canvas, Qt.Key.Key_X)
    assert (root / "rejected" / "train" / "dog" / "f1.jpg").is_file()
    win.set_filters(cls=0)
    assert names(win.frames_shown()) == ["f0", "f2"]


def test_a_frame_added_while_the_view_is_open_appears(tmp_path, qtbot, open_view):
    root = make_dataset(tmp_path / "ds", frames=2)
    win = open_view(root)
    dets = Detections(
        xyxy=np.array([[10, 10, 50, 50]], np.float32),
        confidence=np.array([0.8], np.float32),
        class_id=np.array([0], np.int32),
        names={0: "box"},
    )
    added = win.session.add_frame("cam", 7, scene(7), dets, {"source": "camera 0", "frame": 7})
    assert added is not None and added in win.filmstrip.strip.frames and "shown <b>3" in win.panel.counts.text()


def test_labels_written_through_the_session_elsewhere_show_once_read_again(tmp_path, qtbot, open_view):
    """An assist writes through the session (a proposal on this frame, on another): the view reads them again."""
    win = open_view(make_dataset(tmp_path / "ds", frames=2))
    current, other = win.session.frames
    win.session.save(current, [Label(1, (200.0, 20.0, 250.0, 60.0), origin="grabcut")], (W, 240))
    win.session.save(other, [], (W, 240))
    qtbot.waitUntil(lambda: [lab.cls for lab in win.canvas.labels] == [1], timeout=3000)
    assert win.canvas.labels[0].origin == "grabcut" and "1 label by grabcut ×1" in win.info.text()
    win.set_filters(cls=NO_LABELS)
    assert names(win.frames_shown()) == [other.name]
    assert win.panel.classes.item(0).text() == "1  box  (0)"


KILLED = """
import os, signal, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
app = QApplication([])
from vidcv.ui.dataset_view import open_dataset_window
win = open_dataset_window(sys.argv[1])
win.resize(1000, 700)
win.show()
app.processEvents()
canvas = win.canvas
canvas.add_box((200.0, 20.0, 260.0, 60.0))  # edit 1, complete: saved at once
# edit 2 under way: the first label grabbed and dragged, the button not yet released
start = canvas.to_widget(50, 80).toPoint()
QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
QTest.mouseMove(canvas, start + QPoint(40, 30))
assert canvas.labels[0].box != (20.0, 40.0, 90.0, 120.0)
print("editing", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_sigkill_between_two_edits_keeps_the_first_and_the_dataset_opens_again(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=1)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", KILLED, root], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == -9 and "editing" in done.stdout, done.stderr
    session = LabelSession(root)
    session.open()  # the lock went with the process
    try:
        frame = session.frames[0]
        got = [(lab.cls, *lab.box) for lab in session.read_labels(frame, (W, 240))]
        assert len(got) == 3
        assert np.allclose(got[0], (0, 20, 40, 90, 120), atol=0.01)  # edit 2 never reached the disk
        assert np.allclose(got[2], (0, 200, 20, 260, 60), atol=0.01)  # edit 1 did
        assert [lab.origin for lab in session.read_labels(frame, (W, 240))][2] == "person"
    finally:
        session.close()
