"""The desktop app, driven as a user would: start on the sample, build a pipeline, tune it, record, save."""

import os
import runpy
import time

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from media import read_all
from vidcv.bundled import bundled_preset, sample_video
from vidcv.frame import Frame
from vidcv.presets import dump_preset, load_preset

pytestmark = pytest.mark.timeout(120)


def shown(win):
    return win.view.frame


def wait_for(qtbot, win, predicate, timeout=8000):
    """Wait until the newest displayed frame satisfies ``predicate(frame)``."""
    qtbot.waitUntil(lambda: shown(win) is not None and predicate(shown(win)), timeout=timeout)


def start_on_sample(qtbot, win, preset=None):
    """Play the sample at its own 30 fps: its 10 s outlast each test's edits."""
    if preset:
        assert win.open_preset(bundled_preset(preset))
    assert win.open_source(sample_video())
    wait_for(qtbot, win, lambda f: True)


def canny_of(frame, low=50, high=150):
    gray = cv2.cvtColor(frame.source_image, cv2.COLOR_BGR2GRAY)
    return cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 0), low, high)


def test_starts_on_the_sample_with_the_edges_preset(qtbot, window):
    start_on_sample(qtbot, window, "edges")
    wait_for(qtbot, window, lambda f: np.array_equal(f.image, canny_of(f)))
    assert window.pipeline_panel.list.count() == 3
    assert window.windowTitle().startswith("edges.yaml — sample.mp4")
    qtbot.waitUntil(lambda: window.readout.labels["processed"].text() not in ("–", "0.0 fps"), timeout=5000)
    assert window.readout.stage_rows[2][0].text() == "canny"
    assert "ms" in window.readout.stage_rows[2][2].text()


def test_add_reorder_disable_remove_change_the_image_as_the_engine_says(qtbot, window):
    start_on_sample(qtbot, window)
    panel = window.pipeline_panel
    wait_for(qtbot, window, lambda f: np.array_equal(f.image, f.source_image))  # empty pipeline
    panel.add_plugin("color")  # default: to gray
    wait_for(qtbot, window, lambda f: f.image.ndim == 2)
    panel.list.setCurrentRow(0)
    panel.add_plugin("flip")  # added after the selected stage
    assert [window.session.pipeline.stage_name(i) for i in range(2)] == ["color", "flip"]
    wait_for(qtbot, window, lambda f: np.array_equal(
        f.image, cv2.flip(cv2.cvtColor(f.source_image, cv2.COLOR_BGR2GRAY), 1)))
    # reorder by dragging in the list model: flip first
    model = panel.list.model()
    root = model.index(0, 0).parent()
    assert model.moveRows(root, 1, 1, root, 0)  # what a drag in the list does
    qtbot.waitUntil(lambda: window.session.pipeline.stages[0].plugin_name == "flip")
    assert [panel.list.item(i).text() for i in range(2)] == ["flip", "color"]
    # disable color with its check box
    panel.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert window.session.pipeline.stages[1].enabled is False
    wait_for(qtbot, window, lambda f: f.image.ndim == 3 and np.array_equal(f.image, cv2.flip(f.source_image, 1)))
    # remove flip
    panel.list.setCurrentRow(0)
    panel.remove_selected()
    wait_for(qtbot, window, lambda f: np.array_equal(f.image, f.source_image))
    assert window.windowTitle().startswith("untitled pipeline*")


def test_a_parameter_widget_changes_the_next_frame(qtbot, window):
    start_on_sample(qtbot, window, "edges")
    panel = window.pipeline_panel
    panel.list.setCurrentRow(2)  # canny
    editor = panel.editor
    assert set(editor.widgets) == {"low", "high", "aperture", "l2gradient", "auto", "sigma"}
    editor.widgets["low"].spin.setValue(120)
    editor.widgets["high"].slider.setValue(editor.widgets["high"]._to_slider(240))
    assert window.session.pipeline.stages[2].plugin.values()["low"] == 120.0
    wait_for(qtbot, window, lambda f: np.array_equal(f.image, canny_of(f, 120, 240)))
    editor.widgets["aperture"].combo.setCurrentIndex(1)  # 5
    qtbot.waitUntil(lambda: window.session.pipeline.stages[2].plugin.p.aperture == 5, timeout=5000)


def test_every_kind_of_parameter_gets_its_widget(qtbot):
    from PySide6.QtWidgets import QCheckBox, QComboBox, QPushButton, QSlider, QSpinBox

    from vidcv.registry import Registry
    from vidcv.ui.param_editor import ParamEditor

    reg = Registry()
    blur = ParamEditor(reg.create("blur"))
    qtbot.addWidget(blur)
    assert isinstance(blur.widgets["ksize"].slider, QSlider) and isinstance(blur.widgets["method"].combo, QComboBox)
    got = []
    blur.param_changed.connect(lambda n, v: got.append((n, v)))
    blur.widgets["ksize"].spin.setValue(6)  # odd kernels only: snaps to 7
    assert got[-1] == ("ksize", 7) and blur.widgets["ksize"].spin.value() == 7
    in_range = ParamEditor(reg.create("in_range"))
    qtbot.addWidget(in_range)
    assert all(isinstance(s, QSpinBox) for s in in_range.widgets["lower"].spins)
    in_range.param_changed.connect(lambda n, v: got.append((n, v)))
    in_range.widgets["lower"].spins[0].setValue(90)
    assert got[-1] == ("lower", [90, 80, 80])
    canny = ParamEditor(reg.create("canny"))
    qtbot.addWidget(canny)
    assert isinstance(canny.widgets["auto"].check, QCheckBox)
    from vidcv.params import Color
    from vidcv.ui.param_editor import ParamWidget
    color = ParamWidget(Color("c", (0, 0, 255)), [0, 0, 255])
    qtbot.addWidget(color)
    assert isinstance(color.button, QPushButton) and "R 255" in color.button.text()


def test_record_a_few_seconds_and_read_the_file_back(qtbot, window, tmp_path):
    start_on_sample(qtbot, window, "edges")
    window.toggle_record()
    assert window.session.recording is not None and window.transport.record_button.text() == "■ Stop"
    sink = window.session.recording
    qtbot.waitUntil(lambda: sink.frames >= 40, timeout=10000)
    window.toggle_record()
    assert window.session.recording is None and window.transport.record_button.text() == "● Record"
    frames = read_all(sink.path)
    assert len(frames) == sink.frames >= 40
    assert frames[0].shape == (360, 640, 3)
    assert sink.path.startswith(str(tmp_path / "outputs" / "recordings"))


def test_snapshot_writes_the_processed_frame(qtbot, window, tmp_path):
    start_on_sample(qtbot, window, "gray")
    window.snapshot()
    snaps = list((tmp_path / "outputs" / "snapshots").glob("*.png"))
    assert len(snaps) == 1
    assert cv2.imread(str(snaps[0]), cv2.IMREAD_UNCHANGED).ndim == 2


def test_preset_save_and_load_round_trip_from_the_ui(qtbot, window, tmp_path):
    start_on_sample(qtbot, window, "edges")
    window.pipeline_panel.list.setCurrentRow(1)
    window.pipeline_panel.editor.widgets["ksize"].spin.setValue(9)
    assert window.windowTitle().startswith("edges.yaml*")
    path = str(tmp_path / "mine.yaml")
    window.save_preset_to(path)
    assert window.windowTitle().startswith("mine.yaml — ")
    saved = dump_preset(window.session.pipeline)
    assert open(path).read() == saved and load_preset(path).stages[1].plugin.p.ksize == 9
    window.pipeline_panel.remove_selected()
    assert window.open_preset(path)
    assert dump_preset(window.session.pipeline) == saved and window.pipeline_panel.list.count() == 3
    assert window.settings.recent_presets()[0] == path
    assert [a.text() for a in window.actions_.recent_menu.actions()][0] == path


def test_a_bad_preset_is_reported_and_changes_nothing(qtbot, window, tmp_path):
    start_on_sample(qtbot, window, "edges")
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline:\n  - plugin: blur\n    params: {ksize: 4}\n")
    assert not window.open_preset(str(bad))
    assert "stage 0 (blur): parameter 'ksize' = 4" in window.statusBar().currentMessage()
    assert window.pipeline_panel.list.count() == 3


def test_a_source_error_is_shown_and_the_window_stays_usable(qtbot, window):
    assert not window.open_source("missing.mp4")
    assert "no such file or folder: missing.mp4" in window.source_panel.status.text()
    assert not window.source_panel.retry_button.isHidden()
    start_on_sample(qtbot, window, "gray")
    wait_for(qtbot, window, lambda f: f.image.ndim == 2)
    assert window.source_panel.retry_button.isHidden()


def test_a_stage_in_error_shows_a_badge_and_its_message(qtbot, window):
    start_on_sample(qtbot, window)
    window.session.add_stage("crop")
    window.session.set_param(0, "x", 5000)
    qtbot.waitUntil(lambda: window.pipeline_panel.list.item(0).text().startswith("⚠ crop"), timeout=5000)
    window.pipeline_panel.list.setCurrentRow(0)
    assert "lies outside the 640x360 frame" in window.pipeline_panel.error_label.text()
    wait_for(qtbot, window, lambda f: f.image.shape == (360, 640, 3))  # bypassed, still running


def test_pause_step_and_seek(qtbot, window):
    start_on_sample(qtbot, window)
    window.session.toggle_play()
    assert window.session.paused
    window.session.seek(200)
    wait_for(qtbot, window, lambda f: f.index == 200)
    window.session.step()
    wait_for(qtbot, window, lambda f: f.index == 201)
    # the transport follows the run's statistics events (a few a second), nothing to poll
    qtbot.waitUntil(lambda: "#201" in window.transport.time.text(), timeout=5000)
    assert window.transport.play_button.text() == "Play"
    # a parameter edit while paused shows the same frame again, processed with it
    window.session.add_stage("flip")
    window.session.set_param(0, "mode", "vertical")
    wait_for(qtbot, window, lambda f: f.index == 201 and np.array_equal(f.image, cv2.flip(f.source_image, 0)))


def test_drawing_a_region_sets_the_crop(qtbot, window):
    start_on_sample(qtbot, window)
    window.pipeline_panel.add_plugin("crop")
    window.pipeline_panel.list.setCurrentRow(0)
    rect = window.view.image_rects()[0]
    scale = 640 / rect.width()
    a = QPoint(rect.x() + int(100 / scale), rect.y() + int(50 / scale))
    b = QPoint(rect.x() + int(300 / scale), rect.y() + int(250 / scale))
    window.view.select_region(a, b)
    p = window.session.pipeline.stages[0].plugin.values()
    assert abs(p["x"] - 100) <= 2 and abs(p["y"] - 50) <= 2 and abs(p["width"] - 200) <= 3
    wait_for(qtbot, window, lambda f: abs(f.image.shape[1] - 200) <= 3)


def test_dropping_files_opens_a_source_or_loads_a_preset(qtbot, window, video_file):
    window.session.set_realtime(False)
    window.open_path(bundled_preset("gray"))
    assert window.pipeline_panel.list.count() == 1
    window.open_path(video_file)
    wait_for(qtbot, window, lambda f: f.image.ndim == 2 and f.image.shape == (240, 320))


def test_view_modes_and_overlays(qtbot, window):
    start_on_sample(qtbot, window, "edges")
    window.actions_.view_modes["side_by_side"].trigger()
    wait_for(qtbot, window, lambda f: True)
    assert len(window.view.image_rects()) == 2
    window.actions_.view_modes["original"].trigger()
    assert window.view._arrays[0] is window.view.frame.source_image
    window.actions_.one_to_one.trigger()
    assert window.view.image_rects()[0].width() == 640


def test_the_last_session_is_restored(qtbot, tmp_path, video_file):
    from vidcv.ui.app import build_parser, initial_session
    from vidcv.ui.main_window import MainWindow
    from vidcv.ui.session import Session
    from vidcv.ui.settings import Settings

    first = MainWindow(Session(), Settings())
    qtbot.addWidget(first)
    first.session.set_realtime(False)
    first.session.add_stage("flip")
    assert first.open_source(video_file)
    first.close()
    session = Session()
    source, preset = initial_session(build_parser().parse_args([]), Settings(), session)
    assert source == video_file and preset is None
    assert [s.plugin_name for s in session.pipeline.stages] == ["flip"]


def test_first_start_opens_the_sample_with_edges():
    from vidcv.ui.app import build_parser, initial_session
    from vidcv.ui.session import Session
    from vidcv.ui.settings import Settings

    source, preset = initial_session(build_parser().parse_args([]), Settings(), Session())
    assert source == sample_video() and preset == "edges"


def test_close_while_recording_finalises_the_file(qtbot, tmp_path):
    from media import vidcv_threads
    from vidcv.ui.main_window import MainWindow
    from vidcv.ui.session import Session
    from vidcv.ui.settings import Settings

    win = MainWindow(Session(), Settings())
    qtbot.addWidget(win)
    win.show()
    assert win.open_source("pattern:320x240@30")
    win.toggle_record()
    sink = win.session.recording
    qtbot.waitUntil(lambda: sink.frames > 10, timeout=5000)
    t0 = time.monotonic()
    win.close()
    assert time.monotonic() - t0 < 2.0 and vidcv_threads() == []
    assert len(read_all(sink.path)) == sink.frames
    assert not [p for p in os.listdir(os.path.dirname(sink.path)) if "partial" in p]


def test_screenshot_mode(tmp_path):
    from PySide6.QtGui import QImage

    from vidcv.ui.app import main

    shot = tmp_path / "shot.png"
    assert main([sample_video(), "--pipeline", "edges", "--frames", "10", "--screenshot", str(shot)]) == 0
    assert QImage(str(shot)).width() >= 1000


def test_the_readout_shows_what_inference_runs_on(qtbot, window):
    start_on_sample(qtbot, window)
    window.pipeline_panel.add_plugin("yolo")
    window.session.set_param(0, "device", "cpu")
    qtbot.waitUntil(lambda: window.session.pipeline.stages[0].plugin.p.device == "cpu", timeout=10000)
    # the yolo stage reports its provider; the readout shows it from the next statistics event on
    qtbot.waitUntil(lambda: window.readout.labels["provider"].text() == "CPU", timeout=10000)


def test_extract_dialog_builds_a_dataset_and_snapshots_add_to_it(qtbot, window, tmp_path):
    start_on_sample(qtbot, window, "shapes")
    window.actions_.extract.trigger()
    dialog = window.extract_dialog
    qtbot.addWidget(dialog)
    out = tmp_path / "ds"
    dialog.out.setText(str(out))
    dialog.every.setValue(10)
    dialog.negatives.setValue(10.0)  # keep frames without a shape too
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60000)
    dialog.update_progress()
    assert "done." in dialog.progress.text() and "kept 30 frames" in dialog.progress.text()
    labels = [n for s in ("train", "val", "test") for n in os.listdir(out / "labels" / s)]
    assert len(labels) == 30 and (out / "data.yaml").exists()
    assert window.dataset_dir == str(out)
    wait_for(qtbot, window, lambda f: f.index % 10 != 0)  # a frame the extraction did not take
    index = window.session.last_frame.index
    window.snapshot()
    labels = [n for s in ("train", "val", "test") for n in os.listdir(out / "labels" / s)]
    assert len(labels) == 31 and any(n.endswith(f"_{index:06d}.txt") for n in labels)


def test_extract_dialog_cancel_leaves_a_valid_dataset(qtbot, window, tmp_path):
    start_on_sample(qtbot, window, "shapes")
    window.open_extract_dialog()
    dialog = window.extract_dialog
    qtbot.addWidget(dialog)
    dialog.out.setText(str(tmp_path / "ds"))
    dialog.every.setValue(1)
    assert dialog.start()
    qtbot.wait(300)
    dialog.cancel()
    assert not dialog.running and "cancelled" in dialog.progress.text()
    for split in ("train", "val", "test"):
        for name in os.listdir(tmp_path / "ds" / "labels" / split):
            assert (tmp_path / "ds" / "images" / split / (name[:-4] + ".jpg")).exists()


def test_file_menu_exports_the_pipeline_as_a_script(qtbot, window, tmp_path):
    start_on_sample(qtbot, window, "edges")
    window.session.set_enabled(1, False)  # the blur stage bypassed: left out of the script
    assert "Export as Python script…" in [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    path = tmp_path / "mine.py"
    window.export_script_to(str(path))
    assert f"wrote {path}" in window.statusBar().currentMessage()
    namespace = runpy.run_path(str(path))
    frame = window.session.last_frame
    assert frame is not None
    got = namespace["process"](namespace["Frame"](frame.source_image.copy())).image
    want = window.session.pipeline.process(Frame(frame.source_image.copy(), 0, 0.0)).image
    assert np.array_equal(got, want) and "# blur: bypassed in the pipeline" in path.read_text()
