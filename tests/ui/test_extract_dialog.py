"""File > Extract dataset (ui/extract_dialog.py) and S into a dataset: every format, --crops, --negatives-only,
--merge, --select with its budget, and what cannot be done said in one line (no traceback)."""

import glob
import json
import os

import numpy as np
import pytest
from PySide6.QtCore import Qt

from vidcv.bundled import bundled_preset, sample_video
from vidcv.dataset.formats import FORMATS
from vidcv.dataset.select import MODES
from vidcv.ui.style import ERROR

pytestmark = pytest.mark.timeout(120)


def open_dialog(qtbot, window, preset="shapes"):
    """The window on the sample with ``preset``, and its Extract dialog."""
    assert window.open_preset(bundled_preset(preset))
    assert window.open_source(sample_video())
    qtbot.waitUntil(lambda: window.session.last_frame is not None, timeout=8000)
    window.actions_.extract.trigger()
    dialog = window.extract_dialog
    qtbot.addWidget(dialog)
    return dialog


def show_frame(qtbot, window, index):
    """Pause on frame ``index`` of the sample: the frame S adds."""
    window.session.runner.pause()
    window.session.seek(index)
    qtbot.waitUntil(lambda: window.session.last_frame.index == index, timeout=8000)
    return window.session.last_frame


def choose_format(dialog, name):
    dialog.fmt.setCurrentIndex(dialog.fmt.findData(name))


def one_line_error(dialog):
    text = dialog.progress.text()
    assert text.startswith("error: ") and "\n" not in text and "Traceback" not in text
    return text


def extract(qtbot, dialog):
    assert dialog.start(), dialog.progress.text()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60000)
    dialog.update_progress()
    assert "done." in dialog.progress.text(), dialog.progress.text()


def test_every_format_is_offered_with_its_help_and_the_options_reach_extract(qtbot, window, tmp_path):
    dialog = open_dialog(qtbot, window)
    offered = [dialog.fmt.itemData(i) for i in range(dialog.fmt.count())]
    assert offered == [None, *FORMATS]  # first: the folder's own format (--format not given)
    for i, name in enumerate(offered[1:], start=1):
        assert dialog.fmt.itemData(i, Qt.ItemDataRole.ToolTipRole) == FORMATS[name].help
        dialog.fmt.setCurrentIndex(i)
        assert dialog.fmt.toolTip() == FORMATS[name].help
        assert dialog.crops.isEnabled() == (name == "classify")
    choose_format(dialog, "classify")
    dialog.crops.setChecked(True)
    dialog.merge.setChecked(True)
    dialog.out.setText(str(tmp_path / "ds"))
    options = dialog.options()
    assert (options.out, options.fmt, options.crops, options.negatives_only, options.merge) == (
        str(tmp_path / "ds"),
        "classify",
        True,
        False,
        True,
    )
    choose_format(dialog, "yolo-obb")  # --crops is for classify only: checked but not given
    assert not dialog.crops.isEnabled() and not dialog.options().crops
    dialog.negatives_only.setChecked(True)
    assert dialog.options().negatives_only and not dialog.negatives.isEnabled()
    dialog.fmt.setCurrentIndex(0)
    assert dialog.options().fmt is None


def test_a_selection_and_its_budget_reach_extract_and_keep_that_many_frames(qtbot, window, tmp_path):
    dialog = open_dialog(qtbot, window)
    offered = [dialog.select.itemData(i) for i in range(dialog.select.count())]
    assert offered == ["", *MODES]  # first: no selection, every sampled frame
    assert all(dialog.select.itemData(i + 1, Qt.ItemDataRole.ToolTipRole) == MODES[m] for i, m in enumerate(MODES))
    assert not dialog.budget.isEnabled() and (dialog.options().select, dialog.options().budget) == ("", None)
    dialog.negatives.setValue(0.5)
    dialog.select.setCurrentIndex(dialog.select.findData("uncertain+diverse"))
    assert dialog.budget.isEnabled() and not dialog.negatives.isEnabled()  # a selection keeps frames without any
    dialog.budget.setValue(3)
    dialog.every.setValue(30)
    out = tmp_path / "picked"
    dialog.out.setText(str(out))
    options = dialog.options()
    assert (options.select, options.budget, options.negatives, options.every) == ("uncertain+diverse", 3, 0.0, 30)
    extract(qtbot, dialog)
    entries = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(entries) == 3 and all(
        e["frame"] % 30 == 0 and e["select"]["mode"] == "uncertain+diverse" for e in entries
    )
    assert "--select uncertain+diverse: chose 3 of 10 candidate frames" in dialog.progress.text()


def test_classify_crops_cut_out_every_shape_and_snapshots_add_theirs(qtbot, window, tmp_path):
    dialog = open_dialog(qtbot, window)
    out = tmp_path / "crops"
    dialog.out.setText(str(out))
    choose_format(dialog, "classify")
    dialog.crops.setChecked(True)
    dialog.every.setValue(30)
    extract(qtbot, dialog)
    crops = glob.glob(str(out / "*" / "*" / "*_k00.jpg"))
    assert crops and {os.path.basename(os.path.dirname(p)) for p in crops} <= {"circle", "square", "triangle"}
    assert not (out / "labels").exists()  # the classify layout: the class is the folder
    assert (window.dataset_dir, window.dataset_crops, window.dataset_merge) == (
        str(dialog.job.writer.root),
        True,
        False,
    )
    index = 45  # a frame the extraction did not take
    assert len(show_frame(qtbot, window, index).detections) > 0
    assert window.snapshot_to_dataset()
    assert glob.glob(str(out / "*" / "*" / f"*_{index:06d}_k00.jpg"))
    assert window.statusBar().currentMessage().startswith(f"frame {index} added to {out}")


def test_classify_of_whole_frames_without_a_classifier_is_one_line(qtbot, window, tmp_path):
    dialog = open_dialog(qtbot, window)
    dialog.out.setText(str(tmp_path / "ds"))
    choose_format(dialog, "classify")
    assert not dialog.start()
    assert "this pipeline has no classifier" in one_line_error(dialog)
    assert not (tmp_path / "ds").exists() and window.dataset_dir == ""


def test_a_pipeline_without_detectors_needs_negatives_only(qtbot, window, tmp_path):
    dialog = open_dialog(qtbot, window, "edges")
    out = tmp_path / "background"
    dialog.out.setText(str(out))
    dialog.every.setValue(60)
    assert not dialog.start()
    assert "--negatives-only" in one_line_error(dialog)
    dialog.negatives_only.setChecked(True)
    extract(qtbot, dialog)
    labels = [n for s in ("train", "val", "test") for n in os.listdir(out / "labels" / s)]
    assert len(labels) == 5 and all(
        (out / "labels" / s / n).stat().st_size == 0
        for s in ("train", "val", "test")
        for n in os.listdir(out / "labels" / s)
    )


def test_a_folder_vidcv_did_not_make_needs_merge(qtbot, window, tmp_path):
    foreign = tmp_path / "theirs"
    (foreign / "images" / "train").mkdir(parents=True)
    (foreign / "images" / "train" / "a.jpg").write_bytes(b"not ours")
    dialog = open_dialog(qtbot, window)
    dialog.out.setText(str(foreign))
    dialog.every.setValue(60)
    assert not dialog.start()
    assert "--merge" in one_line_error(dialog)
    assert dialog.progress.styleSheet() == f"color: {ERROR.name()};"
    dialog.merge.setChecked(True)
    extract(qtbot, dialog)
    assert dialog.progress.styleSheet() == ""
    assert (foreign / "images" / "train" / "a.jpg").read_bytes() == b"not ours"
    assert (foreign / "data.yaml").exists() and window.dataset_merge


def test_a_dataset_being_written_is_busy_for_snapshots_and_a_second_extraction(qtbot, window, tmp_path):
    dialog = open_dialog(qtbot, window)
    out = tmp_path / "ds"
    dialog.out.setText(str(out))
    dialog.every.setValue(1)
    assert dialog.start()
    try:
        assert window.dataset_dir == str(out)
        assert not window.snapshot_to_dataset()
        message = window.statusBar().currentMessage()
        assert (
            message.startswith(f"{out} is being written by another vidcv (pid {os.getpid()}")
            and "(this process)" in message
        )
        second = type(dialog)(window.session, window)
        qtbot.addWidget(second)
        second.out.setText(str(out))
        assert not second.start()
        assert one_line_error(second) == f"error: {message}"
    finally:
        dialog.cancel()
    assert not dialog.running
    show_frame(qtbot, window, 299)  # the last frame: the cancelled extraction may or may not have reached it
    added = window.snapshot_to_dataset()  # the lock is free again: the frame is added, or found there already
    assert added or window.statusBar().currentMessage() == f"frame 299 is already in {out}"


def test_a_snapshot_with_new_classes_asks_for_merge(qtbot, window, tmp_path):
    from vidcv.dataset.writer import DatasetWriter
    from vidcv.detections import Detections

    out = tmp_path / "dogs"
    dogs = Detections(
        np.array([[10, 10, 50, 50]], np.float32), np.ones(1, np.float32), np.zeros(1, np.int32), {0: "dog"}
    )
    assert DatasetWriter(str(out)).add("earlier", 0, np.zeros((64, 64, 3), np.uint8), dogs, {"source": "x"})
    dialog = open_dialog(qtbot, window)  # its shapes are new classes for this dataset
    window._dataset_chosen(str(out))
    assert len(show_frame(qtbot, window, 45).detections) > 0
    assert not window.snapshot_to_dataset()
    message = window.statusBar().currentMessage()
    assert "has the classes dog" in message and "--merge" in message
    dialog.merge.setChecked(True)
    window._dataset_chosen(str(out), False, True)
    assert window.snapshot_to_dataset()
    assert (out / "classes.txt").read_text().splitlines()[0] == "dog"
