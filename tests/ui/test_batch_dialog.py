"""File > Batch... (ui/batch_dialog.py): the window's pipeline over generated clips into tmp_path with the local
engine, one row per input, failures shown, Cancel keeping what finished, and what cannot start in one red
line."""

import json
import os
import re
import shutil

import pytest

from media import write_video
from vidcv.batch.ledger import CONFIG_NAME
from vidcv.bundled import bundled_preset
from vidcv.ui.style import ERROR

pytestmark = pytest.mark.timeout(240)


def clip(path, frames: int, **kw) -> str:
    """A generated video at ``path`` (its folder made)."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    return write_video(str(path), frames, **kw)


def open_dialog(qtbot, window, preset="edges"):
    assert window.open_preset(bundled_preset(preset))
    window.actions_.batch.trigger()
    dialog = window.batch_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def ledger_lines(out) -> list[dict]:
    with open(os.path.join(str(out), "batch.jsonl"), encoding="utf-8") as fh:
        return [json.loads(line) for line in fh.read().splitlines()]


def one_red_line(dialog) -> str:
    text = dialog.message.text()
    assert text.startswith("error: ") and "\n" not in text and "Traceback" not in text, text
    assert ERROR.name() in dialog.message.styleSheet()
    assert not dialog.running
    return text


def test_a_batch_of_clips_ends_with_each_row_done_or_failed_and_the_ledger_written(qtbot, window, tmp_path):
    videos = tmp_path / "videos"
    clip(videos / "a" / "clip.mp4", 24)
    clip(videos / "b" / "clip.mp4", 18)
    (videos / "b" / "broken.mp4").write_bytes(os.urandom(5000))  # no video in it: that input fails alone
    out = tmp_path / "out"
    dialog = open_dialog(qtbot, window)
    assert dialog.workers.value() == (os.cpu_count() or 1)  # one worker per core unless chosen
    assert dialog.pipeline_label.text().startswith("edges.yaml, 3 stages")
    assert dialog.bar.text() == "no inputs yet: add videos or a folder"  # not Qt's "0 of 100 inputs"
    dialog.add_inputs([str(videos)])
    assert dialog.bar.text() == "1 file or folder chosen: Start processes the videos in them"
    dialog.out.setText(str(out))
    dialog.workers.setValue(2)
    dialog.save_video.setChecked(True)
    assert dialog.start(), dialog.message.text()
    assert dialog.running and not dialog.start_button.isEnabled() and dialog.cancel_button.text() == "Cancel"
    window.session.remove_stage(0)  # a live edit after Start does not reach the batch: it runs a copy
    qtbot.waitUntil(lambda: not dialog.running, timeout=180000)

    names = [dialog.row(i).text(0) for i in range(dialog.rows.topLevelItemCount())]
    assert names == [os.path.join("a", "clip.mp4"), os.path.join("b", "broken.mp4"), os.path.join("b", "clip.mp4")]
    statuses = dialog.statuses()
    assert statuses[0] == statuses[2] == "done"
    assert statuses[1].startswith("failed: ") and "as a video" in statuses[1]
    assert [dialog.row(i).text(2) for i in (0, 2)] == ["24", "18"]
    assert all(float(dialog.row(i).text(3)) > 0 for i in (0, 2))
    assert dialog.row(1).foreground(1).color().name() == ERROR.name()
    assert (dialog.bar.value(), dialog.bar.maximum()) == (3, 3) and dialog.bar.text() == "3 of 3 inputs"
    dialog.clear_inputs()  # the last batch's count stays until the next Start
    assert dialog.bar.text() == "3 of 3 inputs"
    summary = dialog.message.text()
    assert summary.startswith("done 2, failed 1, skipped 0; 42 frames at ") and str(out) in summary, summary
    assert summary.endswith(f"failed: {os.path.join('b', 'broken.mp4')} (hover a row for its error)")
    assert dialog.row(1).toolTip(1) == statuses[1]  # the whole error, however narrow the column
    assert dialog.start_button.isEnabled() and dialog.cancel_button.text() == "Close"

    lines = {line["out"]: line for line in ledger_lines(out)}
    assert {k: v["status"] for k, v in lines.items()} == {"a/clip": "ok", "b/broken": "failed", "b/clip": "ok"}
    assert sorted(os.listdir(out / "a" / "clip")) == ["clip.mp4", "detections.jsonl", "stats.json"]
    with open(out / CONFIG_NAME, encoding="utf-8") as fh:
        ran = [stage["plugin"] for stage in json.load(fh)["pipeline"]["pipeline"]]
    assert ran == ["color", "blur", "canny"]  # the pipeline as it was at Start
    assert [s.plugin.name for s in window.session.pipeline.stages] == ["blur", "canny"]


def test_cancel_keeps_the_finished_inputs_and_start_again_does_the_rest(qtbot, window, tmp_path):
    videos = tmp_path / "videos"
    clip(videos / "v1.mp4", 12)
    clip(videos / "v2.mp4", 3000, size=(160, 120))  # slower inputs: cancelled on their way
    shutil.copy(videos / "v2.mp4", videos / "v3.mp4")
    out = tmp_path / "out"
    dialog = open_dialog(qtbot, window)
    dialog.add_inputs([str(videos / "v1.mp4"), str(videos / "v2.mp4"), str(videos / "v3.mp4")])
    dialog.out.setText(str(out))
    dialog.workers.setValue(1)  # one at a time: v1, then v2, then v3
    assert dialog.start(), dialog.message.text()
    qtbot.waitUntil(lambda: dialog.statuses()[:2] == ["done", "running"], timeout=120000)
    dialog.cancel_button.click()
    assert dialog.message.text().startswith("cancelling") and not dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=120000)

    statuses = dialog.statuses()
    assert statuses[0] == "done" and statuses[2] == "not started"
    assert re.fullmatch(r"cancelled \((\d+) frames kept: resumes at frame \1\)", statuses[1]), statuses[1]
    kept = dialog.report.kept  # edges keeps no state: v2's frames so far are kept to resume
    assert dialog.report.interrupted and dialog.bar.value() == 1 and kept > 0
    assert dialog.message.text().startswith(
        f"cancelled: 1 of 3 inputs finished and kept, 1 in progress kept ({kept} frames)"
    ), dialog.message.text()
    assert [line["out"] for line in ledger_lines(out)] == ["v1"]
    assert not (out / "v2").exists() and not (out / "v3").exists()
    assert dialog.cancel_button.isEnabled() and dialog.cancel_button.text() == "Close"

    assert dialog.start()  # the same batch again: the finished input is skipped (checked), the rest is done
    qtbot.waitUntil(lambda: not dialog.running, timeout=180000)
    assert dialog.statuses() == ["skipped (complete from an earlier run)", "done", "done"]
    assert sorted(line["out"] for line in ledger_lines(out)) == ["v1", "v2", "v3"]
    assert dialog.message.text().startswith(f"done 2, failed 0, skipped 1; {6000 - kept} frames")  # v2 resumed


def test_what_cannot_start_is_one_red_line(qtbot, window, tmp_path):
    dialog = open_dialog(qtbot, window)
    dialog.out.setText(str(tmp_path / "out"))
    assert not dialog.start()
    assert "no input" in one_red_line(dialog)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no video here")
    dialog.add_inputs([str(empty)])
    assert not dialog.start()
    assert "no video file in the folder" in one_red_line(dialog)
    assert dialog.bar.text() == "1 file or folder chosen: Start processes the videos in them"  # nothing ran
    dialog.clear_inputs()
    write_video(str(tmp_path / "v.mp4"), 5)
    dialog.add_inputs([str(tmp_path / "v.mp4")])
    taken = tmp_path / "a_file"
    taken.write_text("not a folder")
    dialog.out.setText(str(taken))
    assert not dialog.start()
    assert "is a file" in one_red_line(dialog)
    dialog.out.setText(str(taken / "under"))
    assert not dialog.start()
    assert "cannot create the output folder" in one_red_line(dialog)
    assert dialog.rows.topLevelItemCount() == 0  # nothing was started
