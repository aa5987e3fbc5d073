"""The main window's open dataset: File > Open dataset shows the dataset view, and Add frame to dataset (key L,
the transport's + Dataset button) puts the current source frame, its original pixels and the pipeline's
detections as proposed labels (unreviewed), into it through the same writer as ``vidcv extract``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from vidcv.dataset.editor import LabelSession
from vidcv.errors import VidcvError
from vidcv.redact import redact

if TYPE_CHECKING:
    from vidcv.ui.dataset_view import DatasetWindow
    from vidcv.ui.main_window import MainWindow
    from vidcv.ui.train_dialog import TrainDialog


def is_empty_folder(root: str) -> bool:
    return not os.path.exists(root) or (os.path.isdir(root) and not os.listdir(root))


class DatasetLink:
    """The dataset the main window adds frames to, and its dataset view (one at a time)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.view: DatasetWindow | None = None
        self.train_dialog: TrainDialog | None = None

    @property
    def session(self) -> LabelSession | None:
        return self.view.session if self.view is not None and self.view.session.journal is not None else None

    def choose(self) -> bool:
        """File > Open dataset: pick a folder (an empty one becomes a new dataset) and show it."""
        root = QFileDialog.getExistingDirectory(self.window, "Open or make a dataset folder")
        return bool(root) and self.open(root)

    def open(self, root: str, fmt: str = "yolo") -> bool:
        """Show the dataset in ``root`` in the dataset view (made new, of ``fmt``, when the folder is empty or
        missing); the reason in the status line when it cannot be opened."""
        from vidcv.ui.dataset_view import open_dataset_window

        self.close()
        try:
            if is_empty_folder(root):
                LabelSession.create(root, fmt)
        except VidcvError as exc:
            self.window.show_message(str(exc), error=True)
            return False
        view = open_dataset_window(root, parent=None)
        if view is None:
            self.window.show_message(f"the dataset in {root} could not be opened", error=True)
            return False
        self.view = view
        view.assists.pipeline = lambda: self.window.session.pipeline  # M proposes with the window's detectors
        view.show()
        view.raise_()
        self.window.show_message(f"L adds the current frame to {view.session.root}")
        return True

    def close(self) -> None:
        if self.train_dialog is not None:
            self.train_dialog.close()
            self.train_dialog = None
        if self.view is not None:
            self.view.close()
            self.view = None

    def train(self) -> None:
        """Dataset > Train…: the training dialog, on the open dataset (one dialog; shown again if open)."""
        from vidcv.ui.train_dialog import TrainDialog

        if self.train_dialog is None:
            root = self.session.root if self.session is not None else ""
            self.train_dialog = TrainDialog(root, self.window)
            self.train_dialog.use_model.connect(self.use_model)
        self.train_dialog.show()
        self.train_dialog.raise_()

    def use_model(self, path: str) -> int:
        """Put the model ``path`` into the pipeline's first yolo stage (a yolo stage is added at the end when
        there is none); the stage's index. The open dataset view proposes with it from then on."""
        session = self.window.session
        stages = session.pipeline.stages
        index = next((i for i, st in enumerate(stages) if st.plugin.name == "yolo"), -1)
        if index < 0:
            index = session.add_stage("yolo")
        session.set_param(index, "model", path)
        self.window.show_message(f"stage {index + 1} ({session.pipeline.stage_name(index)}) now runs {path}")
        return index

    def add_frame(self) -> bool:
        """Add the current source frame (original pixels, the detections as proposals) to the open dataset;
        asks for a dataset first when none is open. The outcome is said in the status line."""
        from vidcv.dataset.extract import detector_settings, source_path, source_stem

        window = self.window
        frame = window.session.last_frame
        if frame is None:
            window.show_message("no frame to add yet: open a source first", error=True)
            return False
        if self.session is None and not self.choose():
            return False
        session = self.session
        if session is None:
            return False
        spec = window.session.source_spec
        provenance = {
            "source": redact(spec),
            "frame": frame.index,
            "pts_ms": round(frame.pts_ms, 3),
            "added_from": "window",
            **source_path(spec),
            "detectors": detector_settings(window.session.pipeline),
        }
        try:
            added = session.add_frame(source_stem(spec), frame.index, frame.source_image, frame.detections, provenance)
        except VidcvError as exc:
            window.show_message(str(exc), error=True)
            return False
        if added is None:
            window.show_message(f"frame {frame.index} is already in {session.root}")
            return False
        count = len(frame.detections)
        window.show_message(
            f"frame {frame.index} added to {session.root} ({added.split}, unreviewed, "
            f"{count} proposed label{'' if count == 1 else 's'})"
        )
        return True
