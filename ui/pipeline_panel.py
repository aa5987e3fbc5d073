"""The pipeline panel: stages to add (menu by category, with search), reorder by drag, enable, duplicate and
remove; the selected stage's parameters below; a badge and the message on a stage in error."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from vidcv.errors import VidcvError
from vidcv.events import RunEvent, StageError
from vidcv.frame import Frame
from vidcv.plugin import Plugin, Produces
from vidcv.ui import style
from vidcv.ui.param_editor import ParamEditor
from vidcv.ui.session import Session

PANE_WIDTH = 300  # the pipeline pane's preferred width; wider when a stage's parameters need it


class PluginMenu(QMenu):
    """Plugins by category; typing in the search box lists the matches instead. ``chosen(name)``."""

    chosen = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        loaded, self.broken = session.registry.load_all()
        self.plugins = sorted((cls.to_dict() for cls in loaded.values()), key=lambda d: (d["category"], d["name"]))
        self.search = QLineEdit()
        self.search.setPlaceholderText("search plugins…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._rebuild)
        self.search.returnPressed.connect(self._choose_first)
        holder = QWidgetAction(self)
        holder.setDefaultWidget(self.search)
        self._search_action = holder
        self._rebuild("")
        self.aboutToShow.connect(self.search.setFocus)

    def matches(self, text: str) -> list[dict]:
        text = text.strip().lower()
        return [
            d
            for d in self.plugins
            if not text
            or text in d["name"]
            or text in d["title"].lower()
            or text in d["summary"].lower()
            or text in d["category"]
        ]

    def _action(self, d: dict, menu: QMenu) -> QAction:
        action = menu.addAction(f"{d['title']}  ({d['name']})")
        action.setToolTip(d["summary"])
        action.setStatusTip(d["summary"])
        action.triggered.connect(lambda _=False, name=d["name"]: self.chosen.emit(name))
        return action

    def _rebuild(self, text: str) -> None:
        for action in self.actions():
            if action is not self._search_action:
                self.removeAction(action)
        if not self.actions():
            self.addAction(self._search_action)
        found = self.matches(text)
        if text.strip():
            for d in found:
                self._action(d, self)
            if not found:
                self.addAction("no plugin matches").setEnabled(False)
            return
        for category in sorted({d["category"] for d in found}):
            sub = self.addMenu(category)
            for d in (d for d in found if d["category"] == category):
                self._action(d, sub)
        for name, error in sorted(self.broken.items()):
            self.addAction(f"{name} (broken: {error[:60]})").setEnabled(False)

    def _choose_first(self) -> None:
        found = self.matches(self.search.text())
        if found:
            self.chosen.emit(found[0]["name"])
            self.close()


class RoomyRows(QStyledItemDelegate):
    """The stage list's rows a few pixels taller than their text: easier to hit, to read and to drag."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), size.height() + 8)


def detects(plugin: Plugin) -> bool:
    """Whether the stage finds objects or classes (a stage whose model did not load does not)."""
    try:
        return plugin.produces() != Produces.NOTHING
    except Exception:  # noqa: BLE001 (a plugin whose set-up failed has no model to ask)
        return False


class PipelinePanel(QWidget):
    """Edits the session's pipeline; the engine applies every edit between two frames."""

    stage_selected = Signal(int)
    # the parameters' scroll area; the name hides QWidget.scroll(), which nothing calls on the panel
    scroll: QScrollArea  # type: ignore[assignment]

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.editor: ParamEditor | None = None
        self._rebuilding = False

        self.add_button = QToolButton()
        self.add_button.setText("Add stage")
        self.add_button.setIcon(style.icon("add"))
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.add_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # the menu's arrow at the right end, as a combo box has it, not over the text's last letters
        self.add_button.setStyleSheet(
            "QToolButton { padding-right: 18px; } QToolButton::menu-indicator { subcontrol-origin: padding; "
            "subcontrol-position: right center; right: 4px; }"
        )
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = PluginMenu(session, self)
        self.menu.chosen.connect(self.add_plugin)
        self.add_button.setMenu(self.menu)
        # the add button has a row of its own ("Add stage after <a long name>" whole), these sit under the list
        self.duplicate_button = QPushButton(style.icon("duplicate"), "Duplicate")
        self.remove_button = QPushButton(style.icon("remove"), "Remove")
        self.duplicate_button.setToolTip("Duplicate the selected stage (its copy goes right after it)")
        self.remove_button.setToolTip("Remove the selected stage")
        self.duplicate_button.clicked.connect(self.duplicate_selected)
        self.remove_button.clicked.connect(self.remove_selected)

        self.list = QListWidget()
        self.list.setItemDelegate(RoomyRows(self.list))
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.model().rowsMoved.connect(self._rows_moved)
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentRowChanged.connect(self._selection_changed)

        self.gray_inputs: set[int] = set()  #: detector stages that were handed a gray image (see note_inputs)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {style.ERROR.name()};")
        self.error_label.hide()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        # the parameters wrap to the pane's width: the pane is made wide enough for them instead of scrolling
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addStretch(1)
        buttons.addWidget(self.duplicate_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addWidget(self.add_button)
        layout.addWidget(self.list, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.error_label)
        layout.addWidget(self.scroll, 3)

        session.pipeline_changed.connect(self.refresh)
        session.run_event.connect(self._run_event)
        self.refresh()

    def sizeHint(self) -> QSize:
        """As wide as the parameters need, not as wide as a long summary would like (the video gets the rest)."""
        hint = super().sizeHint()
        return QSize(max(PANE_WIDTH, self.scroll.minimumWidth()), hint.height())

    # --- list <-> pipeline ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild the list from the pipeline, keeping the selection where it can."""
        row = self.list.currentRow()
        stages = self.session.pipeline.stages
        self._rebuilding = True
        self.list.clear()
        for i, stage in enumerate(stages):
            item = QListWidgetItem(self.session.pipeline.stage_name(i))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled)
            item.setCheckState(Qt.CheckState.Checked if stage.enabled else Qt.CheckState.Unchecked)
            item.setToolTip(stage.plugin.to_dict()["summary"])
            self.list.addItem(item)
        self._rebuilding = False
        self.list.setCurrentRow(min(max(row, 0), len(stages) - 1) if stages else -1)
        self._selection_changed(self.list.currentRow())
        self.update_badges()

    def _rows_moved(self, _parent, start: int, _end: int, _dest, row: int) -> None:
        dst = row if row < start else row - 1
        QTimer.singleShot(0, lambda: self._move(start, dst))

    def _move(self, src: int, dst: int) -> None:
        self.session.move_stage(src, dst)
        self.list.setCurrentRow(dst)

    def _item_changed(self, item: QListWidgetItem) -> None:
        if not self._rebuilding:
            self.session.set_enabled(self.list.row(item), item.checkState() == Qt.CheckState.Checked)

    def _selection_changed(self, row: int) -> None:
        if self._rebuilding:
            return
        stages = self.session.pipeline.stages
        content: QWidget
        if 0 <= row < len(stages):
            self.editor = content = ParamEditor(stages[row].plugin)
            self.editor.param_changed.connect(lambda name, value, r=row: self.set_param(r, name, value))
            self.scroll.setWidget(self.editor)
        else:
            self.editor = None
            content = hint = QLabel("Add a stage with “Add stage”, then select it to edit its parameters.")
            hint.setWordWrap(True)
            hint.setMargin(10)
            hint.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.scroll.setWidget(hint)
        self.scroll.setMinimumWidth(
            content.minimumSizeHint().width()
            + 2 * self.scroll.frameWidth()
            + self.scroll.verticalScrollBar().sizeHint().width()
        )
        self.duplicate_button.setEnabled(0 <= row < len(stages))
        self.remove_button.setEnabled(0 <= row < len(stages))
        self.add_button.setText(
            f"Add stage after {self.session.pipeline.stage_name(row)}" if 0 <= row < len(stages) else "Add stage"
        )
        self.add_button.setToolTip(
            "a new stage goes right after the selected one (drag it in the list to move it)"
            if 0 <= row < len(stages)
            else "a new stage goes at the end of the pipeline"
        )
        self.update_badges()
        self.stage_selected.emit(row)

    def set_param(self, row: int, name: str, value: object) -> None:
        try:
            self.session.set_param(row, name, value)
        except VidcvError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()

    # --- actions ------------------------------------------------------------------------------------------
    def add_plugin(self, name: str) -> None:
        row = self.list.currentRow()
        index = row + 1 if row >= 0 else len(self.session.pipeline)
        self.session.add_stage(name, index)
        self.list.setCurrentRow(index)

    def duplicate_selected(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.setCurrentRow(self.session.duplicate_stage(row))

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.session.remove_stage(row)

    def note_inputs(self, frame: Frame) -> None:
        """Mark the detector stages that this frame reached as a gray image (a gray stage before a YOLO, Haar or
        HOG stage: the detector sees no colour, which most models need); updates the rows when that changes."""
        stages = self.session.pipeline.stages
        images = frame.stage_images
        if len(images) != len(stages):
            return
        gray = set()
        for i, stage in enumerate(stages):
            given = images[i - 1] if i else frame.source_image
            if stage.enabled and given.ndim == 2 and detects(stage.plugin):
                gray.add(i)
        if gray != self.gray_inputs:
            self.gray_inputs = gray
            self.update_badges()

    def _run_event(self, event: RunEvent) -> None:
        if isinstance(event, StageError):
            self.update_badges()

    def update_badges(self) -> None:
        """Mark stages in error with a badge and their message (on each stage-error event, and on edits)."""
        summaries = self.session.pipeline.summaries(recent=True)
        if len(summaries) != self.list.count():
            return
        for i, summary in enumerate(summaries):
            item = self.list.item(i)
            in_error = summary.errors > 0 and summary.last_error
            name = self.session.pipeline.stage_name(i)
            text = f"⚠ {name}  ({summary.errors} errors)" if in_error else name
            if i in self.gray_inputs and not in_error:
                text = f"{name}  · sees a gray image"
            if item.text() != text:
                self._rebuilding = True
                item.setText(text)
                warned = in_error or i in self.gray_inputs
                item.setForeground(QBrush(style.ERROR if in_error else style.WARNING) if warned else QBrush())
                item.setToolTip(
                    (summary.last_error or "")
                    if in_error
                    else "a stage before this one made the image gray: move this stage up, or drop the gray stage"
                    if i in self.gray_inputs
                    else ""
                )
                self._rebuilding = False
        row = self.list.currentRow()
        if 0 <= row < len(summaries) and summaries[row].errors:
            self.error_label.setText(f"{summaries[row].name}: {summaries[row].last_error}")
            self.error_label.show()
        elif not self.error_label.text().startswith("parameter"):
            self.error_label.hide()
