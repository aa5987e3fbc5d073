"""The labelling canvas driven as a user would, with real mouse and key events on the dataset view: draw, move,
resize, re-class, delete, undo and redo, polygons, oriented boxes, keypoints, zoom and pan. Every assertion reads
the label file on disk (normalised there, back to pixels here)."""

import os

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from vidcv.dataset.editor import REVIEWED, UNREVIEWED, last_entries, statuses
from vidcv.dataset.labels import PERSON, Label, read_labels
from vidcv.dataset.writer import DatasetWriter
from vidcv.detections import Detections
from vidcv.ui.label_canvas import ROTATE_PX
from vidcv.ui.label_geometry import obb_rotate_handle

pytestmark = pytest.mark.timeout(60)

W, H = 320, 240
LEFT, MIDDLE, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton
NONE, ALT = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.AltModifier


def scene(i):
    image = np.full((H, W, 3), (40 + 10 * i, 90, 50), np.uint8)
    cv2.rectangle(image, (20, 40), (90, 120), (0, 200, 255), -1)
    cv2.circle(image, (200, 150), 40, (255, 80, 80), -1)
    return image


def make_dataset(root, fmt="yolo", frames=3, boxes=((20, 40, 90, 120), (160, 110, 240, 190)), data=None, **kw):
    """A dataset of ``frames`` 320x240 frames, each with ``boxes`` (classes 0 'box', 1 'ball') proposed by a model."""
    writer = DatasetWriter(str(root), fmt=fmt, split_by="frame", ratios=kw.pop("ratios", (1.0, 0.0, 0.0)), **kw)
    writer.open()
    for i in range(frames):
        n = len(boxes)
        dets = Detections(
            xyxy=np.array(boxes, np.float32).reshape(n, 4),
            confidence=np.full(n, 0.9, np.float32),
            class_id=np.arange(n, dtype=np.int32) % 2,
            names={0: "box", 1: "ball"},
            data=data or {},
        )
        writer.add("clip", i, scene(i), dets, {"source": "clip.mp4", "frame": i, "detectors": [{"model": "m.onnx"}]})
    writer.close()
    return str(root)


@pytest.fixture
def open_view(qtbot):
    """``open_view(root)``: the dataset view on ``root``, shown at a fixed size; closed (lock released) at the end."""
    from vidcv.ui.dataset_view import open_dataset_window

    made = []

    def open_(root):
        win = open_dataset_window(str(root))
        assert win is not None
        win.resize(1200, 800)
        with qtbot.waitActive(win):  # keys are the window's shortcuts: they need it active, as a user's is
            win.show()
            win.activateWindow()
        made.append(win)
        return win

    yield open_
    for win in made:
        win.close()
        assert win.session.journal is None


def at(canvas, x, y):
    """The widget point of image pixel (x, y), through the canvas's own mapping."""
    return canvas.to_widget(x, y).toPoint()


def drag_px(qtbot, canvas, a, b, button=LEFT, modifier=NONE, steps=3):
    """Press at widget point ``a``, move to ``b`` in ``steps``, release there."""
    qtbot.mousePress(canvas, button, modifier, a)
    for k in range(1, steps + 1):
        qtbot.mouseMove(
            canvas, QPoint(round(a.x() + (b.x() - a.x()) * k / steps), round(a.y() + (b.y() - a.y()) * k / steps))
        )
    qtbot.mouseRelease(canvas, button, modifier, b)


def hover(qtbot, canvas, x, y):
    """Move the pointer onto image pixel (x, y), from a pixel beside it: a move to where the pointer already is
    (the last test's window left it there) sends no event, and the cursor would not follow."""
    p = at(canvas, x, y)
    qtbot.mouseMove(canvas, p + QPoint(3, 3))
    qtbot.mouseMove(canvas, p)


def drag(qtbot, canvas, a, b, button=LEFT, modifier=NONE):
    """A drag from image pixel ``a`` to image pixel ``b`` (mapped before it starts)."""
    drag_px(qtbot, canvas, at(canvas, *a), at(canvas, *b), button, modifier)


def on_disk(win, frame=None):
    """The current (or given) frame's labels as the file holds them, in pixels."""
    frame = frame or win.current
    with open(frame.label) as fh:
        return read_labels(fh.read(), win.session.family, (W, H))


def origins(win, frame=None):
    """Who made each label of the frame, as the manifest on disk says."""
    return last_entries(win.session.root)[(frame or win.current).name]["origins"]


def boxes(win, frame=None):
    return [(lab.cls, *lab.box) for lab in on_disk(win, frame)]


def near(a, b, tol=1.0):
    return np.allclose(np.asarray(a, float), np.asarray(b, float), atol=tol)


def test_drag_on_empty_space_draws_a_box_of_the_current_class_saved_at_once(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds"))
    canvas = win.canvas
    assert canvas.scale > 2  # 320x240 shown large: a screen pixel is well under an image pixel
    qtbot.keyClick(canvas, Qt.Key.Key_2)  # nothing selected: the current class becomes 'ball'
    drag(qtbot, canvas, (250.3, 20.6), (300.2, 70.4))
    got = boxes(win)
    assert len(got) == 3 and got[2][0] == 1 and near(got[2][1:], (250.3, 20.6, 300.2, 70.4))
    assert origins(win) == ["model:m.onnx", "model:m.onnx", PERSON] and canvas.selected == 2
    assert statuses(win.session.root)[win.current.name] == UNREVIEWED  # an edit by hand is no review
    # dragged from bottom right to top left, past the image's edge: stored inside it
    drag(qtbot, canvas, (310, 230), (280, -30))
    assert near(boxes(win)[3][1:], (280, 0, 310, 230))
    # Ctrl+drag draws over a label (a part of it) instead of moving it
    drag(qtbot, canvas, (30, 50), (60, 80), modifier=Qt.KeyboardModifier.ControlModifier)
    assert near(boxes(win)[0], (0, 20, 40, 90, 120)) and near(boxes(win)[4][1:], (30, 50, 60, 80))
    del_last = boxes(win)
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert boxes(win) == del_last[:4]
    # a click on empty space draws nothing and drops the selection
    qtbot.mouseClick(canvas, LEFT, NONE, at(canvas, 130, 200))
    assert len(on_disk(win)) == 4 and canvas.selected is None


def test_labels_computed_elsewhere_come_in_as_one_undoable_saved_edit(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds"))
    before = open(win.current.label).read()
    proposal = Label(1, (200.0, 20.0, 250.0, 60.0), origin="model:other.onnx")
    assert win.apply_labels([*win.canvas.labels, proposal], "1 label proposed")
    assert near(boxes(win)[2], (1, 200, 20, 250, 60)) and origins(win)[2] == "model:other.onnx"
    assert win.message_text == "1 label proposed"
    assert not win.apply_labels(win.canvas.labels)  # nothing changed: no edit
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert open(win.current.label).read() == before


def test_a_label_moves_and_resizes_by_a_corner_and_an_edge_with_the_cursor_saying_so(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds"))
    canvas = win.canvas
    drag(qtbot, canvas, (50, 80), (70, 90))  # inside the box: moved by (20, 10)
    assert near(boxes(win)[0], (0, 40, 50, 110, 130)) and canvas.selected == 0
    assert origins(win) == [PERSON, "model:m.onnx"]
    hover(qtbot, canvas, 110, 130)  # hovering the bottom-right corner
    assert canvas.cursor().shape() == Qt.CursorShape.SizeFDiagCursor
    drag(qtbot, canvas, (110, 130), (125, 150))
    assert near(boxes(win)[0], (0, 40, 50, 125, 150))
    hover(qtbot, canvas, 40, 100)  # the left edge
    assert canvas.cursor().shape() == Qt.CursorShape.SizeHorCursor
    drag(qtbot, canvas, (40, 100), (30, 100))
    assert near(boxes(win)[0], (0, 30, 50, 125, 150))
    hover(qtbot, canvas, 80, 50)  # the top edge
    assert canvas.cursor().shape() == Qt.CursorShape.SizeVerCursor
    drag(qtbot, canvas, (80, 50), (80, 20))
    assert near(boxes(win)[0], (0, 30, 20, 125, 150))
    hover(qtbot, canvas, 200, 150)
    assert canvas.cursor().shape() == Qt.CursorShape.SizeAllCursor  # inside a label: move
    hover(qtbot, canvas, 280, 30)
    assert canvas.cursor().shape() == Qt.CursorShape.CrossCursor  # empty: draw
    assert near(boxes(win)[1], (1, 160, 110, 240, 190))  # the other label untouched


def test_number_keys_reclass_and_delete_removes_the_selected_label(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds"))
    canvas = win.canvas
    qtbot.mouseClick(canvas, LEFT, NONE, at(canvas, 200, 150))  # select the ball
    assert canvas.selected == 1
    qtbot.keyClick(canvas, Qt.Key.Key_1)
    assert [b[0] for b in boxes(win)] == [0, 0] and canvas.current_class == 0
    assert origins(win) == ["model:m.onnx", PERSON]
    qtbot.keyClick(canvas, Qt.Key.Key_3)  # no third class: nothing changes
    assert [b[0] for b in boxes(win)] == [0, 0]
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert len(boxes(win)) == 1 and canvas.selected is None
    qtbot.mouseClick(canvas, LEFT, NONE, at(canvas, 50, 80))
    qtbot.keyClick(canvas, Qt.Key.Key_Backspace)
    assert boxes(win) == [] and os.path.getsize(win.current.label) == 0


def test_undo_restores_the_previous_file_and_redo_the_edit_again(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds"))
    canvas, frame = win.canvas, win.current
    original = open(frame.label).read()
    drag(qtbot, canvas, (50, 80), (60, 80))
    moved = open(frame.label).read()
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    deleted = open(frame.label).read()
    assert len({original, moved, deleted}) == 3
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert open(frame.label).read() == moved
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert open(frame.label).read() == original
    assert origins(win) == ["model:m.onnx"] * 2  # who made them, as before
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert open(frame.label).read() == moved
    qtbot.keyClick(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert open(frame.label).read() == deleted
    # the history is per frame: the next frame has nothing to undo, and coming back finds this one's again
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert win.current is not frame and not canvas.can_undo()
    qtbot.keyClick(canvas, Qt.Key.Key_Left)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert open(frame.label).read() == moved


def test_an_edit_keeps_a_reviewed_frame_reviewed(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds"))
    frame = win.current
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)  # accepted, next
    qtbot.keyClick(win.canvas, Qt.Key.Key_Left)
    assert win.current is frame
    drag(qtbot, win.canvas, (50, 80), (55, 80))
    assert statuses(win.session.root)[frame.name] == REVIEWED and frame.status == REVIEWED


def test_zoomed_and_panned_a_drawn_box_still_lands_on_the_right_pixels(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "ds", boxes=((20, 40, 90, 120),)))
    canvas = win.canvas
    fit = canvas.scale
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    assert canvas.scale == pytest.approx(fit * 1.25**2)
    anchor = at(canvas, 150, 60)
    event = QWheelEvent(
        QPointF(anchor),
        QPointF(canvas.mapToGlobal(anchor)),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        NONE,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    canvas.wheelEvent(event)  # two notches up, about the pointer: (150, 60) stays under it
    assert canvas.scale == pytest.approx(fit * 1.25**4)
    assert near(canvas.to_image(QPointF(anchor)), (150, 60), 0.5)
    target = anchor + QPoint(-60, 40)
    drag_px(qtbot, canvas, anchor, target, button=MIDDLE)  # pan: the image follows the pointer
    assert near(canvas.to_image(QPointF(target)), (150, 60), 0.5)
    assert near(boxes(win), [(0, 20, 40, 90, 120)])  # a pan edits nothing
    # Space held: a drag pans too, and does not accept the frame
    frame = win.current
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    drag_px(qtbot, canvas, target, target + QPoint(30, -20))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert win.current is frame and frame.status == UNREVIEWED
    assert near(canvas.to_image(QPointF(target + QPoint(30, -20))), (150, 60), 0.5)
    drag(qtbot, canvas, (141.4, 52.2), (158.6, 66.3))  # a small box, drawn at 6x
    assert canvas.rect().contains(at(canvas, 141.4, 52.2)) and canvas.rect().contains(at(canvas, 158.6, 66.3))
    assert near(boxes(win)[1], (0, 141.4, 52.2, 158.6, 66.3), 0.5)
    qtbot.keyClick(canvas, Qt.Key.Key_F)
    assert canvas.scale == pytest.approx(fit) and canvas.fitted
    qtbot.keyClick(canvas, Qt.Key.Key_Minus)
    assert canvas.scale == pytest.approx(fit / 1.25)


def polygon_of(win, i=0):
    return [tuple(p) for p in on_disk(win)[i].polygon]


def test_polygon_vertices_move_add_and_remove_in_a_segment_dataset(tmp_path, qtbot, open_view):
    square = [(40, 40), (120, 40), (120, 120), (40, 120)]
    polygons = [np.array(square, np.float32)]
    root = tmp_path / "seg"
    writer = DatasetWriter(str(root), fmt="yolo-seg", split_by="frame", ratios=(1.0, 0.0, 0.0))
    writer.open()
    dets = Detections(
        xyxy=np.array([[40, 40, 120, 120]], np.float32),
        confidence=np.array([0.9], np.float32),
        class_id=np.array([0], np.int32),
        names={0: "tile"},
        polygons=polygons,
    )
    writer.add("clip", 0, scene(0), dets, {"source": "clip.mp4", "frame": 0})
    writer.close()
    win = open_view(root)
    canvas = win.canvas
    assert win.session.family == "segments" and near(polygon_of(win), square)
    drag(qtbot, canvas, (120, 40), (140, 30))  # a vertex dragged
    assert near(polygon_of(win), [(40, 40), (140, 30), (120, 120), (40, 120)])
    qtbot.mouseDClick(canvas, LEFT, NONE, at(canvas, 80, 120))  # on the bottom edge: a vertex there
    assert near(polygon_of(win), [(40, 40), (140, 30), (120, 120), (80, 120), (40, 120)])
    qtbot.mouseClick(canvas, LEFT, ALT, at(canvas, 120, 120))  # Alt+click removes one
    assert near(polygon_of(win), [(40, 40), (140, 30), (80, 120), (40, 120)])
    qtbot.mouseClick(canvas, RIGHT, NONE, at(canvas, 80, 120))  # so does a right-click
    assert near(polygon_of(win), [(40, 40), (140, 30), (40, 120)])
    qtbot.mouseClick(canvas, RIGHT, NONE, at(canvas, 40, 120))  # three stay
    assert len(polygon_of(win)) == 3
    drag(qtbot, canvas, (60, 60), (70, 70))  # inside: the whole polygon moves
    assert near(polygon_of(win), [(50, 50), (150, 40), (50, 130)])
    drag(qtbot, canvas, (200, 150), (260, 200))  # a new label: a rectangle of four vertices
    assert near(polygon_of(win, 1), [(200, 150), (260, 150), (260, 200), (200, 200)])
    assert on_disk(win)[1].box == pytest.approx((200, 150, 260, 200), abs=1)


def test_an_oriented_box_resizes_along_its_axes_and_rotates(tmp_path, qtbot, open_view):
    win = open_view(make_dataset(tmp_path / "obb", fmt="yolo-obb", boxes=((100, 80, 200, 140),)))
    canvas = win.canvas

    def corners():
        return np.array(on_disk(win)[0].polygon)

    qtbot.mouseClick(canvas, LEFT, NONE, at(canvas, 150, 110))
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)  # 5 degrees clockwise
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    before = corners()
    edge = before[1] - before[0]
    assert np.degrees(np.arctan2(edge[1], edge[0])) % 180 == pytest.approx(10, abs=0.2)
    # drag corner 2 outwards: still a rectangle at 10 degrees, corner 0 fixed, corner 2 where it was dropped
    target = before[2] + np.array([12.0, 7.0])
    drag(qtbot, canvas, tuple(before[2]), tuple(target))
    after = corners()
    sides = [after[(k + 1) % 4] - after[k] for k in range(4)]
    assert all(abs(np.dot(sides[k], sides[(k + 1) % 4])) < 1.0 for k in range(4))  # right angles
    assert near(after[0], before[0], 0.05) and near(after[2], target, 1.0)
    angle = np.degrees(np.arctan2(sides[0][1], sides[0][0])) % 180
    assert angle == pytest.approx(10, abs=0.3)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    edge = corners()[1] - corners()[0]
    assert np.degrees(np.arctan2(edge[1], edge[0])) % 180 == pytest.approx(5, abs=0.3)
    # the round handle beyond the first edge: dragged a quarter turn about the centre, the box turns with it
    poly = corners()
    centre = poly.mean(axis=0)
    handle = np.array(obb_rotate_handle(poly, ROTATE_PX / canvas.scale))
    arm = handle - centre
    turned = centre + np.array([-arm[1], arm[0]])  # +90 degrees (clockwise on screen)
    hover(qtbot, canvas, *handle)
    assert canvas.cursor().shape() == Qt.CursorShape.OpenHandCursor
    drag(qtbot, canvas, tuple(handle), tuple(turned))
    edge = corners()[1] - corners()[0]
    assert np.degrees(np.arctan2(edge[1], edge[0])) % 180 == pytest.approx(95, abs=1.0)
    assert near(corners().mean(axis=0), centre, 0.05)


def test_keypoints_drag_place_and_remove_in_a_pose_dataset(tmp_path, qtbot, open_view):
    kpts = np.array([[[120, 90, 0.9], [150, 100, 0.9], [130, 130, 0.2]]], np.float32)
    win = open_view(
        make_dataset(tmp_path / "pose", fmt="yolo-pose", boxes=((100, 80, 200, 160),), data={"keypoints": kpts})
    )
    canvas = win.canvas

    def points():
        return [tuple(k) for k in on_disk(win)[0].keypoints]

    assert near(points(), [(120, 90, 2), (150, 100, 2), (0, 0, 0)])
    drag(qtbot, canvas, (150, 100), (160, 110))
    assert near(points(), [(120, 90, 2), (160, 110, 2), (0, 0, 0)])
    assert near(on_disk(win)[0].box, (100, 80, 200, 160))  # the box stays
    qtbot.mouseClick(canvas, LEFT, Qt.KeyboardModifier.ShiftModifier, at(canvas, 140, 150))  # the missing one
    assert near(points(), [(120, 90, 2), (160, 110, 2), (140, 150, 2)])
    qtbot.mouseClick(canvas, RIGHT, NONE, at(canvas, 120, 90))
    assert near(points()[0], (0, 0, 0))
    drag(qtbot, canvas, (200, 160), (220, 170))  # the box's corner resizes the box, the keypoints stay
    assert near(on_disk(win)[0].box, (100, 80, 220, 170)) and near(points()[1], (160, 110, 2))
