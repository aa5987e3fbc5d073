"""Scene > Events: "Keep events" attaches an events sink to the running session, whose events reach the list
through a queued signal; Play clip opens the player on a clip still being written (it plays what is there)
and on the finished one; unticking (or closing the window) finishes the clip; the folder, the pre- and
post-roll and whether the panel was open are remembered; a new source gets a sink of its own."""

import json
import os

import pytest
from PySide6.QtCore import Qt

from media import ZONE_PRESET, square_video
from vidcv.fileio import visible_partial_name

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def scene(tmp_path):
    (tmp_path / "zone.yaml").write_text(ZONE_PRESET)
    return str(square_video(str(tmp_path / "square.mp4"))), str(tmp_path / "zone.yaml")


def open_events(window, folder, pre=1.0, post=30.0):
    """Scene > Events, with the folder and the clips' seconds filled in."""
    window.actions_.events.trigger()
    panel = window.events_panel
    assert panel is not None and window.events_dock.isVisible()
    panel.folder.setText(str(folder))
    panel.pre.setValue(pre)
    panel.post.setValue(post)
    return panel


def rows(panel):
    return [[panel.list.topLevelItem(i).text(c) for c in range(5)] for i in range(panel.list.topLevelItemCount())]


def run_scene(qtbot, window, scene):
    video, preset = scene
    window.session.set_realtime(False)
    assert window.open_preset(preset)
    assert window.open_source(video)


def test_kept_events_are_listed_and_their_clip_plays_while_written_and_when_complete(qtbot, window, scene, tmp_path):
    out = tmp_path / "events"
    panel = open_events(window, out)
    run_scene(qtbot, window, scene)
    panel.keep.setChecked(True)  # while the run goes: attached to it
    assert window.session.kept_events is not None and not panel.folder.isEnabled()
    qtbot.waitUntil(lambda: len(rows(panel)) == 2, timeout=30000)
    (enter, leave) = rows(panel)
    assert enter[1:4] == ["enter", "door", "blob #1"] and leave[1:4] == ["exit", "door", "blob #1"]
    assert 55 / 25 <= float(enter[0]) <= 62 / 25
    record = panel.list.topLevelItem(0).data(0, Qt.ItemDataRole.UserRole)
    clip = str(out / record["clip"])
    assert panel.status.text() == "keeping events: 2 this run, 1 clip"
    # 30 s of post-roll past the video's end: the clip is still being written
    qtbot.waitUntil(lambda: os.path.exists(visible_partial_name(clip)), timeout=10000)
    qtbot.waitUntil(lambda: rows(panel)[0][4] == "● rec", timeout=10000)
    panel.list.setCurrentItem(panel.list.topLevelItem(0))
    qtbot.waitUntil(panel.play_button.isEnabled, timeout=10000)
    qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
    player = panel.players[-1]
    assert player.path == clip and player.growing and "still recording" in player.state_label.text()
    qtbot.waitUntil(lambda: player.shown >= 10, timeout=30000)  # it plays what is written so far
    assert player.view.frame.image.shape == (240, 320, 3)
    # unticked: the clip is finished (renamed to its name), the list and the player follow
    panel.keep.setChecked(False)
    assert window.session.kept_events is None and panel.folder.isEnabled()
    qtbot.waitUntil(lambda: os.path.exists(clip) and not os.path.exists(visible_partial_name(clip)), timeout=30000)
    qtbot.waitUntil(lambda: rows(panel)[0][4] == "▶ ready", timeout=10000)
    qtbot.waitUntil(lambda: "complete" in panel.status.text(), timeout=10000)
    qtbot.waitUntil(lambda: player.reader.path == clip and player.state_label.text() == "", timeout=30000)
    lines = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["zone_enter", "zone_exit"] and lines[0]["clip"] == record["clip"]
    # a finished clip plays from its start; a double click opens it too
    shown = len(panel.players)
    panel.list.itemDoubleClicked.emit(panel.list.topLevelItem(1), 0)
    assert len(panel.players) == shown + 1
    again = panel.players[-1]
    assert not again.growing and again.state_label.text() == ""
    qtbot.waitUntil(lambda: again.shown >= 10, timeout=30000)
    again.toggle_play()
    at = again.position
    again.seek(3)
    assert again.position == 3 and again.slider.value() == 3 and again.position != at
    for p in list(panel.players):
        p.close()


def test_closing_the_window_finishes_the_clip_and_each_source_gets_its_own_sink(qtbot, window, scene, tmp_path):
    out = tmp_path / "events"
    panel = open_events(window, out, pre=1.0, post=60.0)
    panel.keep.setChecked(True)  # before any run: it waits for the next source
    assert "from the next source opened" in panel.status.text()
    run_scene(qtbot, window, scene)
    first = window.session.kept_events
    assert first is not None
    qtbot.waitUntil(lambda: len(rows(panel)) == 2, timeout=30000)
    window.open_source(scene[0])  # the same video again: a sink of its own, the first one finished
    second = window.session.kept_events
    assert second is not None and second is not first and panel.keep.isChecked()
    qtbot.waitUntil(lambda: len(rows(panel)) == 4, timeout=30000)
    clips = {panel.list.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)["clip"] for i in range(4)}
    assert len(clips) == 2
    window.close()  # the window's close ends keeping events: every clip complete on disk
    for name in clips:
        assert (out / name).exists() and not os.path.exists(visible_partial_name(str(out / name)))


def test_the_folder_and_seconds_are_remembered_and_a_bad_folder_is_said(qtbot, make_window, tmp_path):
    window = make_window()
    panel = open_events(window, tmp_path / "kept", pre=2.5, post=7.0)
    blocker = tmp_path / "a file"
    blocker.write_text("")
    panel.folder.setText(str(blocker / "events"))
    panel.keep.setChecked(True)
    panel.keep.setChecked(False)
    panel.folder.setText(str(tmp_path / "kept"))
    panel.keep.setChecked(True)
    panel.keep.setChecked(False)
    window.close()
    again = make_window()  # the panel was open: it opens again, where it was
    assert again.events_dock.isVisible() and again.actions_.events.isChecked()
    panel = again.events_panel
    assert panel.folder.text() == str(tmp_path / "kept")
    assert (panel.pre.value(), panel.post.value()) == (2.5, 7.0)
    # a folder that cannot be made: said, and nothing kept
    panel.folder.setText(str(blocker / "events"))
    assert again.open_source(square_video(str(tmp_path / "v.mp4"), 10))
    panel.keep.setChecked(True)
    assert not panel.keep.isChecked() and again.session.events_setup is None
    assert str(blocker) in panel.status.text() and panel.status.styleSheet()


def test_the_scene_menu_and_its_shortcuts(qtbot, window):
    scene_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Scene")
    assert [a.text() for a in scene_menu.actions()] == ["Draw zone", "Events"]
    assert window.actions_.draw_zone.shortcut().toString() == "Z"
    assert window.actions_.events.shortcut().toString() == "E"
    assert window.events_dock is None  # made when first opened
    window.actions_.events.trigger()
    dock = window.events_dock
    assert dock.isVisible() and window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert window.actions_.events.isChecked()
    window.actions_.events.trigger()  # E again hides it
    assert not dock.isVisible() and not window.actions_.events.isChecked()
    window.actions_.shortcuts.trigger()
    text = window.help_box.text()
    assert "<b>Z</b>" in text and "<b>E</b>" in text and "Double-click an event" in text
    window.help_box.close()
