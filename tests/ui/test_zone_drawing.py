"""Scene > Draw zone: the corners clicked on a scaled view become the selected zone stage's polygon in source
pixels, through the parameter path (editor, unsaved mark, preset); Esc cancels, Backspace takes a corner back,
a plain drag still gives a rectangle; and the readout shows a zone's counts live from a real run."""

import pytest
from PySide6.QtCore import QPoint, Qt

from media import ZONE_PRESET, square_video
from vidcv.bundled import sample_video
from vidcv.presets import dump_preset

pytestmark = pytest.mark.timeout(120)

CORNERS = [(100, 50), (300, 60), (320, 250), (90, 240)]


def start_with_zone(qtbot, window, before=()):
    """The sample (640x360) through ``before`` stages and a zone stage, selected, paused on a frame."""
    for name in before:
        window.pipeline_panel.add_plugin(name)
    window.pipeline_panel.add_plugin("zone")
    assert window.open_source(sample_video())
    qtbot.waitUntil(lambda: window.view.frame is not None and window.view.frame.index >= 5, timeout=10000)
    window.session.toggle_play()
    qtbot.waitUntil(lambda: window.session.paused)
    assert window.selected_stage == len(before)
    return len(before)


def widget_point(view, x, y):
    """Where source pixel (x, y) is on the view, rounded to a widget pixel."""
    (p,) = view.from_source(x, y)
    return QPoint(round(p.x()), round(p.y()))


def click_corners(qtbot, view, corners):
    for x, y in corners:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=widget_point(view, x, y))


def polygon_of(window, row):
    return window.session.pipeline.stages[row].plugin.values()["polygon"]


def near(got, want, tolerance):
    return len(got) == len(want) and all(abs(a - b) <= tolerance for a, b in zip(got, want))


def test_clicked_corners_become_the_zone_in_source_pixels(qtbot, window):
    row = start_with_zone(qtbot, window)
    view = window.view
    rect = view.image_rects()[0]
    scale = 640 / rect.width()
    assert abs(scale - 1) > 0.1  # the view is scaled: widget pixels are not source pixels
    window.actions_.draw_zone.trigger()
    assert view.drawing_polygon and window.actions_.draw_zone.isChecked()
    click_corners(qtbot, view, CORNERS)
    assert len(view.polygon) == 4
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert not view.drawing_polygon and not window.actions_.draw_zone.isChecked()
    want = [v for corner in CORNERS for v in corner]
    assert near(polygon_of(window, row), want, scale + 1)
    # the same path as the parameter editor: its spin boxes show the corners, the pipeline is unsaved
    spins = window.pipeline_panel.editor.widgets["polygon"].spins
    assert [s.value() for s in spins] == polygon_of(window, row)
    assert window.session.modified and "*" in window.windowTitle()
    assert "polygon: [" in dump_preset(window.session.pipeline)
    assert "4 corners" in window.statusBar().currentMessage()


def test_a_double_click_closes_and_a_click_on_the_first_corner_too(qtbot, window):
    row = start_with_zone(qtbot, window)
    view = window.view
    window.actions_.draw_zone.trigger()
    click_corners(qtbot, view, CORNERS[:2])
    last = widget_point(view, *CORNERS[2])
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=last)
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=last)
    assert not view.drawing_polygon
    assert len(polygon_of(window, row)) == 6  # three corners: the double click added none of its own
    window.actions_.draw_zone.trigger()
    click_corners(qtbot, view, [*CORNERS, CORNERS[0]])  # back on the first corner: closed
    assert not view.drawing_polygon
    assert len(polygon_of(window, row)) == 8


def test_esc_cancels_backspace_takes_back_and_two_corners_are_no_zone(qtbot, window):
    row = start_with_zone(qtbot, window)
    view = window.view
    before = polygon_of(window, row)
    window.session.modified = False  # as if saved
    window.actions_.draw_zone.trigger()
    click_corners(qtbot, view, CORNERS[:2])
    qtbot.keyClick(view, Qt.Key.Key_Return)  # two corners: not a polygon, still drawing
    assert view.drawing_polygon and len(view.polygon) == 2
    qtbot.keyClick(view, Qt.Key.Key_Backspace)
    assert len(view.polygon) == 1
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not view.drawing_polygon and not window.actions_.draw_zone.isChecked()
    assert polygon_of(window, row) == before and not window.session.modified
    assert "cancelled" in window.statusBar().currentMessage()
    # Z again while drawing cancels too
    window.actions_.draw_zone.trigger()
    window.actions_.draw_zone.trigger()
    assert not view.drawing_polygon and polygon_of(window, row) == before


def test_a_stage_without_a_polygon_says_so(qtbot, window):
    start_with_zone(qtbot, window)
    window.pipeline_panel.add_plugin("blur")  # after the zone, selected
    window.actions_.draw_zone.trigger()
    assert not window.view.drawing_polygon and not window.actions_.draw_zone.isChecked()
    assert "blur takes no polygon" in window.statusBar().currentMessage()


def test_corners_clicked_on_a_resized_image_are_mapped_to_source_pixels(qtbot, window):
    row = start_with_zone(qtbot, window, before=["resize"])  # the processed image is 320x180
    assert window.view.frame.image.shape[:2] == (180, 320)
    window.pipeline_panel.list.setCurrentRow(row)
    window.actions_.draw_zone.trigger()
    click_corners(qtbot, window.view, CORNERS)
    qtbot.keyClick(window.view, Qt.Key.Key_Enter)
    rect = window.view.image_rects()[0]
    assert near(polygon_of(window, row), [v for corner in CORNERS for v in corner], 640 / rect.width() + 1)


def test_a_plain_drag_still_gives_a_rectangle(qtbot, window):
    row = start_with_zone(qtbot, window)
    view = window.view
    view.select_region(widget_point(view, 100, 50), widget_point(view, 300, 250))
    assert near(polygon_of(window, row), [100, 50, 300, 50, 300, 250, 100, 250], 3)


def test_the_readout_shows_the_zone_s_counts_as_they_change(qtbot, window, tmp_path):
    preset = tmp_path / "zone.yaml"
    preset.write_text(ZONE_PRESET)
    assert window.open_preset(str(preset))
    assert window.open_source(square_video(str(tmp_path / "square.mp4")))
    qtbot.waitUntil(lambda: window.readout.shown_rows == 4, timeout=10000)
    counts = lambda: window.readout.stage_rows[3][3].text()  # noqa: E731 - the zone's row
    seen = set()

    def reached(text):
        seen.add(counts())
        return counts() == text

    qtbot.waitUntil(lambda: reached("door: inside 1, in 1, out 0"), timeout=30000)
    qtbot.waitUntil(lambda: reached("door: inside 0, in 1, out 1"), timeout=30000)
    assert "door: inside 0, in 0, out 0" in seen  # before the square came in
    assert window.readout.stage_rows[3][3].toolTip() == "door in: blob 1\ndoor out: blob 1"
