"""The dataset view: a dataset's frames to label, review and correct, in a window of their own.

``DatasetWindow`` shows an open ``LabelSession``: a filmstrip of the frames that pass the filters (split,
class, status) with their review badges, the selected frame large on the ``LabelCanvas`` with its labels, the
class list, the counts and a status line (name, split, status, labels and who made them). Every edit is saved
the moment it completes (``LabelSession.save`` keeps the frame's status: an unreviewed frame stays unreviewed
until accepted). Frame keys: Right / D next, Left / A previous (within the filters), Enter or Space accept,
X reject, U restore; F1 lists every key. Closing the window closes the session (its lock is released).

``open_dataset_window(root)`` opens the session and the window, or says in one line why it cannot;
``run_screenshot(window, png)`` saves the window as an image (``vidcv label DIR --screenshot PNG``).
"""

from __future__ import annotations

import html
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial

import cv2
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from vidcv.dataset.editor import REJECTED, REVIEWED, FrameRef, LabelSession
from vidcv.dataset.existing import clean_name
from vidcv.dataset.labels import Label
from vidcv.dataset.writer import SPLITS
from vidcv.errors import VidcvError, error_line
from vidcv.fileio import write_bytes_atomic
from vidcv.ui.dataset_assists import Assists
from vidcv.ui.dataset_panel import MAX_CLASS_KEYS, STATUS_WORDS, DatasetPanel, LabelIndex, class_key
from vidcv.ui.filmstrip import Filmstrip
from vidcv.ui.label_canvas import LabelCanvas, class_name
from vidcv.ui.style import ERROR

ROTATE_STEP = 5.0  #: degrees per [ or ]
#: what the mouse does, per family, for the shortcuts box (the keys come from the menus)
MOUSE = {
    "all": (
        ("drag on empty image", "draw a box of the current class"),
        ("Ctrl+drag", "draw a box over a label too"),
        ("click, drag inside", "select, move"),
        ("drag an edge or a corner", "resize (the cursor shows which)"),
        ("wheel", "zoom about the pointer"),
        ("Space+drag, middle-drag", "pan"),
        ("Space (tapped)", "accept the frame (reviewed) and go to the next"),
        ("Esc", "drop the selection, cancel a drag"),
    ),
    "segments": (
        ("drag a vertex", "move it"),
        ("double-click an edge", "add a vertex there"),
        ("Alt+click, right-click a vertex", "remove it (a polygon keeps three)"),
    ),
    "obb": (
        ("drag a corner or an edge", "resize along the box's own axes"),
        ("drag the round handle", "rotate"),
    ),
    "pose": (
        ("drag a keypoint", "move it"),
        ("Shift+click", "place the selected label's next missing keypoint"),
        ("Alt+click, right-click a keypoint", "mark it missing"),
    ),
}


def keypoint_count(session: LabelSession) -> int:
    """A pose dataset's keypoints per label (data.yaml's ``kpt_shape``), 0 when it does not say."""
    shape = session.meta.get("kpt_shape")
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], int):
        return int(shape[0])
    return 0


def origins_text(labels: Sequence[Label]) -> str:
    """Who made the labels: ``person ×2, model:shapes.onnx ×1``."""
    counts = Counter(lab.origin for lab in labels)
    return ", ".join(f"{origin} ×{n}" for origin, n in counts.most_common())


class DatasetWindow(QMainWindow):
    """The dataset view of an open ``LabelSession`` (see the module); closing it closes the session."""

    def __init__(self, session: LabelSession, screenshot: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.current: FrameRef | None = None
        self.message_text = ""
        self.help_box: QMessageBox | None = None
        self.index = LabelIndex()
        self._ordered: list[FrameRef] = []
        self._own_change = False  #: this window is changing the session (not an assist, not the main window)
        self._external = QTimer(self)  #: changes made elsewhere are read again once they pause
        self._external.setSingleShot(True)
        self._external.setInterval(150)
        self._external.timeout.connect(self.refresh_from_disk)
        self.index.scan(session.frames, self.class_names())

        self.canvas = LabelCanvas()
        self.canvas.family = session.family
        self.canvas.names = self.class_names()
        self.canvas.keypoint_count = keypoint_count(session)
        self.filmstrip = Filmstrip()
        self.panel = DatasetPanel(session.family)
        self.panel.setMinimumWidth(250)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.canvas)
        side = QScrollArea()  # a short screen scrolls the panel rather than clip it
        side.setWidget(self.panel)
        side.setWidgetResizable(True)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side.setFrameShape(QFrame.Shape.NoFrame)
        side.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        top.addWidget(side)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 0)
        top.setCollapsible(0, False)
        top.setSizes([960, 320])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(top, 1)
        layout.addWidget(self.filmstrip)
        self.setCentralWidget(central)

        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.message = QLabel()
        self.statusBar().addWidget(self.info, 1)
        self.statusBar().addPermanentWidget(self.message)

        self.assists = Assists(self)  #: M, Shift+M, P, G (the Assist menu)
        self.actions_: dict[str, QAction] = {}
        self.class_actions: list[QAction] = []
        self.menus: list[QMenu] = []
        self._build_actions()

        session.on_change = self._session_changed
        self.canvas.edited.connect(self._save)
        self.canvas.selection_changed.connect(self._update_info)
        self.canvas.accept_requested.connect(self.accept_current)
        self.filmstrip.frame_chosen.connect(self.show_frame)
        self.panel.filters_changed.connect(self._filters_changed)
        self.panel.class_picked.connect(self.set_current_class)
        self.panel.add_requested.connect(self.ask_add_class)
        self.panel.rename_requested.connect(self.ask_rename_class)

        self.setWindowTitle(f"{session.root} — vidcv dataset ({session.family})")
        self.resize(1280, 820)
        self._refresh_classes()
        first = next((f for f in self.ordered() if f.status not in (REVIEWED, REJECTED)), None)
        self.show_frame(first or (self.ordered()[0] if session.frames else None))
        self.canvas.setFocus()
        if screenshot:
            QTimer.singleShot(300, lambda: run_screenshot(self, screenshot))

    # --- actions and menus ------------------------------------------------------------------------------------
    def _action(
        self, menu: QMenu, name: str, text: str, keys: Sequence[str | QKeySequence], slot: Callable[[], object]
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([k if isinstance(k, QKeySequence) else QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.actions_[name] = action
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        edits = self.session.family != "classify"
        dataset = bar.addMenu("&Dataset")
        self._action(dataset, "add_class", "Add class…", [], self.ask_add_class).setEnabled(edits)
        self._action(dataset, "rename_class", "Rename class…", [], self.ask_rename_class).setEnabled(edits)
        dataset.addSeparator()
        self._action(dataset, "close", "Close", ["Ctrl+W"], self.close)
        frame = bar.addMenu("&Frame")
        self._action(frame, "next", "Next frame", ["Right", "D"], lambda: self.step(1))
        self._action(frame, "previous", "Previous frame", ["Left", "A"], lambda: self.step(-1))
        frame.addSeparator()
        self._action(frame, "accept", "Accept (reviewed), next", ["Return", "Enter"], self.accept_current)
        self._action(frame, "reject", "Reject (to rejected/), next", ["X"], self.reject_current)
        self._action(frame, "restore", "Restore a rejected frame", ["U"], self.restore_current)
        edit = bar.addMenu("&Edit")
        self._action(edit, "undo", "Undo", ["Ctrl+Z"], self.undo)
        self._action(edit, "redo", "Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self.redo)
        edit.addSeparator()
        self._action(edit, "delete", "Delete label", ["Delete", "Backspace"], self.canvas.delete_selected)
        if self.session.family == "obb":
            rotate_left = f"Rotate {ROTATE_STEP:g}° anticlockwise"
            self._action(edit, "rotate_left", rotate_left, ["["], lambda: self.canvas.rotate_selected(-ROTATE_STEP))
            rotate_right = f"Rotate {ROTATE_STEP:g}° clockwise"
            self._action(edit, "rotate_right", rotate_right, ["]"], lambda: self.canvas.rotate_selected(ROTATE_STEP))
        assist = bar.addMenu("&Assist")
        self._action(
            assist, "propose", "Propose labels (the pipeline's detectors)", ["M"], self.assists.propose_current
        )
        self._action(
            assist,
            "propose_all",
            "Propose labels for every unreviewed frame",
            ["Shift+M"],
            self.assists.propose_unreviewed,
        )
        self._action(
            assist,
            "propagate",
            "Propagate labels to the later frames of the video",
            ["P"],
            self.assists.propagate_from_current,
        )
        if self.session.family == "segments":
            self._action(assist, "polygon", "Box to polygon (grabCut)", ["G"], self.assists.box_to_polygon_selected)
        assist.setEnabled(edits)
        classes = bar.addMenu("&Class")
        for cid in range(MAX_CLASS_KEYS):
            action = self._action(classes, f"class_{cid}", "", [class_key(cid)], partial(self.set_class, cid))
            self.class_actions.append(action)
        view = bar.addMenu("&View")
        self._action(
            view,
            "zoom_in",
            "Zoom in",
            [QKeySequence(Qt.Key.Key_Plus), QKeySequence(Qt.Key.Key_Equal)],
            self.canvas.zoom_in,
        )
        self._action(view, "zoom_out", "Zoom out", [QKeySequence(Qt.Key.Key_Minus)], self.canvas.zoom_out)
        self._action(view, "fit", "Fit the frame", ["F"], self.canvas.fit)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "shortcuts", "Keys and mouse…", ["F1"], self.show_shortcuts)
        self.menus = [dataset, frame, edit, assist, classes, view, help_menu]

    # --- frames -----------------------------------------------------------------------------------------------
    def class_names(self) -> list[str]:
        """The dataset's classes; a classify dataset's folders that data.yaml does not name come after."""
        names = list(self.session.names)
        if self.session.family == "classify":
            names += sorted({f.cls for f in self.session.frames if f.cls and f.cls not in names})
        return names

    def ordered(self) -> list[FrameRef]:
        """Every frame by split (train, val, test), then by name: a rejected frame keeps its place."""
        if len(self._ordered) != len(self.session.frames):
            rank = {s: i for i, s in enumerate(SPLITS)}
            self._ordered = sorted(self.session.frames, key=lambda f: (rank.get(f.split, len(rank)), f.name))
        return self._ordered

    def matches(self, frame: FrameRef) -> bool:
        """Whether ``frame`` passes the filters."""
        split, cls, status = self.panel.split_filter(), self.panel.class_filter(), self.panel.status_filter()
        if split is not None and frame.split != split:
            return False
        if status is not None and frame.status != status:
            return False
        return cls is None or self.index.holds(frame, cls)

    def frames_shown(self) -> list[FrameRef]:
        """The frames that pass the filters, in the dataset's order."""
        return [f for f in self.ordered() if self.matches(f)]

    def set_filters(self, split: str | None = None, cls: int | None = None, status: str | None = None) -> None:
        """Show the frames of ``split``, holding class ``cls`` (``NO_LABELS``: none), of ``status`` (None: any)."""
        self.panel.set_filters(split, cls, status)

    def _filters_changed(self) -> None:
        if self.current is None or not self.matches(self.current):
            shown = self.frames_shown()
            self.show_frame(shown[0] if shown else None)
        else:
            self._refilter()

    def _refilter(self) -> None:
        """The filmstrip: the frames that pass the filters, and the current one (until the user moves on)."""
        rows = [f for f in self.ordered() if f is self.current or self.matches(f)]
        self.filmstrip.set_frames(rows, self.current)
        self._update_counts()

    def show_frame(self, frame: FrameRef | None) -> None:
        """Show ``frame`` on the canvas (None: nothing matches)."""
        self.current = frame
        if frame is None:
            self.canvas.set_frame("", None, [], read_only=True, note="no frame passes the filters")
            self._refilter()
            self._update_info()
            return
        image = cv2.imread(frame.image, cv2.IMREAD_COLOR)
        labels: list[Label] = []
        note, read_only = "", frame.status == REJECTED or self.session.family == "classify"
        if image is None:
            note = f"cannot read the image {frame.image}"
        else:
            try:
                labels = self.session.read_labels(frame, (image.shape[1], image.shape[0]))
            except VidcvError as exc:
                note, read_only = f"{error_line(exc)} (shown without labels, not editable)", True
        if frame.status == REJECTED:
            note = "rejected: U restores it to its split (then it can be edited)"
        banner = frame.cls if self.session.family == "classify" else ""
        self.canvas.set_frame(frame.key, image, labels, read_only=read_only, note=note, banner=banner)
        self._refilter()
        self._update_info()

    def step(self, delta: int) -> bool:
        """The next (``delta`` 1) or previous (-1) frame that passes the filters."""
        frames = self.ordered()
        pos = next((i for i, f in enumerate(frames) if f is self.current), -1 if delta > 0 else len(frames))
        i = pos + delta
        while 0 <= i < len(frames):
            if self.matches(frames[i]):
                self.show_frame(frames[i])
                return True
            i += delta
        self.show_message(
            "the last frame that passes the filters" if delta > 0 else "the first frame that passes the filters"
        )
        return False

    def accept_current(self) -> bool:
        """Mark the frame reviewed (its labels as they are) and go to the next."""
        frame = self.current
        if frame is None:
            return False
        if frame.status == REJECTED:
            self.show_message(f"{frame.name} is rejected: U restores it first", error=True)
            return False
        if not self._do(lambda: self.session.set_status(frame, REVIEWED)):
            return False
        if self.step(1):
            self.show_message(f"{frame.name} accepted")
        else:
            self.show_message(f"{frame.name} accepted: the last frame that passes the filters")
            self._refilter()
            self._update_info()
        return True

    def reject_current(self) -> bool:
        """Move the frame to rejected/ (kept for U) and go to the next."""
        frame = self.current
        if frame is None or frame.status == REJECTED:
            return False
        if not self._do(lambda: self.session.reject(frame)):
            return False
        self.show_message(f"{frame.name} rejected: moved to rejected/ (U restores it)")
        if not self.step(1):
            self.show_frame(frame)
        return True

    def restore_current(self) -> bool:
        """Bring a rejected frame back to its split, unreviewed."""
        frame = self.current
        if frame is None or frame.status != REJECTED:
            return False
        if not self._do(lambda: self.session.restore(frame)):
            return False
        self.show_message(f"{frame.name} restored to {frame.split}, unreviewed")
        self.show_frame(frame)
        return True

    def _do(self, change: Callable[[], object]) -> bool:
        """Run a change of the session made here (the error, if any, in the status line)."""
        self._own_change = True
        try:
            change()
        except (VidcvError, OSError) as exc:
            self.show_message(error_line(exc), error=True)
            return False
        finally:
            self._own_change = False
        return True

    # --- edits ------------------------------------------------------------------------------------------------
    def _save(self, labels: list[Label]) -> None:
        """A completed edit on the canvas: saved at once (the frame's status kept)."""
        frame = self.current
        if frame is None:
            return
        if not self._do(lambda: self.session.save(frame, labels, self.canvas.size_wh)):
            try:  # show what the file holds, not the edit that was not saved
                self.canvas.set_labels(self.session.read_labels(frame, self.canvas.size_wh))
            except VidcvError:
                pass
            return
        self.index.set(frame, labels)
        self._refresh_classes()
        self._update_info()

    def apply_labels(self, labels: Sequence[Label], what: str = "") -> bool:
        """Make ``labels`` the current frame's labels as one edit, undoable and saved at once, as if drawn: the
        way in for what computes labels (proposals, propagation, box to polygon). ``what`` goes to the status
        line. False when nothing changed or the frame cannot be edited (rejected, classify, unreadable)."""
        if self.current is None or not self.canvas.commit(list(labels)):
            return False
        if what:
            self.show_message(what)
        return True

    def undo(self) -> None:
        if not self.canvas.undo():
            self.show_message("nothing to undo on this frame")

    def redo(self) -> None:
        if not self.canvas.redo():
            self.show_message("nothing to redo on this frame")

    def set_class(self, cid: int) -> None:
        """Keys 1-9, 0: the current class and the selected label's class."""
        if cid < len(self.canvas.names):
            self.canvas.set_class(cid)
            self.panel.show_current_class(cid)

    def set_current_class(self, cid: int) -> None:
        """The class new boxes get (a click in the class list)."""
        self.canvas.current_class = cid
        self.panel.show_current_class(cid)
        self.canvas.setFocus()
        self.canvas.update()

    # --- classes ----------------------------------------------------------------------------------------------
    def add_class(self, name: str) -> int | None:
        """Add class ``name`` (or find it) and make it the current class; its id."""
        cid: list[int] = []
        if not self._do(lambda: cid.append(self.session.add_class(name))):
            return None
        self._refresh_classes()
        self.set_current_class(cid[0])
        return cid[0]

    def rename_class(self, cid: int, name: str) -> bool:
        """Rename class ``cid``; to another class's name the two merge, after ``ask_merge`` says yes."""
        names = self.session.names
        new = clean_name(name)
        if not 0 <= cid < len(names) or new == names[cid]:
            return False
        merge = new in names
        if merge and not self.ask_merge(names[cid], new):
            return False
        if not self._do(lambda: self.session.rename_class(cid, new)):
            return False
        if merge:  # ids after cid moved down: the histories and the index are stale
            self.canvas.forget_history()
            self.index = LabelIndex()
            self.index.scan(self.session.frames, self.class_names())
            current = self.canvas.current_class
            self.canvas.current_class = self.session.names.index(new) if current == cid else current - (current > cid)
            self.show_frame(self.current)
            self.show_message(f"{names[cid]} merged into {new}")
        else:
            self.show_message(f"{names[cid]} renamed {new}")
        self._refresh_classes()
        return True

    def ask_merge(self, old: str, new: str) -> bool:
        """Whether the user agrees to merge class ``old`` into ``new`` (every label file is rewritten)."""
        labels, _ = self.index.totals(self.session.frames)
        count = labels.get(self.session.names.index(old), 0) if old in self.session.names else 0
        answer = QMessageBox.question(
            self,
            "Merge two classes",
            f"'{new}' is already a class. Merge '{old}' into it? Its {count} labels in every frame become "
            f"'{new}' and the class ids after it move down by one. Undo cannot take this back.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def ask_add_class(self) -> None:
        name, ok = QInputDialog.getText(self, "Add a class", "Name of the new class:")
        if ok and name.strip():
            self.add_class(name)
        self.canvas.setFocus()

    def ask_rename_class(self) -> None:
        cid = self.canvas.current_class
        if not 0 <= cid < len(self.session.names):
            return
        old = self.session.names[cid]
        name, ok = QInputDialog.getText(
            self, "Rename a class", f"New name for '{old}' (another class's name merges the two):", text=old
        )
        if ok and name.strip():
            self.rename_class(cid, name)
        self.canvas.setFocus()

    # --- what the window says ---------------------------------------------------------------------------------
    def _session_changed(self) -> None:
        """The session changed: here (an edit, a review), or elsewhere (a frame added from the main window,
        labels written by an assist). New frames, counts and badges at once; what changed elsewhere is read
        again from the files once such changes pause (``refresh_from_disk``)."""
        if len(self.index.by_key) != len(self.session.frames):
            self.index.scan(self.session.frames, self.class_names())
            self._refilter()
            if self.current is None and self.session.frames:
                self.show_frame(self.frames_shown()[0] if self.frames_shown() else None)
        if not self._own_change:
            self._external.start()
        self.filmstrip.strip.refresh()
        self._update_counts()
        self._update_info()

    def refresh_from_disk(self) -> None:
        """Read every frame's classes and the current frame's labels again (what an assist wrote through the
        session while this window showed it); the canvas's undo history stays."""
        self._external.stop()
        self.index.scan(self.session.frames, self.class_names(), rescan=True)
        frame = self.current
        if frame is not None and frame.label and frame.status != REJECTED and self.canvas.image is not None:
            try:
                labels = self.session.read_labels(frame, self.canvas.size_wh)
            except VidcvError as exc:
                self.show_message(error_line(exc), error=True)
            else:
                if labels != self.canvas.labels:
                    self.canvas.set_labels(labels)
        self._refresh_classes()
        self._refilter()
        self._update_info()

    def _refresh_classes(self) -> None:
        names = self.class_names()
        self.canvas.names = names
        labels, frames = self.index.totals(self.session.frames)
        self.panel.set_classes(names, labels, frames, self.canvas.current_class)
        classify = self.session.family == "classify"
        for cid, action in enumerate(self.class_actions):
            action.setText(f"{names[cid]}" if cid < len(names) else f"class {cid}")
            action.setVisible(cid < len(names))
            action.setEnabled(cid < len(names) and not classify)
        self.canvas.update()

    def _update_counts(self) -> None:
        self.panel.set_counts(self.session.counts(), sum(1 for f in self.session.frames if self.matches(f)))

    def _update_info(self) -> None:
        """The status line: the frame's name, split, status, labels and who made them, the selection."""
        frame = self.current
        if frame is None:
            self.info.setText("no frame" if not self.session.frames else "no frame passes the filters")
            return
        labels = self.canvas.labels
        parts = [f"<b>{html.escape(frame.name)}</b>", frame.split, STATUS_WORDS.get(frame.status, frame.status)]
        if self.session.family == "classify":
            parts.append(f"class {html.escape(frame.cls)}")
        else:
            made = f" by {html.escape(origins_text(labels))}" if labels else ""
            parts.append(f"{len(labels)} label{'' if len(labels) == 1 else 's'}{made}")
        shown = self.frames_shown()
        pos = next((i for i, f in enumerate(shown) if f is frame), None)
        parts.append(f"{pos + 1} of {len(shown)}" if pos is not None else f"not in the filters ({len(shown)} shown)")
        lab = self.canvas.selected_label
        if lab is not None:
            name = class_name(self.canvas.names, lab.cls)
            parts.append(f"selected: {html.escape(name)} ({html.escape(lab.origin)})")
        self.info.setText(" · ".join(parts))

    def show_message(self, text: str, error: bool = False) -> None:
        """A line at the right of the status bar (red for an error), until the next one."""
        self.message_text = text
        self.message.setStyleSheet(f"color: {ERROR.name()};" if error else "")
        self.message.setText(text)

    def show_shortcuts(self) -> None:
        """F1: every key (from the menus) and what the mouse does."""
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Dataset view: keys and mouse", shortcuts_html(self), parent=self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setStyleSheet("QLabel { min-width: 560px; }")  # the gestures' words on one line each
        box.setModal(False)
        box.show()
        self.help_box = box

    # --- closing ----------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """The session ends with the window: its lock is released."""
        self._external.stop()
        self.session.on_change = None
        try:
            self.session.close()
        except (VidcvError, OSError) as exc:
            print(f"vidcv-gui: error: {error_line(exc)}", file=sys.stderr)
        super().closeEvent(event)


def shortcuts_html(window: DatasetWindow) -> str:
    """The keys of every menu entry (all of each entry's keys) and the mouse's gestures for the family."""
    rows: list[tuple[str, str, str]] = []
    for menu in window.menus:
        for action in menu.actions():
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
            if keys and action.isVisible():
                rows.append((menu.title().replace("&", ""), keys, action.text().rstrip("…")))
    mouse = [*MOUSE["all"], *MOUSE.get(window.session.family, ())]
    rows += [("Mouse", k, v) for k, v in mouse]
    cells, last = [], None
    for group, keys, what in rows:
        if group != last:
            cells.append(f"<tr><td colspan=2><i>{html.escape(group)}</i></td></tr>")
            last = group
        cells.append(f"<tr><td><b>{html.escape(keys)}</b></td><td>&nbsp;&nbsp;{html.escape(what)}</td></tr>")
    return f"<table>{''.join(cells)}</table>"


def open_dataset_window(
    root: str, parent: QWidget | None = None, screenshot: str | None = None, message_box: bool = True
) -> DatasetWindow | None:
    """The dataset view on ``root`` (not shown yet), its session open and locked; None when the dataset cannot be
    opened (another process holds it, it is no dataset, ...): the reason goes to stderr in one line and, with
    ``message_box`` and a display that is not offscreen, to a message box. ``screenshot``: the window saves
    itself there shortly after it is shown, and closes."""
    try:
        session = LabelSession(root)
        session.open()
    except (VidcvError, OSError) as exc:
        line = error_line(exc)
        print(f"vidcv-gui: error: {line}", file=sys.stderr)
        if message_box and QGuiApplication.platformName() != "offscreen":
            QMessageBox.warning(parent, "The dataset cannot be opened", line)
        return None
    try:
        return DatasetWindow(session, screenshot=screenshot, parent=parent)
    except BaseException:
        session.close()
        raise


def run_screenshot(window: QWidget, png: str) -> bool:
    """Save ``window`` as the PNG image ``png`` (through vidcv.fileio: whole or not at all, never through a planted
    link) and close it (``--screenshot``); whether the image was written."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = window.grab().save(buffer, "PNG")
    buffer.close()
    try:
        if ok:
            write_bytes_atomic(png, bytes(data.data()))
    except (VidcvError, OSError) as exc:
        print(f"vidcv-gui: error: {error_line(exc)}", file=sys.stderr)
        ok = False
    window.close()
    return ok
