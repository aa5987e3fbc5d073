"""Dataset > Train…: a one-epoch training in a child process with progress and plots, Cancel, and Use in pipeline
running the new model on the live source."""

import os

import pytest

from media import make_shapes_dataset

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def dataset(tmp_path):
    return make_shapes_dataset(str(tmp_path / "shapes"))


def small(dialog, out, epochs=1):
    dialog.epochs.setValue(epochs)
    dialog.imgsz.setValue(64)
    dialog.batch.setValue(4)
    dialog.device.setCurrentText("cpu")
    dialog.out.setText(out)


def test_the_dialog_trains_shows_progress_and_plots_and_the_model_runs_in_the_pipeline(
    qtbot, window, dataset, tmp_path
):
    from vidcv.training import Finished
    from vidcv.ui.train_dialog import TrainDialog

    assert window.open_source("pattern:")
    window.datasets.train()
    dialog = window.datasets.train_dialog
    assert isinstance(dialog, TrainDialog)
    dialog.dataset.setText(dataset)
    small(dialog, str(tmp_path / "run"))
    assert dialog.start()
    assert os.getpid() not in (dialog.process.pid,)  # the training runs in a process of its own
    qtbot.waitUntil(lambda: dialog.finished_event is not None or dialog.process is None, timeout=240_000)
    assert isinstance(dialog.finished_event, Finished), dialog.log.toPlainText()
    assert dialog.progress.value() == 1 and "epoch 1/1" in dialog.log.toPlainText()
    assert dialog.plots.count() >= 2 and dialog.plots.isVisibleTo(dialog)  # results, confusion matrix, ...
    assert dialog.use_button.isEnabled()
    dialog.use_button.click()
    stages = window.session.pipeline.stages
    yolo = next(s for s in stages if s.plugin.name == "yolo")
    assert yolo.plugin.values()["model"] == dialog.finished_event.onnx
    index = stages.index(yolo)
    qtbot.waitUntil(lambda: window.session.pipeline.summaries()[index].frames_out >= 3, timeout=20_000)
    assert window.session.pipeline.summaries()[index].errors == 0  # it runs on the live source
    assert set(yolo.plugin.model.info.names.values()) == {"square", "circle"}  # the dataset's classes


def test_cancel_stops_the_training_and_a_bad_dataset_is_said_in_one_line(qtbot, window, dataset, tmp_path):
    from vidcv.ui.train_dialog import TrainDialog

    dialog = TrainDialog(str(tmp_path / "nope"))
    qtbot.addWidget(dialog)
    assert not dialog.start() and dialog.process is None
    assert "nope" in dialog.state.text() and "\n" not in dialog.state.text()
    dialog.dataset.setText(dataset)
    small(dialog, str(tmp_path / "run"), epochs=50)
    assert dialog.start()
    qtbot.waitUntil(lambda: "epoch 1/50" in dialog.log.toPlainText(), timeout=120_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.process is None, timeout=60_000)
    assert dialog.state.text().startswith("stopped") and dialog.start_button.isEnabled()
    assert os.path.isfile(tmp_path / "run" / "weights" / "last.pt")
