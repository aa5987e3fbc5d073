"""The Events panel: keep a run's scene events (zone entries and exits, line crossings...) with a clip each,
as ``vidcv run --events-dir DIR --pre S --post S`` does, list them live, and play their clips.

"Keep events" gives the session an ``EventsSetup``: an EventsSink follows every run from then on (a new
source, a seek), until it is unticked or the window closes; the sink hands each event's record to
``EventFeed.send`` on its own thread, which only emits a queued signal: the list is filled on the GUI thread.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vidcv.errors import VidcvError
from vidcv.fileio import visible_partial_name
from vidcv.ui import style
from vidcv.ui.clip_player import ClipPlayer
from vidcv.ui.session import EventsSetup, Session
from vidcv.ui.settings import Settings

#: the list's columns
COLUMNS = ("t (s)", "event", "where", "track", "clip")
#: an event kind as the list words it
KIND_WORDS = {
    "zone_enter": "enter",
    "zone_exit": "exit",
    "line_cross": "crossed",  # and its direction: crossed in
    "class_appeared": "appeared",
    "count_above": "above",
    "dwell": "dwell",
}
RECORD_ROLE = Qt.ItemDataRole.UserRole


class EventFeed(QObject):
    """A receiver of an EventsSink: ``send`` is called on the sink's thread and only emits ``received(record)``,
    which Qt queues to this object's thread (the GUI's)."""

    received = Signal(object)

    def send(self, payload: dict[str, Any]) -> None:  # the sink's thread
        self.received.emit(dict(payload))


def clip_state(path: str) -> str:
    """``ready`` (the clip is complete), ``recording`` (it grows as NAME.partial.mp4) or ``waiting`` (not begun,
    or gone)."""
    if os.path.exists(path):
        return "ready"
    return "recording" if os.path.exists(visible_partial_name(path)) else "waiting"


#: the clip column's words, and its tooltip's
CLIP_WORDS = {"ready": "▶ ready", "recording": "● rec", "waiting": "…"}
CLIP_TIPS = {
    "ready": "complete: double-click to play it",
    "recording": "still being written (as NAME.partial.mp4): plays as far as it is written",
    "waiting": "not written yet",
}


def event_word(record: dict[str, Any]) -> str:
    """``enter``, ``exit``, ``crossed in``...: the event's kind in a word, a crossing's direction after it."""
    kind = record.get("kind", "")
    return " ".join(p for p in (KIND_WORDS.get(kind, kind), record.get("direction", "")) if p)


def event_track(record: dict[str, Any]) -> str:
    """``person #3``, ``#3``, ``person`` or a count's value."""
    track = f"#{record['track_id']}" if "track_id" in record else ""
    text = " ".join(p for p in (record.get("class", ""), track) if p)
    if not text and record.get("value") is not None:
        return f"{record['value']:g}"
    return text


class EventsPanel(QWidget):
    """Folder, pre- and post-roll, "Keep events", the events of the runs so far, Play clip and Open folder."""

    def __init__(self, session: Session, settings: Settings, default_folder: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.default_folder = default_folder
        self.feed = EventFeed(self)
        self.players: list[ClipPlayer] = []  #: clip players opened from here, newest last
        self.kept_folder = ""  #: the folder of the events being kept (the clips named in the list are there)

        self.folder = QLineEdit(settings.events_folder or default_folder)
        self.folder.setToolTip("where events.jsonl and a clip per event go (as vidcv run --events-dir)")
        self.folder.editingFinished.connect(self._remember)
        self.browse = QToolButton()
        self.browse.setIcon(style.icon("browse"))
        self.browse.setToolTip("Choose the folder")
        self.browse.clicked.connect(self.choose_folder)
        self.pre = self._seconds(settings.events_pre, "seconds of video each clip keeps before its event (--pre)")
        self.post = self._seconds(settings.events_post, "seconds of video each clip keeps after its event (--post)")
        self.keep = QCheckBox("Keep events")
        self.keep.setToolTip(
            "write each scene event of the running pipeline (zone, count stages) to events.jsonl in the folder, "
            "with a clip from pre-roll seconds before it to post-roll seconds after; follows the next sources too"
        )
        self.keep.toggled.connect(self.set_keeping)
        self.status = QLabel("not keeping events")
        self.status.setWordWrap(True)
        self.list = QTreeWidget()
        self.list.setColumnCount(len(COLUMNS))
        self.list.setHeaderLabels(list(COLUMNS))
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        header = self.list.header()
        header.setStretchLastSection(False)
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("track"), QHeaderView.ResizeMode.Stretch)
        self.list.itemDoubleClicked.connect(lambda _item, _col: self.play_clip())
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.play_button = QPushButton(style.icon("play"), "Play clip")
        self.play_button.clicked.connect(self.play_clip)
        self.open_button = QPushButton(style.icon("folder"), "Open folder")
        self.open_button.clicked.connect(self.open_folder)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("empty the list (events.jsonl and the clips stay)")
        self.clear_button.clicked.connect(self.list.clear)

        folder_row = QHBoxLayout()
        folder_row.setSpacing(4)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        roll_row = QHBoxLayout()
        roll_row.setSpacing(4)
        roll_row.addWidget(self.pre)
        roll_row.addWidget(QLabel("before,"))
        roll_row.addWidget(self.post)
        roll_row.addWidget(QLabel("after"))
        roll_row.addStretch(1)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Folder", folder_row)
        form.addRow("Clips", roll_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.keep)
        layout.addWidget(self.status)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

        self.feed.received.connect(self.add_event)
        session.events_changed.connect(self._keeping_changed)
        session.events_failed.connect(lambda message: self.show_status(message, error=True))
        session.events_finished.connect(self._finished)
        self.clip_timer = QTimer(self)  # the clips' states while some are being written
        self.clip_timer.setInterval(500)
        self.clip_timer.timeout.connect(self.refresh_clips)
        self._update_buttons()

    def _seconds(self, value: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.0, 600.0)
        spin.setSingleStep(0.5)
        spin.setDecimals(1)
        spin.setSuffix(" s")
        spin.setValue(value)
        spin.setToolTip(tip)
        spin.editingFinished.connect(self._remember)
        return spin

    # --- keeping -----------------------------------------------------------------------------------------
    def folder_path(self) -> str:
        return os.path.abspath(os.path.expanduser(self.folder.text().strip() or self.default_folder))

    def _remember(self) -> None:
        self.settings.remember_events(self.folder.text().strip(), self.pre.value(), self.post.value())

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Keep events in", self.folder_path())
        if path:
            self.folder.setText(path)
            self._remember()

    def set_keeping(self, on: bool) -> None:
        """Tick: every run from now on keeps its events (now, if one runs); untick: the open clip is finished
        and no more are kept."""
        if not on:
            if self.session.events_setup is not None:
                self.session.keep_events(None)
                self.show_status(f"finishing the clips in {self.kept_folder}…")
            return
        folder = self.folder_path()
        setup = EventsSetup(folder, self.pre.value(), self.post.value(), (self.feed,))
        try:
            self.session.keep_events(setup)
        except VidcvError as exc:
            self.show_status(str(exc), error=True)
            self.keep.setChecked(False)
            return
        self.kept_folder = folder
        self._remember()
        waiting = "" if self.session.runner is not None else " (from the next source opened)"
        self.show_status(f"keeping events in {folder}{waiting}")

    def _keeping_changed(self, on: bool) -> None:
        """The session keeps events or no longer does (a new run whose folder failed): the box follows."""
        for field in (self.folder, self.browse, self.pre, self.post):
            field.setEnabled(not on)  # they apply when keeping starts: untick to change them
        if self.keep.isChecked() != on:
            self.keep.blockSignals(True)
            self.keep.setChecked(on)
            self.keep.blockSignals(False)

    def _finished(self, folder: str, error: str) -> None:
        if error:
            self.show_status(error, error=True)
        elif self.session.events_setup is None:
            self.show_status(f"not keeping events; the clips in {folder} are complete")
        self.refresh_clips()

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {style.ERROR.name()};" if error else "")

    # --- the list ----------------------------------------------------------------------------------------
    def add_event(self, record: dict[str, Any]) -> None:
        """One event's record (as in events.jsonl) at the end of the list, its clip's state beside it."""
        record = {**record, "folder": self.kept_folder}
        item = QTreeWidgetItem(
            [
                f"{record.get('t', 0.0):.1f}",
                event_word(record),
                record.get("zone") or record.get("stage", ""),
                event_track(record),
                "",
            ]
        )
        item.setData(0, RECORD_ROLE, record)
        item.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        lines = [f"{k}: {v}" for k, v in record.items() if k != "folder"]
        for column in range(len(COLUMNS)):
            item.setToolTip(column, "\n".join(lines))
        last = self.list.topLevelItem(self.list.topLevelItemCount() - 1)
        following = self.list.currentItem() in (None, last)  # the newest was selected: the new one is
        self.list.addTopLevelItem(item)
        self._show_clip(item)
        if following:  # else the row the user picked stays in view
            self.list.setCurrentItem(item)
            self.list.scrollToItem(item)
        if kept := self.session.kept_events:
            clips = len(kept.sink.clips)
            self.show_status(f"keeping events: {kept.sink.events} this run, {clips} clip{'s' if clips != 1 else ''}")
        self._update_buttons()

    def clip_path(self, item: QTreeWidgetItem | None) -> str:
        """The final path of ``item``'s clip ("" for an event without one)."""
        record = item.data(0, RECORD_ROLE) if item is not None else None
        if not record or not record.get("clip"):
            return ""
        return os.path.join(record["folder"], record["clip"])

    def _show_clip(self, item: QTreeWidgetItem) -> str:
        path = self.clip_path(item)
        state = clip_state(path) if path else ""
        item.setText(COLUMNS.index("clip"), CLIP_WORDS.get(state, ""))
        if path:
            item.setToolTip(COLUMNS.index("clip"), f"{path}\n{CLIP_TIPS[state]}")
        if state and state != "ready" and not self.clip_timer.isActive():
            self.clip_timer.start()
        return state

    def refresh_clips(self) -> None:
        """The clip column again for the clips not known complete (the timer runs while there are some)."""
        pending = False
        ready = CLIP_WORDS["ready"]
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            if item is not None and item.text(COLUMNS.index("clip")) not in ("", ready):
                pending = self._show_clip(item) != "ready" or pending
        if not pending:
            self.clip_timer.stop()
        self._update_buttons()

    def _update_buttons(self) -> None:
        path = self.clip_path(self.list.currentItem())
        self.play_button.setEnabled(bool(path) and clip_state(path) != "waiting")

    # --- clips and folder ------------------------------------------------------------------------------
    def play_clip(self) -> ClipPlayer | None:
        """Open the selected event's clip in a player (one still being written plays as far as it is)."""
        path = self.clip_path(self.list.currentItem())
        if not path:
            self.show_status("this event has no clip", error=True)
            return None
        if clip_state(path) == "waiting":
            self.show_status(f"{os.path.basename(path)} is not written yet: try again in a moment", error=True)
            return None
        player = ClipPlayer(path, self.window())
        player.destroyed.connect(lambda *_: self.players.remove(player) if player in self.players else None)
        self.players.append(player)
        player.show()
        return player

    def open_folder(self) -> None:
        folder = self.kept_folder or self.folder_path()
        if not os.path.isdir(folder):
            self.show_status(f"{folder} does not exist yet: it is made when keeping events starts", error=True)
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    def close_players(self) -> None:
        for player in list(self.players):
            player.close()
