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
    wait_for(
        qtbot, window, lambda f: np.array_equal(f.image, cv2.flip(cv2.cvtColor(f.source_image, cv2.COLOR_BGR2GRAY), 1))
    )
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
    with qtbot.waitSignal(window.session.recording_finished, timeout=10000):
        window.toggle_record()
        assert window.session.recording is None and window.transport.record_button.text() == "● Record"
    assert window.statusBar().currentMessage() == f"recorded {sink.path}"
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


def test_two_snapshots_and_two_recordings_within_one_second_keep_all_four(qtbot, window, tmp_path, monkeypatch):
    import types

    import vidcv.ui.main_window as main_window

    one_second = time.localtime(1_800_000_000)
    monkeypatch.setattr(main_window, "time", types.SimpleNamespace(strftime=lambda f: time.strftime(f, one_second)))
    start_on_sample(qtbot, window, "gray")
    window.snapshot()
    window.snapshot()
    snaps = sorted(p.name for p in (tmp_path / "outputs" / "snapshots").glob("*.png"))
    stem = time.strftime("vidcv_%Y%m%d_%H%M%S", one_second)
    assert snaps == [f"{stem}-2.png", f"{stem}.png"]
    paths = []
    for _ in range(2):
        window.toggle_record()
        sink = window.session.recording
        qtbot.waitUntil(lambda sink=sink: sink.frames >= 5, timeout=10000)
        with qtbot.waitSignal(window.session.recording_finished, timeout=10000):
            window.toggle_record()
        paths.append(sink.path)
        assert window.statusBar().currentMessage() == f"recorded {sink.path}"
    assert [os.path.basename(p) for p in paths] == [f"{stem}.mp4", f"{stem}-2.mp4"]
    assert all(len(read_all(p)) >= 5 for p in paths)


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
    assert window.actions_.recent_menu.actions()[0].text() == path


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
    first.save_preset_to(str(tmp_path / "flipped.yaml"))
    assert first.open_source(video_file)
    first.close()
    session = Session()
    source, preset = initial_session(build_parser().parse_args([]), Settings(), session)
    assert source == video_file and preset is None
    assert [s.plugin_name for s in session.pipeline.stages] == ["flip"]
    assert session.preset_path == str(tmp_path / "flipped.yaml")


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


def test_screenshot_mode_leaves_the_saved_session_alone(tmp_path):
    from PySide6.QtGui import QImage

    from vidcv.ui.app import main
    from vidcv.ui.settings import Settings

    settings = Settings()
    settings.last_source = "pattern:320x240@30"
    settings.remember_pipeline("pipeline:\n  - plugin: flip\n", "")
    settings.add_recent_preset(bundled_preset("gray"))
    settings.sync()
    ini = os.path.join(os.environ["VIDCV_CONFIG_DIR"], "vidcv.ini")
    before = open(ini, "rb").read()
    shot = tmp_path / "shot.png"
    assert main([sample_video(), "--pipeline", "edges", "--frames", "10", "--screenshot", str(shot)]) == 0
    assert QImage(str(shot)).width() >= 1000
    assert open(ini, "rb").read() == before
    assert Settings().last_source == "pattern:320x240@30"


def test_the_readout_shows_what_inference_runs_on(qtbot, window):
    start_on_sample(qtbot, window)
    window.pipeline_panel.add_plugin("yolo")
    window.session.set_param(0, "device", "cpu")
    qtbot.waitUntil(lambda: window.session.pipeline.stages[0].plugin.p.device == "cpu", timeout=10000)
    # the yolo stage reports its provider; the readout shows it from the next statistics event on
    qtbot.waitUntil(lambda: window.readout.labels["provider"].text() == "CPU", timeout=10000)
    # and its row names the task of the model, from the stage's status
    qtbot.waitUntil(lambda: window.readout.stage_rows[0][0].text() == "yolo · detect", timeout=10000)


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
    runner = dialog.job.runner
    cancelled = dialog.running  # once in a CI run the extraction had ended on its own by now (4 frames kept)
    dialog.cancel()
    assert not dialog.running and runner.error is None, runner.error
    if cancelled:
        assert "cancelled" in dialog.progress.text()
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


# --- issue 15: the first hour of a new user --------------------------------------------------------------
def pause_on_a_frame(qtbot, win):
    """Pause and return the index of the frame shown once the run has stopped reading."""
    win.session.toggle_play()
    assert win.session.paused
    win.session.seek(100)
    wait_for(qtbot, win, lambda f: f.index == 100)
    return 100


def test_a_region_goes_to_the_stage_selected_at_start_up(qtbot, make_window, tmp_path):
    from vidcv.ui.session import Session

    preset = tmp_path / "roi.yaml"
    preset.write_text("pipeline:\n  - plugin: roi_track\n  - plugin: annotate\n")
    session = Session()
    session.load_preset(str(preset))  # as vidcv-gui -p does, before the window exists
    win = make_window(session)
    assert win.pipeline_panel.list.currentRow() == 0 and win.selected_stage == 0
    start_on_sample(qtbot, win)
    pause_on_a_frame(qtbot, win)
    rect = win.view.image_rects()[0]
    scale = 640 / rect.width()
    win.view.select_region(
        QPoint(rect.x() + int(20 / scale), rect.y() + int(30 / scale)),
        QPoint(rect.x() + int(100 / scale), rect.y() + int(90 / scale)),
    )
    roi = session.pipeline.stages[0].plugin.values()["roi"]
    assert all(abs(a - b) <= 2 for a, b in zip(roi, [20, 30, 80, 60]))
    assert "given to roi_track" in win.statusBar().currentMessage()


def test_labels_are_not_drawn_twice_with_an_annotate_stage(qtbot, window):
    start_on_sample(qtbot, window, "shapes")
    assert window.view.burnt_in  # annotate draws them into the processed image
    wait_for(qtbot, window, lambda f: len(f.detections) > 0)
    seen = window.view.frame
    window.session.toggle_play()
    window.session.seek(seen.index)  # paused on that frame: no other frame comes after it
    wait_for(qtbot, window, lambda f: f is not seen and f.index == seen.index)
    frame = window.view.frame
    assert len(frame.detections) > 0
    on = window.view.grab().toImage()
    window.view.set_overlays(False)
    off = window.view.grab().toImage()
    assert on == off  # nothing drawn over the processed image: its labels are annotate's, once
    window.actions_.view_modes["original"].trigger()
    plain_original = window.view.grab().toImage()
    window.view.set_overlays(True)
    assert window.view.grab().toImage() != plain_original  # the original still gets the overlays
    assert window.view.frame is frame
    window.session.set_enabled(1, False)  # annotate bypassed: the overlays draw on the processed image again
    assert not window.view.burnt_in


def test_a_paused_frame_is_processed_again_on_every_pipeline_edit(qtbot, window):
    start_on_sample(qtbot, window)
    index = pause_on_a_frame(qtbot, window)
    session = window.session
    at = lambda want: lambda f: f.index == index and want(f)  # noqa: E731
    session.add_stage("flip")  # add
    wait_for(qtbot, window, at(lambda f: np.array_equal(f.image, cv2.flip(f.source_image, 1))))
    session.add_stage("color")  # add a second: to gray
    wait_for(qtbot, window, at(lambda f: f.image.ndim == 2))
    session.set_enabled(1, False)  # bypass
    wait_for(qtbot, window, at(lambda f: f.image.ndim == 3 and np.array_equal(f.image, cv2.flip(f.source_image, 1))))
    session.set_enabled(1, True)
    wait_for(qtbot, window, at(lambda f: f.image.ndim == 2))
    session.add_stage("crop", 0)
    session.set_param(0, "width", 100)
    session.set_param(0, "height", 50)
    wait_for(qtbot, window, at(lambda f: f.image.shape == (50, 100)))
    session.move_stage(0, 2)  # reorder: crop last, on the flipped gray image
    gray = lambda f: cv2.cvtColor(cv2.flip(f.source_image, 1), cv2.COLOR_BGR2GRAY)  # noqa: E731
    wait_for(qtbot, window, at(lambda f: f.image.shape == (50, 100) and np.array_equal(f.image, gray(f)[:50, :100])))
    session.remove_stage(2)  # remove
    wait_for(qtbot, window, at(lambda f: f.image.shape == (360, 640)))
    assert session.paused


def sample_preset(path, stages):
    path.write_text("pipeline:\n" + "".join(f"  - plugin: {name}\n" for name in stages))
    return str(path)


def test_the_readout_is_as_tall_as_its_rows(qtbot, make_window, tmp_path):
    from vidcv.ui.session import Session

    long = Session()
    long.load_preset(
        sample_preset(
            tmp_path / "long.yaml",
            ["blur", "flip", "sharpen", "equalize", "color", "canny", "morphology", "blur", "flip", "sharpen", "flip"],
        )
    )
    first = make_window(long)
    start_on_sample(qtbot, first)
    qtbot.waitUntil(lambda: first.readout.shown_rows == 11, timeout=8000)
    qtbot.waitUntil(lambda: first.readout_dock.height() > first.readout.sizeHint().height())  # laid out
    tall = first.readout_dock.height()
    first.close()  # saves the layout with the tall readout
    short = Session()
    short.load_preset(sample_preset(tmp_path / "short.yaml", ["blur", "canny"]))
    second = make_window(short)
    start_on_sample(qtbot, second)
    qtbot.waitUntil(lambda: second.readout.shown_rows == 2, timeout=8000)
    row = second.readout.stage_rows[0][0].height()
    qtbot.waitUntil(lambda: second.readout_dock.height() < tall - 8 * row)  # nine rows fewer, less a margin
    title = second.readout_dock.height() - second.readout.height()
    assert second.readout.height() <= second.readout.sizeHint().height() and title < 40


def test_view_reset_layout_puts_every_panel_back(qtbot, window):
    from PySide6.QtWidgets import QDockWidget

    docks = {d.objectName(): d for d in window.findChildren(QDockWidget)}
    docks["dock_pipeline"].setFloating(True)
    docks["dock_source"].hide()
    window.removeDockWidget(docks["dock_readout"])
    window.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, docks["dock_readout"])
    docks["dock_readout"].show()
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert "Reset layout" in [a.text() for a in view_menu.actions()]
    window.actions_.reset_layout.trigger()
    assert not any(d.isFloating() or d.isHidden() for d in docks.values())
    assert window.dockWidgetArea(docks["dock_pipeline"]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert window.dockWidgetArea(docks["dock_source"]) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert window.dockWidgetArea(docks["dock_readout"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert (window.width(), window.height()) == (1280, 800)


@pytest.mark.parametrize("plugin", ["roi_track", "count", "in_range", "yolo", "track"])
def test_no_parameter_pane_needs_a_horizontal_scroll_bar(qtbot, window, plugin):
    panel = window.pipeline_panel
    panel.add_plugin(plugin)
    panel.list.setCurrentRow(0)
    qtbot.waitUntil(lambda: panel.scroll.viewport().width() >= panel.editor.minimumSizeHint().width())
    assert panel.scroll.horizontalScrollBar().isHidden() or panel.scroll.horizontalScrollBar().maximum() == 0
    assert panel.editor.width() <= panel.scroll.viewport().width()
    assert window.transport.seek.width() >= 120  # a wide pane does not squeeze the seek bar away


def test_the_extract_dialogs_folder_field_shows_the_whole_path(qtbot, window, tmp_path):
    start_on_sample(qtbot, window)
    window.open_extract_dialog()
    dialog = window.extract_dialog
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    field = dialog.out
    assert field.width() > field.fontMetrics().horizontalAdvance(field.text())
    field.setText(str(tmp_path / "a" / "longer" / "folder" / "for" / "the" / "dataset"))
    qtbot.waitUntil(lambda: field.width() > field.fontMetrics().horizontalAdvance(field.text()))


def test_help_menu_shortcuts_docs_and_about(qtbot, window):
    import cv2 as opencv
    import onnxruntime

    from vidcv import __version__

    help_menu = window.menuBar().actions()[-1]
    assert help_menu.text() == "&Help"
    assert [a.text() for a in help_menu.menu().actions()] == [
        "Keyboard shortcuts",
        "README and documentation",
        "About vidcv",
    ]
    window.actions_.shortcuts.trigger()
    text = window.help_box.text()
    for keys in ("Space", "Ctrl+S", "Ctrl+Q", "Ctrl+E", "Right", "F1", "L", "Ctrl+T"):
        assert f"<b>{keys}</b>" in text
    assert text.count("Open dataset") == 1
    assert "Drag on the video" in text
    window.help_box.close()
    window.actions_.about.trigger()
    text = window.help_box.text()
    assert f"vidcv {__version__}" in text and opencv.__version__ in text and onnxruntime.__version__ in text
    assert "CPU" in text  # the providers this onnxruntime offers
    window.help_box.close()
    url = window.docs_url()
    assert url is not None and url.toLocalFile().endswith("README.md") and os.path.isfile(url.toLocalFile())


def answer_close(qtbot, win, button):
    """Close ``win`` (Ctrl+Q's action) and answer the unsaved-changes question with ``button``."""
    from PySide6.QtCore import QTimer

    asked = []

    def answer():
        asked.append(win.close_box.text())
        win.close_box.button(button).click()

    QTimer.singleShot(0, answer)
    win.actions_.quit.trigger()
    return asked


def test_quitting_with_unsaved_changes_asks(qtbot, make_window, tmp_path):
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QMessageBox

    from vidcv.ui.app import build_parser, initial_session
    from vidcv.ui.session import Session
    from vidcv.ui.settings import Settings

    win = make_window()
    assert win.actions_.quit.shortcut() == QKeySequence("Ctrl+Q")
    path = tmp_path / "mine.yaml"
    win.session.add_stage("blur")
    win.save_preset_to(str(path))
    win.actions_.quit.trigger()  # saved: no question
    assert not win.isVisible()
    win = make_window()
    assert win.open_preset(str(path)) and win.open_source("pattern:320x240@30")
    win.session.add_stage("flip")
    assert win.windowTitle().startswith("mine.yaml*")
    asked = answer_close(qtbot, win, QMessageBox.StandardButton.Cancel)
    assert asked and "mine.yaml" in asked[0] and win.isVisible()  # Cancel: stays open, edits kept
    asked = answer_close(qtbot, win, QMessageBox.StandardButton.Discard)
    assert asked and not win.isVisible()
    session = Session()
    initial_session(build_parser().parse_args([]), Settings(), session)  # discarded: the saved preset comes back
    assert [s.plugin_name for s in session.pipeline.stages] == ["blur"]
    win = make_window(session)
    win.session.add_stage("sharpen")
    asked = answer_close(qtbot, win, QMessageBox.StandardButton.Save)
    assert asked and not win.isVisible()
    assert [s.plugin_name for s in load_preset(str(path)).stages] == ["blur", "sharpen"]


def test_saving_a_bundled_preset_asks_for_a_file_of_your_own(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    bundled = bundled_preset("edges")
    original = open(bundled, "rb").read()
    assert window.open_preset(bundled)
    window.session.set_param(2, "low", 90.0)
    offered = []
    mine = tmp_path / "edges.yaml"

    def choose(parent, caption, name, filters):  # the user picks a file of their own in the dialog
        offered.append(name)
        return str(mine), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", choose)
    window.actions_.save_preset.trigger()  # Ctrl+S
    assert offered == ["edges.yaml"] and open(bundled, "rb").read() == original
    assert load_preset(str(mine)).stages[2].plugin.p.low == 90.0
    assert window.session.preset_path == str(mine) and not window.session.modified


def test_stopping_a_recording_leaves_the_window_responsive_and_says_when_the_file_is_complete(qtbot, window):
    import threading

    assert window.open_source("pattern:320x240@30")
    window.toggle_record()
    video = window.session.recording.video
    qtbot.waitUntil(lambda: video.frames >= 5, timeout=10000)
    release = threading.Event()
    real_close = video.close

    def slow_close():  # a long recording's rewrite, held until the test lets it go
        release.wait(30)
        real_close()

    video.close = slow_close
    window.toggle_record()  # returns while the file is being finalised
    assert window.transport.record_button.text() == "● Record"
    assert window.statusBar().currentMessage() == f"finishing {video.path}…"
    shown = window.displayed
    qtbot.waitUntil(lambda: window.displayed > shown + 3, timeout=10000)  # the window goes on showing frames
    with qtbot.waitSignal(window.session.recording_finished, timeout=10000):
        release.set()
    assert window.statusBar().currentMessage() == f"recorded {video.path}"
    assert len(read_all(video.path)) == video.frames


def test_a_recording_that_could_not_be_finished_is_reported(qtbot, window):
    from vidcv.fileio import visible_partial_name

    assert window.open_source("pattern:320x240@30")
    window.toggle_record()
    path = window.session.recording.path
    qtbot.waitUntil(lambda: os.path.exists(visible_partial_name(path)), timeout=10000)
    os.remove(visible_partial_name(path))
    with qtbot.waitSignal(window.session.recording_finished, timeout=10000):
        window.toggle_record()
    message = window.statusBar().currentMessage()
    assert message.startswith(f"writing {path} failed") and "nothing playable was kept" in message
    assert window.statusBar().styleSheet() == "color: #d33;"


def test_opencv_and_ffmpeg_logs_do_not_leak_from_the_gui(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("OPENCV_LOG_LEVEL", None)
    env.pop("OPENCV_FFMPEG_LOGLEVEL", None)
    code = "import sys; from vidcv.ui.app import main; sys.exit(main(sys.argv[1:]))"
    res = subprocess.run(
        [sys.executable, "-c", code, "57", "--frames", "1", "--screenshot", str(tmp_path / "s.png")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert res.returncode == 1
    lines = [line for line in res.stderr.splitlines() if "propagateSizeHints" not in line]
    assert lines == [lines[0]] and lines[0].startswith("vidcv-gui: error: camera 57 could not be opened"), res.stderr


def test_add_stage_says_where_and_a_detector_after_a_gray_stage_says_it_sees_gray(qtbot, window):
    start_on_sample(qtbot, window)
    panel = window.pipeline_panel
    assert panel.add_button.text() == "Add stage"
    panel.add_plugin("color")  # to gray
    panel.list.setCurrentRow(0)
    assert panel.add_button.text() == "Add stage after color"
    panel.add_plugin("yolo")  # goes after color: it is handed gray frames
    assert [window.session.pipeline.stage_name(i) for i in range(2)] == ["color", "yolo"]
    qtbot.waitUntil(lambda: panel.list.item(1).text() == "yolo  · sees a gray image", timeout=8000)
    assert "made the image gray" in panel.list.item(1).toolTip()
    window.session.move_stage(1, 0)  # the detector first: it sees colour again
    qtbot.waitUntil(lambda: panel.list.item(0).text() == "yolo", timeout=8000)


def test_record_and_a_message_do_not_move_the_transport_buttons(qtbot, window):
    from PySide6.QtCore import QPoint

    start_on_sample(qtbot, window)
    before = window.transport.record_button.mapTo(window, QPoint(0, 0))
    window.show_message("x", error=True)
    window.toggle_record()
    qtbot.wait(50)
    assert window.transport.record_button.mapTo(window, QPoint(0, 0)) == before  # a second click hits Stop
    window.toggle_record()
