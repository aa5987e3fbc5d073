"""The main window: composes the video view, transport, source panel, pipeline panel and readout, and the
Events panel once opened (Scene > Events)."""

from __future__ import annotations

import logging
import os
import time
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMenu, QMessageBox, QVBoxLayout, QWidget

from vidcv.bundled import assets_dir
from vidcv.errors import VidcvError
from vidcv.events import RunEnded, RunEvent, SourceState, SourceStateChanged, StatsUpdated
from vidcv.fileio import unused_path, write_text_atomic
from vidcv.plugin import Plugin
from vidcv.plugins.annotate import Annotate
from vidcv.plugins.zones import Polygon
from vidcv.redact import redact
from vidcv.status import providers
from vidcv.ui.actions import build_actions, build_menus
from vidcv.ui.dataset_link import DatasetLink
from vidcv.ui.help import PROJECT_DOCS, about_html, readme_path, shortcuts_html
from vidcv.ui.pipeline_panel import PipelinePanel
from vidcv.ui.readout import Readout
from vidcv.ui.recording import cut_short_message
from vidcv.ui.session import Session
from vidcv.ui.settings import Settings
from vidcv.ui.source_panel import SourcePanel
from vidcv.ui.transport import Transport
from vidcv.ui.video_view import VideoView

if TYPE_CHECKING:  # imported when first opened
    from vidcv.ui.batch_dialog import BatchDialog
    from vidcv.ui.events_panel import EventsPanel
    from vidcv.ui.extract_dialog import ExtractDialog

log = logging.getLogger(__name__)

PRESET_EXTENSIONS = (".yaml", ".yml")
#: the right column's width with the Events panel in it: its list's five columns unclipped
EVENTS_WIDTH = 380


def is_bundled(path: str) -> bool:
    """Whether ``path`` is one of vidcv's bundled presets (saving over it would change vidcv itself)."""
    folder = os.path.realpath(os.path.join(assets_dir(), "presets"))
    return os.path.dirname(os.path.realpath(path)) == folder


def polygon_param(plugin: Plugin) -> str | None:
    """The name of ``plugin``'s polygon parameter (a zone's), which Draw zone sets; None if it has none."""
    return next((p.name for p in plugin.params if isinstance(p, Polygon)), None)


def output_dir(kind: str) -> str:
    """Where recordings and snapshots go: $VIDCV_OUTPUT_DIR or ~/vidcv, then the kind."""
    base = os.environ.get("VIDCV_OUTPUT_DIR") or os.path.join(os.path.expanduser("~"), "vidcv")
    return os.path.join(base, kind)


class MainWindow(QMainWindow):
    def __init__(
        self, session: Session, settings: Settings, screenshot: str | None = None, frames: int | None = None
    ) -> None:
        super().__init__()
        self.session = session
        self.settings = settings
        self.screenshot_path, self.frames_target = screenshot, frames
        self.displayed = 0
        self.message = ""
        self.dataset_dir = ""  # where S writes the original frame and its labels, once a dataset is chosen
        self.dataset_crops = self.dataset_merge = False  # ... cut out (classify --crops), adding classes (--merge)
        self.datasets = DatasetLink(self)  # File > Open dataset, and where L adds the current frame
        self.extract_dialog: ExtractDialog | None = None
        self.batch_dialog: BatchDialog | None = None  # File > Batch..., kept while open
        self.help_box: QMessageBox | None = None  # the shortcuts or About box last shown
        self.close_box: QMessageBox | None = None  # the unsaved-changes question while it is asked
        self._discarded = False  # the user discarded unsaved changes on closing: do not remember them
        self.events_panel: EventsPanel | None = None  # Scene > Events, made when first opened
        self.events_dock: QDockWidget | None = None
        self._zone_plugin: Plugin | None = None  # the stage whose polygon is being drawn

        self.view = VideoView()
        self.transport = Transport()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.transport)
        self.setCentralWidget(central)
        self.statusBar()  # made now: a first message would add its 22 px and move the transport up

        self.source_panel = SourcePanel()
        self.pipeline_panel = PipelinePanel(session)
        self.readout = Readout()
        self._dock("Source", self.source_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.pipeline_dock = self._dock("Pipeline", self.pipeline_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.readout_dock = self._dock("Readout", self.readout, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.default_state = self.saveState()  # View > Reset layout goes back to this

        self.actions_ = build_actions(self)
        build_menus(self, self.actions_)
        self._fill_recent()

        session.bridge.frame_ready.connect(self._show_frame)
        session.source_opened.connect(self._source_opened)
        session.source_failed.connect(self._source_failed)
        session.preset_changed.connect(self.update_title)
        session.recording_changed.connect(self._recording_changed)
        session.recording_finished.connect(self._recording_finished)
        session.run_event.connect(self._run_event)
        session.pipeline_changed.connect(self._pipeline_changed)
        self.readout.rows_changed.connect(self.fit_readout)
        self.source_panel.open_requested.connect(self.open_source)
        self.source_panel.retry_requested.connect(session.retry)
        self.view.region_selected.connect(self.apply_region)
        self.view.polygon_drawn.connect(self.apply_polygon)
        self.view.polygon_mode_changed.connect(self._polygon_mode_changed)
        self.transport.play_button.clicked.connect(session.toggle_play)
        self.transport.step_button.clicked.connect(session.step)
        self.transport.seek_requested.connect(session.seek)
        self.transport.realtime.toggled.connect(session.set_realtime)
        self.transport.record_button.clicked.connect(self.toggle_record)
        self.transport.snapshot_button.clicked.connect(self.snapshot)
        self.transport.dataset_button.clicked.connect(self.datasets.add_frame)

        self.last_stats: StatsUpdated | None = None  # the newest statistics of the current run
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self._restore_layout()
        if settings.events_panel_open:
            self.show_events()
        self._pipeline_changed()
        self.update_title()
        if cut_short := cut_short_message(output_dir("recordings")):  # a recording a crash or a kill cut short
            self.show_message(cut_short)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # --- frames and readout ---------------------------------------------------------------------------
    def _show_frame(self) -> None:
        frame = self.session.bridge.take()
        if frame is None:
            return
        self.view.show_frame(frame)
        self.pipeline_panel.note_inputs(frame)
        self.readout.frame_displayed()
        self.displayed += 1
        if self.frames_target is not None and self.displayed >= self.frames_target:
            self.frames_target = None
            if self.screenshot_path:
                QTimer.singleShot(400, self._save_screenshot_and_close)  # the readout has had its update

    def _save_screenshot_and_close(self) -> None:
        assert self.screenshot_path is not None  # asked for with the frame count
        self.grab().save(self.screenshot_path)
        self.close()

    def _run_event(self, event: RunEvent) -> None:
        """The current run's events (GUI thread): statistics, source states, the end of the run."""
        runner = self.session.runner
        if runner is None:
            return
        if isinstance(event, StatsUpdated):
            was_at_end = self.last_stats is not None and self.last_stats.at_end
            self.last_stats = event
            self.update_readout()
            if event.at_end and not was_at_end:
                self.source_panel.show_state("end of file: Play starts again, or seek", error=False)
            elif was_at_end and not event.at_end and not self.message:
                self.source_panel.show_state(runner.source.describe())
        elif isinstance(event, SourceStateChanged):
            if event.new is SourceState.RECONNECTING:
                self.source_panel.show_state(f"reconnecting: {event.detail}", error=False)
            elif event.new is SourceState.FAILED:
                self.source_panel.show_state(event.detail, error=True)
            elif event.new is SourceState.OPEN and not self.message:
                self.source_panel.show_state(runner.source.describe())
        elif isinstance(event, RunEnded) and event.error is not None:
            self.source_panel.show_state(str(event.error), error=True)

    def update_readout(self) -> None:
        """Show the newest statistics of the current run (or dashes when there is none)."""
        runner, stats = self.session.runner, self.last_stats
        if runner is None or stats is None:
            self.readout.update_from(None, False)
            return
        live = runner.source.live
        self.readout.update_from(
            stats.summary, live, providers(s.status for s in stats.summary.stages if s.status and s.enabled)
        )
        self.transport.update_position(stats.position, stats.paused, live)

    # --- source ------------------------------------------------------------------------------------------
    def open_source(self, spec: str) -> bool:
        """Open ``spec``; it is remembered for the next start unless it holds credentials (then the status
        line says so: the settings file is plain text)."""
        self.message = ""
        self.source_panel.show_state(f"opening {redact(spec)}…")
        ok = self.session.open_source(spec)
        if ok and not self.settings.remember_source(spec):
            self.show_message(f"{redact(spec)} is not remembered for the next start: it holds credentials")
            self.source_panel.status.setToolTip(
                "This source holds a user name or password, so vidcv does not "
                "save it in its settings: open it again by hand next time."
            )
        elif ok:
            self.source_panel.status.setToolTip("")
        return ok

    def _source_opened(self, description: str) -> None:
        self.last_stats = None
        runner = self.session.runner
        if runner is not None:
            src = runner.source
            self.transport.configure(src.frame_count, src.fps, src.seekable)
        self.source_panel.show_state(description)
        self.update_title()

    def _source_failed(self, message: str) -> None:
        self.last_stats = None
        self.update_readout()
        self.source_panel.show_state(message, error=True)
        self.transport.configure(None, None, False)
        self.update_title()

    def choose_file(self) -> None:
        from vidcv.ui.source_panel import VIDEO_FILTER

        path, _ = QFileDialog.getOpenFileName(self, "Open a video or image", "", VIDEO_FILTER)
        if path:
            self.open_source(path)

    # --- presets --------------------------------------------------------------------------------------------
    def update_title(self) -> None:
        preset = os.path.basename(self.session.preset_path) if self.session.preset_path else "untitled pipeline"
        mark = "*" if self.session.modified else ""
        spec = redact(self.session.source_spec)
        source = os.path.basename(spec.rstrip("/")) or spec or "no source"
        self.setWindowTitle(f"{preset}{mark} — {source} — vidcv")

    def open_preset(self, path: str) -> bool:
        try:
            self.session.load_preset(path)
        except VidcvError as exc:
            self.show_message(str(exc), error=True)
            return False
        self.settings.add_recent_preset(path)
        self._fill_recent()
        self.show_message(f"loaded {path}")
        return True

    def choose_preset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a preset", "", "Presets (*.yaml *.yml)")
        if path:
            self.open_preset(path)

    def save_preset(self) -> None:
        """Save to the preset's own file; a bundled preset (part of vidcv) or none asks for a new file."""
        if self.session.preset_path and not is_bundled(self.session.preset_path):
            self.save_preset_to(self.session.preset_path)
        else:
            self.save_preset_as()

    def save_preset_as(self) -> None:
        name = os.path.basename(self.session.preset_path) if self.session.preset_path else "pipeline.yaml"
        path, _ = QFileDialog.getSaveFileName(self, "Save the pipeline as a preset", name, "Presets (*.yaml *.yml)")
        if path:
            self.save_preset_to(path)

    def save_preset_to(self, path: str) -> None:
        try:
            self.session.save_preset(path)
        except OSError as exc:
            self.show_message(f"cannot save {path}: {exc.strerror}", error=True)
            return
        except VidcvError as exc:
            self.show_message(str(exc), error=True)
            return
        self.settings.add_recent_preset(path)
        self._fill_recent()
        self.show_message(f"saved {path}")

    def choose_script_path(self) -> None:
        base = (
            os.path.splitext(os.path.basename(self.session.preset_path))[0] if self.session.preset_path else "pipeline"
        )
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the pipeline as a Python script", f"{base}.py", "Python scripts (*.py)"
        )
        if path:
            self.export_script_to(path)

    def export_script_to(self, path: str) -> None:
        """Write the current pipeline as a standalone script (vidcv export-script)."""
        from vidcv.codegen import export_script

        title = os.path.splitext(os.path.basename(self.session.preset_path or path))[0]
        try:
            write_text_atomic(path, export_script(self.session.pipeline, title))
        except VidcvError as exc:
            self.show_message(str(exc), error=True)
            return
        self.show_message(f"wrote {path}: python {os.path.basename(path)} SOURCE [--output OUT.mp4] [--show]")

    def _fill_recent(self) -> None:
        menu = self.actions_.recent_menu
        menu.clear()
        for path in self.settings.recent_presets():
            menu.addAction(path, partial(self.open_preset, path))
        menu.setEnabled(bool(menu.actions()))

    # --- outputs --------------------------------------------------------------------------------------------
    def toggle_record(self) -> None:
        if self.session.recording is not None:
            path = self.session.stop_recording()
            self.show_message(f"finishing {path}…")  # _recording_finished says when it is complete
            return
        path = unused_path(os.path.join(output_dir("recordings"), time.strftime("vidcv_%Y%m%d_%H%M%S.mp4")))
        try:
            kept = self.session.start_recording(path)
        except VidcvError as exc:
            self.show_message(str(exc), error=True)
            self._recording_changed(False)
            return
        self.show_message(f"recording to {path}" + (f"; kept {kept}, a recording cut off by a crash" if kept else ""))

    def _recording_finished(self, path: str, error: str) -> None:
        """A stopped recording is complete on disk (or its error, saying what was kept)."""
        if error:
            self.show_message(error, error=True)
        else:
            self.show_message(f"recorded {path}")

    def _recording_changed(self, on: bool) -> None:
        self.actions_.record.setChecked(on)
        self.transport.record_button.setChecked(on)
        self.transport.record_button.setText("■ Stop" if on else "● Record")

    def open_extract_dialog(self) -> None:
        from vidcv.ui.extract_dialog import ExtractDialog

        self.extract_dialog = ExtractDialog(self.session, self)
        self.extract_dialog.dataset_chosen.connect(self._dataset_chosen)
        self.extract_dialog.show()

    def open_batch_dialog(self) -> None:
        """File > Batch...: the current pipeline over many videos (one dialog; shown again if open)."""
        from vidcv.ui.batch_dialog import BatchDialog

        if self.batch_dialog is None:
            self.batch_dialog = BatchDialog(self.session, self)
        self.batch_dialog.show()
        self.batch_dialog.raise_()

    def _dataset_chosen(self, path: str, crops: bool = False, merge: bool = False) -> None:
        self.dataset_dir, self.dataset_crops, self.dataset_merge = path, crops, merge
        self.show_message(f"snapshots (S) now add the original frame and its labels to {path}")

    def snapshot(self) -> None:
        if self.dataset_dir:
            self.snapshot_to_dataset()
            return
        path = unused_path(os.path.join(output_dir("snapshots"), time.strftime("vidcv_%Y%m%d_%H%M%S.png")))
        try:
            self.show_message(f"saved {self.session.snapshot(path)}")
        except VidcvError as exc:
            self.show_message(str(exc), error=True)

    def snapshot_to_dataset(self) -> bool:
        """The current original frame and its detections (or class) into the chosen dataset, in the dataset's
        own format and layout, as extract writes them. A dataset that cannot take it now (an extraction is
        writing it, a new class without merge) is said in the status line; False then."""
        from vidcv.dataset.extract import open_dataset, source_stem

        frame = self.session.last_frame
        if frame is None:
            self.show_message("no frame to add yet", error=True)
            return False
        spec, where = self.session.source_spec, self.dataset_dir
        try:
            writer = open_dataset(where, crops=self.dataset_crops, merge=self.dataset_merge)
            if not writer.takes_negatives and not writer.has_labels(frame.detections, frame.classification):
                what = "no detection to cut out" if self.dataset_crops else "no class from a classifier"
                self.show_message(f"frame {frame.index} was not added to {where}: {what}", error=True)
                return False
            split = writer.add(
                source_stem(spec),
                frame.index,
                frame.source_image,
                frame.detections,
                {"source": redact(spec), "frame": frame.index, "pts_ms": round(frame.pts_ms, 3), "snapshot": True},
                frame.classification,
            )
        except VidcvError as exc:  # DatasetBusy while an extraction writes it, DatasetError (new classes, ...)
            self.show_message(str(exc), error=True)
            return False
        self.show_message(
            f"frame {frame.index} added to {where} ({split})" if split else f"frame {frame.index} is already in {where}"
        )
        return split is not None

    def show_message(self, text: str, error: bool = False) -> None:
        text = redact(text)
        self.message = text
        self.statusBar().showMessage(text, 8000)
        if error:
            self.source_panel.show_state(text, error=False)
            self.statusBar().setStyleSheet("color: #d33;")
        else:
            self.statusBar().setStyleSheet("")
        QTimer.singleShot(8000, self._clear_message)

    def _clear_message(self) -> None:
        self.message = ""

    # --- regions --------------------------------------------------------------------------------------------
    @property
    def selected_stage(self) -> int:
        """The row selected in the pipeline panel (-1: none), also the one selected before the window listened."""
        return self.pipeline_panel.list.currentRow()

    def apply_region(self, x: int, y: int, w: int, h: int) -> None:
        """Hand a region drawn on the view to the selected stage, if it takes one (crop, trackers)."""
        stages = self.session.pipeline.stages
        if not 0 <= self.selected_stage < len(stages):
            self.show_message("select a stage that takes a region (crop, roi_track) before drawing one")
            return
        plugin = stages[self.selected_stage].plugin
        values = plugin.region_params(x, y, w, h)
        if values is None:
            self.show_message(f"{plugin.name} takes no region; select crop or a tracker stage")
            return
        for name, value in values.items():
            self.session.set_param(self.selected_stage, name, value)
        self.pipeline_panel.refresh()
        self.show_message(f"region {x},{y} {w}x{h} given to {plugin.name}")

    def draw_zone(self) -> None:
        """Scene > Draw zone (Z): click the corners of the selected stage's polygon on the video; again: cancel."""
        if self.view.drawing_polygon:
            self.view.cancel_polygon()
            return
        stages = self.session.pipeline.stages
        plugin = stages[self.selected_stage].plugin if 0 <= self.selected_stage < len(stages) else None
        if plugin is None or polygon_param(plugin) is None:
            what = f"{plugin.name} takes no polygon" if plugin is not None else "no stage is selected"
            self.show_message(f"{what}: add a zone stage (after a track stage) and select it to draw its zone")
            self.actions_.draw_zone.setChecked(False)
            return
        if not self.view.start_polygon():
            self.show_message("open a source first: the zone is drawn on its video")
            self.actions_.draw_zone.setChecked(False)
            return
        self._zone_plugin = plugin
        self.show_message(
            f"drawing the polygon of stage {self.session.pipeline.stage_name(self.selected_stage)}: click its "
            "corners on the video; double-click or Enter closes it, Backspace takes a corner back, Esc cancels"
        )

    def apply_polygon(self, points: list[int]) -> None:
        """The polygon drawn on the view to the stage it was drawn for, as its parameter editor would set it."""
        plugin, self._zone_plugin = self._zone_plugin, None
        stages = self.session.pipeline.stages
        index = next((i for i, s in enumerate(stages) if s.plugin is plugin), -1)
        name = polygon_param(plugin) if plugin is not None else None
        if index < 0 or plugin is None or name is None:
            self.show_message("the zone's stage was removed while it was drawn: nothing set", error=True)
            return
        try:
            self.session.set_param(index, name, points)
        except VidcvError as exc:
            self.show_message(str(exc), error=True)
            return
        self.pipeline_panel.refresh()
        self.show_message(f"{self.session.pipeline.stage_name(index)}: a zone of {len(points) // 2} corners")

    def _polygon_mode_changed(self, on: bool) -> None:
        self.actions_.draw_zone.setChecked(on)
        if not on and self._zone_plugin is not None:  # cancelled (closed: apply_polygon has taken it)
            self._zone_plugin = None
            self.show_message("zone drawing cancelled")

    # --- events ---------------------------------------------------------------------------------------------
    def show_events(self, on: bool = True) -> None:
        """Scene > Events (E): the Events panel, made on first use beside the pipeline; again: hide it."""
        if not on:
            if self.events_dock is not None:
                self.events_dock.hide()
            return
        if self.events_dock is None:
            from vidcv.ui.events_panel import EventsPanel

            self.events_panel = EventsPanel(self.session, self.settings, output_dir("events"))
            self.events_dock = dock = QDockWidget("Events", self)
            dock.setObjectName("dock_events")
            dock.setWidget(self.events_panel)
            if not self.restoreDockWidget(dock):  # where the layout saved last had it, else beside the pipeline
                self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
                self.splitDockWidget(self.pipeline_dock, dock, Qt.Orientation.Vertical)
                dock.show()
                self.fit_events()
            dock.visibilityChanged.connect(self.actions_.events.setChecked)
        self.events_dock.show()
        self.events_dock.raise_()
        self.actions_.events.setChecked(True)

    def fit_events(self) -> None:
        """The Events panel beside the pipeline: half the column each, the column wide enough for the list."""
        dock = self.events_dock
        if dock is None or dock.isFloating() or self.dockWidgetArea(dock) != Qt.DockWidgetArea.RightDockWidgetArea:
            return
        height = self.pipeline_dock.height() + dock.height()
        self.resizeDocks([self.pipeline_dock, dock], [height // 2, height - height // 2], Qt.Orientation.Vertical)
        width = max(self.pipeline_dock.width(), EVENTS_WIDTH)
        self.resizeDocks([self.pipeline_dock], [width], Qt.Orientation.Horizontal)

    # --- drag and drop, layout, close -------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            self.open_path(url.toLocalFile() or url.toString())
        event.acceptProposedAction()

    def open_path(self, path: str) -> None:
        """A preset file loads into the pipeline; anything else opens as the source."""
        if path.lower().endswith(PRESET_EXTENSIONS):
            self.open_preset(path)
        else:
            self.open_source(path)

    def _pipeline_changed(self) -> None:
        """An enabled annotate stage draws the detections into the processed image: overlays skip it there."""
        self.view.set_burnt_in(
            any(stage.enabled and isinstance(stage.plugin, Annotate) for stage in self.session.pipeline.stages)
        )

    def _restore_layout(self) -> None:
        geometry, state = self.settings.window_geometry, self.settings.window_state
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self.fit_readout()

    def fit_readout(self) -> None:
        """Make the readout as tall as its rows (a saved layout may hold the height of a longer pipeline)."""
        if self.readout_dock.isFloating():
            self.readout_dock.adjustSize()
        else:
            self.resizeDocks([self.readout_dock], [self.readout.sizeHint().height()], Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        """View > Reset layout: every panel back in its place at its default size, the window at 1280x800."""
        self.restoreState(self.default_state)
        if self.events_dock is not None:  # not in the default state: back beside the pipeline
            self.events_dock.setFloating(False)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.events_dock)
            self.splitDockWidget(self.pipeline_dock, self.events_dock, Qt.Orientation.Vertical)
        for dock in self.findChildren(QDockWidget):
            dock.setFloating(False)
            dock.show()
        self.resize(1280, 800)
        self.resizeDocks([self.pipeline_dock], [self.pipeline_panel.sizeHint().width()], Qt.Orientation.Horizontal)
        self.fit_readout()
        self.fit_events()
        self.show_message("layout reset")

    # --- help ---------------------------------------------------------------------------------------------
    def _show_box(self, title: str, text: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.NoIcon, title, text, QMessageBox.StandardButton.Close, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        box.setModal(False)
        box.show()
        self.help_box = box
        return box

    def show_shortcuts(self) -> None:
        menus = [menu for a in self.menuBar().actions() if isinstance(menu := a.menu(), QMenu)]
        self._show_box("Keyboard shortcuts", shortcuts_html(menus))

    def show_about(self) -> None:
        self._show_box("About vidcv", about_html())

    def docs_url(self) -> QUrl | None:
        """The README of the source tree vidcv runs from, if there is one."""
        path = readme_path()
        return QUrl.fromLocalFile(path) if path else None

    def open_docs(self) -> None:
        url = self.docs_url()
        if url is None or not QDesktopServices.openUrl(url):
            where = url.toLocalFile() if url is not None else PROJECT_DOCS
            self._show_box("Documentation", f"<p>The documentation: {where}</p>")

    # --- close --------------------------------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """With unsaved pipeline changes, ask: Save (then close), Discard (close) or Cancel (stay).

        ``--screenshot`` runs never ask. Discarded changes are not remembered as the last session either.
        """
        if self.screenshot_path or not self.session.modified:
            return True
        name = os.path.basename(self.session.preset_path) if self.session.preset_path else "an untitled pipeline"
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unsaved pipeline",
            f"The pipeline has changes not saved to {name}. Save them before quitting?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        self.close_box = box
        answer = box.exec()
        self.close_box = None
        if answer == QMessageBox.StandardButton.Save:
            self.save_preset()
            return not self.session.modified  # the save failed or its dialog was cancelled: stay
        if answer == QMessageBox.StandardButton.Discard:
            self._remember_saved_pipeline()
            return True
        return False

    def _remember_saved_pipeline(self) -> None:
        """Remember the pipeline as its preset file has it (or none), not the discarded edits."""
        text = ""
        if self.session.preset_path:
            try:
                with open(self.session.preset_path, encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                text = ""
        self.settings.remember_pipeline(text, self.session.preset_path if text else "")
        self._discarded = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_close():
            event.ignore()
            return
        self.view.cancel_polygon()
        if self.events_panel is not None:
            self.events_panel.close_players()
        self.session.shutdown()  # joins within 2 s and waits until a recording and kept events are complete on disk
        self.datasets.close()  # the dataset view closes with the window, and its lock goes
        for dialog in (self.batch_dialog, self.extract_dialog):  # they are windows of their own: closed with it
            if dialog is not None:
                dialog.close()
        self.settings.remember_layout(self.saveGeometry(), self.saveState())
        self.settings.events_panel_open = self.events_dock is not None and self.events_dock.isVisible()
        if not self._discarded:
            self.settings.remember_pipeline(self.session.pipeline_yaml(), self.session.preset_path)
        self.settings.sync()
        super().closeEvent(event)
