"""The dataset view's assists (Assist menu): proposals from the window's detectors for the frame on screen (M) or
every unreviewed frame (Shift+M), boxes carried forward through the source video (P), and the selected box
turned into a polygon with grabCut (G). Each goes through ``vidcv.dataset.assist`` and never replaces a label a
person made or accepted; a change to the frame on screen is one undoable edit."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog

from vidcv.dataset.assist import Proposer, propagate_labels, propose, to_polygon
from vidcv.dataset.editor import UNREVIEWED, FrameRef, merge_proposals
from vidcv.errors import VidcvError, error_line
from vidcv.pipeline import Pipeline

if TYPE_CHECKING:
    from vidcv.ui.dataset_view import DatasetWindow

MIN_CONFIDENCE = 0.25  #: proposals below this confidence are left out


class Assists:
    """What the Assist menu runs for a dataset window. ``pipeline`` gives the detectors that propose (the main
    window's current pipeline, or the preset of ``vidcv label --pipeline``); None: no proposals."""

    def __init__(self, view: DatasetWindow) -> None:
        self.view = view
        self.pipeline: Callable[[], Pipeline | None] = lambda: None
        self.min_confidence = MIN_CONFIDENCE
        self._running: Iterator[tuple[FrameRef, int]] | None = None
        self._timer = QTimer(view)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._next_proposal)
        self._proposer: Proposer | None = None
        self._done = self._added = 0

    def _make_proposer(self) -> Proposer | None:
        pipeline = self.pipeline()
        if pipeline is None or not any(s.enabled and s.plugin.produces().value for s in pipeline.stages):
            self.view.show_message(
                "no detector to propose with: open the dataset from the main window (its pipeline's yolo, haar or "
                "hog stage proposes), or start vidcv label with --pipeline PRESET",
                error=True,
            )
            return None
        try:
            return Proposer(pipeline, self.min_confidence)
        except VidcvError as exc:
            self.view.show_message(error_line(exc), error=True)
            return None

    # --- proposals ------------------------------------------------------------------------------------------
    def propose_current(self) -> bool:
        """The detectors' labels for the frame on screen, merged with its own (a person's stay)."""
        view, frame = self.view, self.view.current
        if frame is None or view.canvas.image is None or view.canvas.read_only:
            return False
        if frame.status != UNREVIEWED:
            view.show_message(f"{frame.name} is {frame.status}: proposals never change a reviewed frame", error=True)
            return False
        proposer = self._make_proposer()
        if proposer is None:
            return False
        try:
            names = list(view.session.names)
            proposed = proposer.labels(view.canvas.image, names)
            for name in names[len(view.session.names) :]:
                view.add_class(name)
        finally:
            proposer.close()
        current = list(view.canvas.labels)
        merged = merge_proposals(current, proposed, frame.status)
        new = len(merged) - len([lab for lab in merged if lab in current])
        if not view.apply_labels(merged, f"{new} proposed label{'' if new == 1 else 's'} from {proposer.origin}"):
            view.show_message(f"no new proposal from {proposer.origin} on {frame.name}")
        return new > 0

    def propose_unreviewed(self) -> bool:
        """Proposals for every unreviewed frame, one frame per turn of the event loop (the window stays live;
        the same key again stops)."""
        if self._running is not None:
            self._stop_proposals("stopped")
            return False
        proposer = self._make_proposer()
        if proposer is None:
            return False
        frames = [f for f in self.view.session.frames if f.status == UNREVIEWED]
        self._proposer, self._done, self._added = proposer, 0, 0
        self._running = propose(self.view.session, proposer, frames)
        self._total = len(frames)
        self._timer.start()
        return True

    def _next_proposal(self) -> None:
        if self._running is None:
            return
        try:
            frame, added = next(self._running)
        except StopIteration:
            self._stop_proposals("done")
            return
        except (VidcvError, OSError) as exc:
            self._stop_proposals(f"stopped: {error_line(exc)}", error=True)
            return
        self._done += 1
        self._added += added
        self.view.show_message(f"proposing: {self._done} of {self._total} unreviewed frames, {self._added} labels")
        if self.view.current is frame:
            self.view.show_frame(frame)

    def _stop_proposals(self, how: str, error: bool = False) -> None:
        self._timer.stop()
        self._running = None
        if self._proposer is not None:
            self._proposer.close()
            self._proposer = None
        self.view.show_message(f"proposals {how}: {self._added} labels on {self._done} frames", error=error)
        self.view.refresh_from_disk()

    @property
    def proposing(self) -> bool:
        return self._running is not None

    # --- propagation ----------------------------------------------------------------------------------------
    def propagate_from_current(self, video: str | None = None) -> bool:
        """Carry the frame's labels forward through its source video to the dataset's later frames of it."""
        view, frame = self.view, self.view.current
        if frame is None or not view.canvas.labels:
            view.show_message("label this frame first: its boxes are what propagation carries forward", error=True)
            return False
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            report = propagate_labels(
                view.session,
                frame,
                list(view.canvas.labels),
                video=video,
                progress=lambda _f: QApplication.processEvents(),
            )
        except VidcvError as exc:
            QApplication.restoreOverrideCursor()
            message = error_line(exc)
            if "is not found" in message and video is None and not self._offscreen():
                path, _ = QFileDialog.getOpenFileName(
                    view, "Where is the source video?", os.path.dirname(view.session.root)
                )
                if path:
                    return self.propagate_from_current(path)
            view.show_message(message, error=True)
            return False
        QApplication.restoreOverrideCursor()
        lost = [i for i, at in (report.lost_at or {}).items() if at is not None]
        view.show_message(
            f"{len(view.canvas.labels)} labels carried to {report.frames} later frames"
            + (f"; {len(lost)} lost on the way" if lost else "")
            + " (unreviewed: accept or fix them)"
        )
        view.refresh_from_disk()
        return report.frames > 0

    @staticmethod
    def _offscreen() -> bool:
        from PySide6.QtGui import QGuiApplication

        return QGuiApplication.platformName() == "offscreen"

    # --- box to polygon -------------------------------------------------------------------------------------
    def box_to_polygon_selected(self) -> bool:
        """The selected label's outline found by grabCut inside its box (editable after)."""
        view = self.view
        canvas = view.canvas
        label = canvas.selected_label
        if view.session.family != "segments":
            view.show_message("box to polygon is for segmentation datasets (yolo-seg)", error=True)
            return False
        if label is None or canvas.image is None:
            view.show_message("select a label first (click it)", error=True)
            return False
        outlined = replace(to_polygon(canvas.image, label), cls=label.cls)
        labels = [outlined if lab is label else lab for lab in canvas.labels]
        return view.apply_labels(labels, f"outlined with {len(outlined.polygon)} vertices (grabCut): drag them to fix")
