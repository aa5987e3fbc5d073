"""Frame (vidcv/frame.py): construction, with_image and the other with_ methods, the pipeline's and runner's
bookkeeping, geometry bookkeeping, mapping detections, and that nothing outside frame.py changes a Frame's
fields directly."""

import ast
import dataclasses
import pathlib
import re

import numpy as np
import pytest

from vidcv.detections import TRACK_AGE, TRACK_SPEED, TRAIL, Classification, Detections
from vidcv.frame import Frame, map_detections
from vidcv.status import StageStatus


def bgr(h=4, w=6, value=0):
    return np.full((h, w, 3), value, np.uint8)


def boxes(xyxy, **kw):
    n = len(xyxy)
    return Detections(np.asarray(xyxy, np.float32), np.full(n, 0.5, np.float32), np.zeros(n, np.int32), **kw)


# --- construction ---------------------------------------------------------------------------------------


def test_source_image_defaults_to_the_image():
    img = bgr()
    f = Frame(img, 3, 100.0)
    assert f.source_image is img
    assert f.color_space == "bgr"
    assert f.to_source is None and f.path is None and len(f.detections) == 0


def test_an_explicit_source_image_is_kept():
    img, src = bgr(value=1), bgr(value=2)
    f = Frame(img, 0, 0.0, source_image=src)
    assert f.source_image is src and f.image is img


def test_a_2d_image_is_gray_whatever_space_was_given():
    f = Frame(np.zeros((4, 6), np.uint8), 0, 0.0, color_space="bgr")
    assert f.color_space == "gray"
    assert Frame(bgr(), 0, 0.0, color_space="hsv").color_space == "hsv"


def test_size_wh_is_width_then_height():
    assert Frame(bgr(h=4, w=6), 0, 0.0).size_wh == (6, 4)
    assert Frame(np.zeros((7, 11), np.uint8), 0, 0.0).size_wh == (11, 7)


# --- with_image ------------------------------------------------------------------------------------------


def test_with_image_returns_a_new_frame_and_leaves_the_original_untouched():
    img = bgr(value=5)
    dets = boxes([[0, 0, 2, 2]])
    statuses = {"count": StageStatus(counts={"in": 1})}
    f = Frame(img, 7, 233.3, detections=dets, statuses=statuses, path="/x/y.png")
    gray = np.full((4, 6), 9, np.uint8)
    g = f.with_image(gray)
    assert g is not f
    assert g.image is gray and g.color_space == "gray"
    assert f.image is img and f.color_space == "bgr"  # the original is as it was
    assert int(f.image[0, 0, 0]) == 5
    # everything else is shared, not copied
    assert g.index == 7 and g.pts_ms == 233.3 and g.path == "/x/y.png"
    assert g.source_image is img
    assert g.detections is dets
    assert g.statuses is statuses
    assert g.stage_images is f.stage_images
    assert g.captured_at == f.captured_at


def test_with_image_colour_space_rules():
    hsv = Frame(bgr(), 0, 0.0, color_space="hsv")
    assert hsv.with_image(bgr(value=1)).color_space == "hsv"  # colour keeps the current space
    assert hsv.with_image(bgr(value=1), "rgb").color_space == "rgb"  # unless told
    assert hsv.with_image(np.zeros((4, 6), np.uint8)).color_space == "gray"
    assert hsv.with_image(np.zeros((4, 6), np.uint8), "hsv").color_space == "gray"  # 2-D is always gray
    gray = Frame(np.zeros((4, 6), np.uint8), 0, 0.0)
    assert gray.with_image(bgr()).color_space == "bgr"  # colour after gray is BGR
    assert gray.with_image(bgr(), "lab").color_space == "lab"  # an explicit space is honoured
    assert gray.color_space == "gray"


# --- the other with_ methods: a new frame, the original untouched ------------------------------------------


def test_with_detections_replaces_them_in_a_new_frame():
    img, before, after = bgr(), boxes([[0, 0, 2, 2]]), boxes([[1, 1, 3, 3]])
    f = Frame(img, 4, 40.0, detections=before)
    g = f.with_detections(after)
    assert g is not f and g.detections is after
    assert f.detections is before  # the original is as it was
    assert g.image is img and g.source_image is img and g.stage_images is f.stage_images
    assert g.statuses is f.statuses and g.index == 4 and g.color_space == f.color_space


def test_with_detections_added_merges_after_the_existing_ones():
    f = Frame(bgr(), 0, 0.0, detections=boxes([[0, 0, 2, 2]], names={0: "a"}))
    g = f.with_detections_added(boxes([[1, 1, 3, 3]], names={0: "a"}))
    assert g is not f and g.image is f.image
    np.testing.assert_allclose(g.detections.xyxy, [[0, 0, 2, 2], [1, 1, 3, 3]])
    np.testing.assert_allclose(f.detections.xyxy, [[0, 0, 2, 2]])  # the original is as it was
    assert f.with_detections_added(Detections.empty()).detections.xyxy.shape == (1, 4)


def test_with_classification_sets_it_in_a_new_frame():
    found = Classification(np.array([2]), np.array([0.9], np.float32), {2: "cat"})
    f = Frame(bgr(), 0, 0.0)
    g = f.with_classification(found)
    assert g.classification is found and f.classification is None
    assert g.image is f.image and g.detections is f.detections


# --- bookkeeping of the runner and the pipeline (in place) ------------------------------------------------


def test_stamp_capture_sets_captured_at():
    f = Frame(bgr(), 0, 0.0)
    f.stamp_capture(12.5)
    assert f.captured_at == 12.5


def test_stage_images_begin_empty_then_carry_each_stage_output():
    f = Frame(bgr(value=1), 0, 0.0)
    earlier = f.with_image(bgr(value=9))  # made before the run: keeps the list it had
    earlier.stage_images.append(earlier.image)
    f.begin_stages()
    assert f.stage_images == [] and len(earlier.stage_images) == 1
    f.keep_stage_image()  # a stage that was disabled or failed passes its input on
    out = Frame(bgr(value=2), 0, 0.0)  # a stage's output made afresh, without the stage images
    out.carry_stages_from(f)
    assert out.stage_images is f.stage_images
    assert [int(im[0, 0, 0]) for im in out.stage_images] == [1, 2]
    out.carry_stages_from(out)  # a stage that returned what it was given
    assert [int(im[0, 0, 0]) for im in out.stage_images] == [1, 2, 2]


def test_record_status_replaces_the_shared_dict():
    first = StageStatus(counts={"in": 1})
    f = Frame(bgr(), 0, 0.0, statuses={"count": first})
    g = f.with_image(bgr(value=3))  # shares f's statuses
    g.record_status("blur", StageStatus(state="ok"))
    assert set(g.statuses) == {"count", "blur"} and g.statuses["count"] is first
    assert set(f.statuses) == {"count"}  # the frame it was made from is as it was


# --- nothing outside frame.py changes a Frame's fields -----------------------------------------------------

ROOT = pathlib.Path(__file__).resolve().parents[1]
FRAME_FIELDS = frozenset(f.name for f in dataclasses.fields(Frame))
#: names that hold a Frame at the sites that changed one (besides names annotated Frame, and ``*_frame``)
FRAME_NAMES = frozenset({"frame", "out", "f", "item"})
#: methods that change a list or dict in place (``frame.stage_images.append(...)``)
MUTATORS = frozenset(
    {"append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse", "update", "setdefault", "popitem"}
)


def _frame_names(tree: ast.AST) -> set[str]:
    """FRAME_NAMES and the names this module annotates with Frame (parameters, annotated assignments)."""
    names = set(FRAME_NAMES)
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            name, annotation = node.arg, node.annotation
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, annotation = node.target.id, node.annotation
        else:
            continue
        if re.search(r"\bFrame\b", ast.unparse(annotation)):
            names.add(name)
    return names


def _holds_a_frame(node: ast.AST, names: set[str]) -> bool:
    """``node`` is a name that holds a Frame, or an attribute such as ``self.frame`` / ``self._last_frame``."""
    if isinstance(node, ast.Name):
        return node.id in names or node.id.endswith("_frame")
    return isinstance(node, ast.Attribute) and (node.attr == "frame" or node.attr.endswith("_frame"))


def _field_of_a_frame(node: ast.AST, names: set[str]) -> bool:
    """``node`` is ``<frame>.<field>`` with <field> one of Frame's dataclass fields."""
    return isinstance(node, ast.Attribute) and node.attr in FRAME_FIELDS and _holds_a_frame(node.value, names)


def frame_changes(source: str) -> list[tuple[int, str]]:
    """(line, code) of each place ``source`` changes a Frame field directly: ``<frame>.<field>`` assigned
    (``=``, ``+=``, annotated, unpacked, a ``for``/``with`` target) or deleted, an item of it assigned or
    deleted (``frame.statuses[k] = v``), a list/dict method that changes it in place called on it
    (``frame.stage_images.append(...)``), or ``setattr(<frame>, "<field>", ...)``."""
    tree = ast.parse(source)
    names = _frame_names(tree)
    found = []
    for node in ast.walk(tree):
        changed = False
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            changed = _field_of_a_frame(node, names)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            changed = _field_of_a_frame(node.value, names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            changed = node.func.attr in MUTATORS and _field_of_a_frame(node.func.value, names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            args = node.args
            changed = (
                len(args) >= 2
                and _holds_a_frame(args[0], names)
                and isinstance(args[1], ast.Constant)
                and args[1].value in FRAME_FIELDS
            )
        if changed:
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_frame_change_finder_finds_what_it_should():
    flagged = """
def stage(frame, dets, other_frame, out, thing: "Frame | None", x):
    frame.detections = dets
    out.statuses["a"] = 1
    frame.stage_images.append(frame.image)
    other_frame.captured_at += 1.0
    thing.classification = None
    setattr(frame, "to_source", None)
    del frame.path
    out.image[0, 0] = 255
    self.frame.color_space, y = "gray", 2
"""
    assert len(frame_changes(flagged)) == 9
    left_alone = """
def stage(frame, x, image):
    self.path = "p"
    x.detections = None
    frame.apply_geometry(m)
    frame = frame.with_image(image)
    n = len(frame.stage_images)
    image[0, 0] = 1
    frame.custom = 1
"""
    assert frame_changes(left_alone) == []


def test_no_frame_field_is_changed_outside_frame_py():
    """A Frame changes only through its own methods (``with_image``, ``with_detections_added``,
    ``begin_stages``...): nowhere in vidcv/, plugins/ or ui/ but vidcv/frame.py is a field of a Frame
    assigned, deleted, changed item by item or changed in place by a list/dict method.

    The check reads syntax, not types, so it goes by names: an assignment (or deletion, item assignment,
    ``append``/``update``... call, ``setattr``) whose target is ``<name>.<field>``, where <field> is one of
    Frame's dataclass fields and <name> is ``frame``, ``out``, ``f`` or ``item`` (the names the pipeline,
    the runner and the plugins give frames), any name ending in ``_frame``, an attribute such as
    ``self.frame`` or ``self._last_frame``, or a name annotated with Frame in the same module. A frame kept
    under another name escapes it; name it so, or annotate it."""
    seen, found = set(), []
    for folder in ("vidcv", "plugins", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            real = path.resolve()
            if real in seen or real == (ROOT / "vidcv" / "frame.py").resolve():
                continue
            seen.add(real)
            rel = real.relative_to(ROOT).as_posix()
            found += [f"{rel}:{line}: {code}" for line, code in frame_changes(real.read_text(encoding="utf-8"))]
    assert not found, "change a Frame through its methods (vidcv/frame.py), not its fields:\n" + "\n".join(found)


# --- geometry -------------------------------------------------------------------------------------------


def test_apply_geometry_composes_translation_then_scale():
    f = Frame(bgr(100, 200), 0, 0.0)
    f.apply_geometry(np.array([[1, 0, -10], [0, 1, -20]], np.float64))  # crop at x=10, y=20 (2x3)
    np.testing.assert_allclose(f.to_source, [[1, 0, 10], [0, 1, 20], [0, 0, 1]])
    f.apply_geometry(np.diag([2.0, 2.0, 1.0]))  # then a 2x resize (3x3)
    # image pixel (x, y) -> source pixel (x / 2 + 10, y / 2 + 20)
    np.testing.assert_allclose(f.to_source, [[0.5, 0, 10], [0, 0.5, 20], [0, 0, 1]])
    for x, y, sx, sy in [(0, 0, 10, 20), (40, 60, 30, 50), (100, 10, 60, 25)]:
        np.testing.assert_allclose(f.to_source @ [x, y, 1], [sx, sy, 1])


def test_detections_round_trip_under_a_crop():
    src = bgr(100, 200)
    f = Frame(src[20:80, 50:150].copy(), 0, 0.0, source_image=src)  # image 100x60 cut at (50, 20)
    f.apply_geometry(np.array([[1, 0, -50], [0, 1, -20]], np.float64))
    found = boxes([[10, 10, 30, 40], [0, 0, 100, 60]])
    in_source = f.detections_to_source(found)
    np.testing.assert_allclose(in_source.xyxy, [[60, 30, 80, 60], [50, 20, 150, 80]])
    back = f.detections_to_image(in_source)
    np.testing.assert_allclose(back.xyxy, found.xyxy)
    np.testing.assert_array_equal(back.confidence, found.confidence)
    # a source box reaching outside the crop is clipped to the processed image
    outside = f.detections_to_image(boxes([[0, 0, 60, 30], [140, 70, 200, 100]]))
    np.testing.assert_allclose(outside.xyxy, [[0, 0, 10, 10], [90, 50, 100, 60]])


def test_detections_round_trip_under_a_2x_resize():
    src = bgr(80, 100)
    f = Frame(np.zeros((160, 200, 3), np.uint8), 0, 0.0, source_image=src)
    f.apply_geometry(np.diag([2.0, 2.0, 1.0]))
    found = boxes([[20, 40, 60, 100]])
    in_source = f.detections_to_source(found)
    np.testing.assert_allclose(in_source.xyxy, [[10, 20, 30, 50]])
    np.testing.assert_allclose(f.detections_to_image(in_source).xyxy, [[20, 40, 60, 100]])


def test_without_geometry_detections_pass_through_unchanged():
    f = Frame(bgr(), 0, 0.0)
    dets = boxes([[1, 1, 3, 3]])
    assert f.detections_to_source(dets) is dets
    assert f.detections_to_image(dets) is dets


# --- map_detections -------------------------------------------------------------------------------------


def test_map_detections_maps_polygons_point_fields_and_masks():
    masks = np.zeros((2, 20, 20), bool)
    masks[0, 4, 2] = True  # (x=2, y=4)
    masks[1, 0:2, 0:3] = True
    dets = boxes(
        [[1, 2, 3, 4], [0, 0, 2, 1]],
        tracker_id=[4, 5],
        masks=masks,
        polygons=[[[1, 2], [3, 2], [3, 4]], [[0, 0], [2, 1]]],
    )
    dets = dets.with_data(
        **{TRACK_AGE.name: [3, 8], TRACK_SPEED.name: [1.5, np.nan], TRAIL.name: [[[0, 0], [1, 1]], np.zeros((0, 2))]}
    )
    m = np.array([[1, 0, 5], [0, 1, 3], [0, 0, 1]], np.float64)  # shift by (+5, +3)
    out = map_detections(dets, m, (20, 20))
    np.testing.assert_allclose(out.xyxy, [[6, 5, 8, 7], [5, 3, 7, 4]])
    np.testing.assert_allclose(out.polygons[0], [[6, 5], [8, 5], [8, 7]])
    np.testing.assert_allclose(out.polygons[1], [[5, 3], [7, 4]])
    trails = out.data[TRAIL.name]
    np.testing.assert_allclose(trails[0], [[5, 3], [6, 4]])
    assert trails[1].shape == (0, 2)
    # fields that are not points are kept as they were
    np.testing.assert_array_equal(out.data[TRACK_AGE.name], [3, 8])
    np.testing.assert_array_equal(out.data[TRACK_SPEED.name], np.array([1.5, np.nan], np.float32))
    # masks are warped: the pixel at (2, 4) lands at (7, 7)
    assert out.masks.shape == (2, 20, 20)
    assert list(zip(*np.nonzero(out.masks[0]))) == [(7, 7)]
    assert out.masks[1].sum() == 6 and out.masks[1][3:5, 5:8].all()
    # the input is untouched, and the rest travels along
    np.testing.assert_allclose(dets.polygons[0], [[1, 2], [3, 2], [3, 4]])
    np.testing.assert_allclose(dets.data[TRAIL.name][0], [[0, 0], [1, 1]])
    np.testing.assert_array_equal(out.tracker_id, [4, 5])
    np.testing.assert_array_equal(out.confidence, dets.confidence)


def test_map_detections_scales_polygons_and_trails():
    dets = boxes([[10, 10, 20, 30]], polygons=[[[10, 10], [20, 30]]])
    dets = dets.with_data(**{TRAIL.name: [[[10, 10], [20, 30]]]})
    out = map_detections(dets, np.diag([0.5, 0.5, 1.0]), (100, 100))
    np.testing.assert_allclose(out.xyxy, [[5, 5, 10, 15]])
    np.testing.assert_allclose(out.polygons[0], [[5, 5], [10, 15]])
    np.testing.assert_allclose(out.data[TRAIL.name][0], [[5, 5], [10, 15]])


@pytest.mark.parametrize("m", [None, np.eye(3)])
def test_map_detections_with_no_change_returns_the_same_object(m):
    dets = boxes([[1, 1, 2, 2]])
    assert map_detections(dets, m, (10, 10)) is dets


def test_map_detections_of_nothing_returns_the_same_object():
    empty = Detections.empty({0: "a"})
    assert map_detections(empty, np.diag([2.0, 2.0, 1.0]), (10, 10)) is empty
