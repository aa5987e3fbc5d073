"""The dataset view's side panel: filters (split, class, status), the class list (current class, Add, Rename),
the counts (labels per class, frames per split and status) and the keys; and the index of which classes each
frame holds, which the class filter and the counts read."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from vidcv.dataset.editor import REJECTED, REVIEWED, STATUSES, UNREVIEWED, FrameRef
from vidcv.dataset.labels import Label
from vidcv.dataset.writer import SPLITS
from vidcv.ui.filmstrip import status_color
from vidcv.ui.overlays import class_color

ANY = "any"
NO_LABELS = -1  #: the class filter's "frames without labels"
MAX_CLASS_KEYS = 10  #: keys 1-9 and 0


def class_key(cid: int) -> str:
    """The number key of class ``cid`` (1-9, then 0 for the tenth; none after)."""
    return str((cid + 1) % 10) if cid < MAX_CLASS_KEYS else ""


def class_ids_in(path: str) -> list[int]:
    """The class id of every line of a label file (none when it cannot be read)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    ids = []
    for line in lines:
        parts = line.split()
        if parts:
            try:
                ids.append(int(float(parts[0])))
            except ValueError:
                continue
    return ids


def file_stamp(path: str) -> tuple[int, int]:
    """(modification time in ns, size) of a file; (-1, -1) when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return -1, -1
    return st.st_mtime_ns, st.st_size


class LabelIndex:
    """Which classes each frame holds, and how often: read from the label files once, kept up to date with every
    save here, and read again for the files that changed since (a classify frame holds its folder's class)."""

    def __init__(self) -> None:
        self.by_key: dict[str, Counter[int]] = {}
        self.stamps: dict[str, tuple[int, int]] = {}  #: each label file's stamp when it was read

    def scan(self, frames: Iterable[FrameRef], names: list[str], rescan: bool = False) -> None:
        """Index the frames not indexed yet; with ``rescan``, also those whose label file changed since."""
        for frame in frames:
            if frame.cls or not frame.label:
                if rescan or frame.key not in self.by_key:
                    self.by_key[frame.key] = Counter([names.index(frame.cls)] if frame.cls in names else [])
                continue
            stamp = file_stamp(frame.label)
            if frame.key not in self.by_key or (rescan and stamp != self.stamps.get(frame.key)):
                self.by_key[frame.key] = Counter(class_ids_in(frame.label))
                self.stamps[frame.key] = stamp

    def set(self, frame: FrameRef, labels: Iterable[Label]) -> None:
        self.by_key[frame.key] = Counter(lab.cls for lab in labels)
        self.stamps[frame.key] = file_stamp(frame.label)

    def holds(self, frame: FrameRef, cid: int) -> bool:
        counts = self.by_key.get(frame.key, Counter())
        return not counts if cid == NO_LABELS else counts.get(cid, 0) > 0

    def totals(self, frames: Iterable[FrameRef]) -> tuple[Counter[int], Counter[int]]:
        """Labels and frames per class, in the frames that are not rejected (what a training run sees)."""
        labels: Counter[int] = Counter()
        holding: Counter[int] = Counter()
        for frame in frames:
            if frame.status == REJECTED:
                continue
            counts = self.by_key.get(frame.key, Counter())
            labels.update(counts)
            holding.update(counts.keys())
        return labels, holding


def swatch(color: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(color)
    return QIcon(pixmap)


def no_focus(*widgets: QWidget) -> None:
    """Mouse only: the keys stay with the canvas (Space, numbers, arrows)."""
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)


class DatasetPanel(QWidget):
    """Filters, classes, counts and keys. ``filters_changed`` when a filter changes, ``class_picked(cid)`` when
    a class row is clicked, ``add_requested`` / ``rename_requested`` from the buttons."""

    filters_changed = Signal()
    class_picked = Signal(int)
    add_requested = Signal()
    rename_requested = Signal()

    def __init__(self, family: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.family = family
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        filters = QGroupBox("Show frames")
        form = QFormLayout(filters)
        self.split = QComboBox()
        self.split.addItem("all splits", None)
        for split in SPLITS:
            self.split.addItem(split, split)
        self.cls = QComboBox()
        self.status = QComboBox()
        self.status.addItem("any status", None)
        for status in STATUSES:
            self.status.addItem(status, status)
        form.addRow("Split", self.split)
        form.addRow("Class", self.cls)
        form.addRow("Status", self.status)
        layout.addWidget(filters)

        classes = QGroupBox("Classes")
        box = QVBoxLayout(classes)
        self.classes = QListWidget()
        self.classes.setToolTip("the class new boxes get; keys 1-9 and 0 pick it and re-class the selected label")
        box.addWidget(self.classes)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setToolTip("to another class's name: the two merge (asked first)")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.rename_button)
        box.addLayout(buttons)
        layout.addWidget(classes)

        counts = QGroupBox("Frames")
        counts_box = QVBoxLayout(counts)
        self.counts = QLabel()
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.counts.setWordWrap(True)
        counts_box.addWidget(self.counts)
        layout.addWidget(counts)

        keys = QGroupBox("Keys")
        keys_box = QVBoxLayout(keys)
        self.keys = QLabel(keys_text(family))
        self.keys.setTextFormat(Qt.TextFormat.RichText)
        self.keys.setWordWrap(True)
        keys_box.addWidget(self.keys)
        layout.addWidget(keys)
        layout.addStretch(1)

        no_focus(self.split, self.cls, self.status, self.classes, self.add_button, self.rename_button)
        self.split.currentIndexChanged.connect(self.filters_changed)
        self.cls.currentIndexChanged.connect(self.filters_changed)
        self.status.currentIndexChanged.connect(self.filters_changed)
        self.classes.itemClicked.connect(self._class_clicked)
        self.add_button.clicked.connect(self.add_requested)
        self.rename_button.clicked.connect(self.rename_requested)
        if family == "classify":  # the class is the folder: renaming or adding here would not move files
            self.add_button.setEnabled(False)
            self.rename_button.setEnabled(False)

    # --- filters ----------------------------------------------------------------------------------------------
    def split_filter(self) -> str | None:
        value = self.split.currentData()
        return value if isinstance(value, str) else None

    def status_filter(self) -> str | None:
        value = self.status.currentData()
        return value if isinstance(value, str) else None

    def class_filter(self) -> int | None:
        value = self.cls.currentData()
        return value if isinstance(value, int) else None

    def set_filters(self, split: str | None = None, cls: int | None = None, status: str | None = None) -> None:
        """Set the three filters at once (None: any), one ``filters_changed``."""
        for combo in (self.split, self.cls, self.status):
            combo.blockSignals(True)
        self.split.setCurrentIndex(max(0, self.split.findData(split)))
        self.cls.setCurrentIndex(max(0, self.cls.findData(cls)) if cls is not None else 0)
        self.status.setCurrentIndex(max(0, self.status.findData(status)))
        for combo in (self.split, self.cls, self.status):
            combo.blockSignals(False)
        self.filters_changed.emit()

    # --- classes and counts -----------------------------------------------------------------------------------
    def set_classes(self, names: list[str], labels: Counter[int], frames: Counter[int], current: int) -> None:
        """The class rows (key, colour, name, labels) and the class filter's choices, keeping its choice."""
        what = "frames" if self.family == "classify" else "labels"
        self.classes.blockSignals(True)
        self.classes.clear()
        for cid, name in enumerate(names):
            key = class_key(cid)
            item = QListWidgetItem(swatch(class_color(cid)), f"{key or '·'}  {name}  ({labels.get(cid, 0)})")
            item.setToolTip(f"{name}: {labels.get(cid, 0)} {what} in {frames.get(cid, 0)} frames (rejected left out)")
            item.setData(Qt.ItemDataRole.UserRole, cid)
            self.classes.addItem(item)
        if 0 <= current < len(names):
            self.classes.setCurrentRow(current)
        self.classes.blockSignals(False)
        row = self.classes.sizeHintForRow(0) if names else 18
        self.classes.setFixedHeight(min(170, max(2, len(names)) * row + 2 * self.classes.frameWidth() + 4))
        chosen = self.class_filter()
        self.cls.blockSignals(True)
        self.cls.clear()
        self.cls.addItem("any class", None)
        for cid, name in enumerate(names):
            self.cls.addItem(swatch(class_color(cid)), name, cid)
        if self.family != "classify":
            self.cls.addItem("(no labels)", NO_LABELS)
        self.cls.setCurrentIndex(max(0, self.cls.findData(chosen)) if chosen is not None else 0)
        self.cls.blockSignals(False)

    def show_current_class(self, cid: int) -> None:
        self.classes.blockSignals(True)
        self.classes.setCurrentRow(cid)
        self.classes.blockSignals(False)

    def set_counts(self, counts: dict[str, dict[str, int]], shown: int) -> None:
        """Frames per split and per status (badge colours), and how many the filters show."""
        rows = []
        for (split, n), (status, m) in zip(counts["split"].items(), counts["status"].items()):
            dot = f"<span style='color:{status_color(status).name()}'>●</span>"
            rows.append(f"<tr><td>{split}</td><td align=right><b>{n}</b></td><td width=24></td>")
            rows.append(f"<td>{dot} {status}</td><td align=right><b>{m}</b></td></tr>")
        total = sum(counts["split"].values())
        rows.append(f"<tr><td colspan=5>shown <b>{shown}</b> of {total}</td></tr>")
        self.counts.setText(f"<table cellspacing=0 cellpadding=1>{''.join(rows)}</table>")

    def _class_clicked(self, item: QListWidgetItem) -> None:
        cid = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(cid, int):
            self.class_picked.emit(cid)


def keys_text(family: str) -> str:
    """The keys and gestures of the canvas, short, for the panel (F1 shows all)."""
    rows = [
        ("drag", "draw a box; on a label: move; on its edge: resize"),
        ("1–9, 0", "class (selected label and new ones)"),
        ("Del", "delete the selected label"),
        ("Ctrl+Z, Ctrl+Y", "undo, redo"),
        ("Enter, Space", "accept, next"),
        ("X · U", "reject · restore"),
        ("→ ← (D A)", "next · previous frame"),
        ("wheel, + −, F", "zoom · fit"),
        ("Space+drag", "pan (or middle-drag)"),
        ("M · Shift+M", "propose labels: this frame · all unreviewed"),
        ("P", "propagate the boxes to later frames"),
    ]
    if family == "segments":
        rows.append(("double-click edge", "add a vertex (Alt+click removes)"))
        rows.append(("G", "box to polygon (grabCut)"))
    elif family == "obb":
        rows.append(("[ ]", "rotate 5° (or drag the round handle)"))
    elif family == "pose":
        rows.append(("Shift+click", "place a missing keypoint"))
    elif family == "classify":
        rows = rows[4:]
    rows.append(("F1", "every key and gesture"))
    cells = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows)
    return f"<table cellspacing=0 cellpadding=0>{cells}</table>"


STATUS_WORDS = {UNREVIEWED: "unreviewed", REVIEWED: "reviewed ✓", REJECTED: "rejected ✗"}
