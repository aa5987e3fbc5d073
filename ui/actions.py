"""Actions, shortcuts and menus of the main window, kept out of the window class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from vidcv.extras import TRAIN, missing_line

if TYPE_CHECKING:
    from vidcv.ui.main_window import MainWindow


@dataclass
class Actions:
    open_file: QAction
    open_preset: QAction
    save_preset: QAction
    save_preset_as: QAction
    extract: QAction
    batch: QAction
    export_script: QAction
    quit: QAction
    play_pause: QAction
    step: QAction
    record: QAction
    snapshot: QAction
    open_dataset: QAction
    add_frame: QAction
    train: QAction
    overlays: QAction
    one_to_one: QAction
    view_modes: dict[str, QAction]
    reset_layout: QAction
    draw_zone: QAction
    events: QAction
    shortcuts: QAction
    docs: QAction
    about: QAction
    recent_menu: QMenu


def _action(
    window: MainWindow, text: str, slot, shortcut: str | QKeySequence.StandardKey | None = None, checkable: bool = False
) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    window.addAction(action)  # shortcuts work wherever the focus is in the window
    return action


def _train_action(window: MainWindow) -> QAction:
    """Dataset > Train…, greyed out with the reason (and the pip command) when the train extra is not installed."""
    action = _action(window, "Train…", window.datasets.train, "Ctrl+T")
    missing = missing_line(TRAIN, "Training")
    if missing:
        action.setEnabled(False)
        action.setToolTip(missing)
        action.setStatusTip(missing)
    return action


def _draw_zone_action(window: MainWindow) -> QAction:
    """Scene > Draw zone: click the corners of the selected stage's polygon (a zone) on the video."""
    action = _action(window, "Draw zone", window.draw_zone, "Z", checkable=True)
    tip = (
        "click the corners of the selected zone stage's polygon on the video; double-click or Enter closes it, "
        "Backspace removes the last corner, Esc cancels"
    )
    action.setToolTip(tip)
    action.setStatusTip(tip)
    return action


def build_actions(window: MainWindow) -> Actions:
    w = window
    view_group = QActionGroup(w)
    modes = {}
    for mode, text in (("processed", "Processed"), ("original", "Original"), ("side_by_side", "Side by side")):
        action = _action(w, text, lambda _=False, m=mode: w.view.set_mode(m), checkable=True)
        view_group.addAction(action)
        modes[mode] = action
    modes["processed"].setChecked(True)
    overlays = _action(w, "Detection overlays", lambda on: w.view.set_overlays(on), "O", checkable=True)
    overlays.setChecked(True)
    overlays.setToolTip(
        "boxes, labels, masks and tracks drawn over the video; on the processed image only "
        "when no annotate stage has drawn them into it already"
    )
    return Actions(
        open_file=_action(w, "Open file…", w.choose_file, QKeySequence.StandardKey.Open),
        open_preset=_action(w, "Open preset…", w.choose_preset, "Ctrl+Shift+O"),
        save_preset=_action(w, "Save preset", w.save_preset, QKeySequence.StandardKey.Save),
        save_preset_as=_action(w, "Save preset as…", w.save_preset_as, "Ctrl+Shift+S"),
        extract=_action(w, "Extract dataset…", w.open_extract_dialog, "Ctrl+E"),
        batch=_action(w, "Batch…", w.open_batch_dialog, "Ctrl+B"),
        export_script=_action(w, "Export as Python script…", w.choose_script_path),
        quit=_action(w, "Quit", w.close, "Ctrl+Q"),  # not StandardKey.Quit: some platforms map it to nothing
        play_pause=_action(w, "Play / pause", w.session.toggle_play, "Space"),
        step=_action(w, "Step one frame", w.session.step, "Right"),
        record=_action(w, "Record", w.toggle_record, "R", checkable=True),
        snapshot=_action(w, "Snapshot", w.snapshot, "S"),
        open_dataset=_action(w, "Open dataset…", w.datasets.choose, "Ctrl+Shift+D"),
        add_frame=_action(w, "Add frame to dataset", w.datasets.add_frame, "L"),
        train=_train_action(w),
        overlays=overlays,
        one_to_one=_action(w, "Zoom 1:1", lambda on: w.view.set_one_to_one(on), "1", checkable=True),
        view_modes=modes,
        reset_layout=_action(w, "Reset layout", w.reset_layout),
        draw_zone=_draw_zone_action(w),
        events=_action(w, "Events", w.show_events, "E", checkable=True),
        shortcuts=_action(w, "Keyboard shortcuts", w.show_shortcuts, "F1"),
        docs=_action(w, "README and documentation", w.open_docs),
        about=_action(w, "About vidcv", w.show_about),
        recent_menu=QMenu("Recent presets", w),
    )


def build_menus(window: MainWindow, actions: Actions) -> None:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(actions.open_file)
    file_menu.addAction(actions.open_dataset)
    file_menu.addSeparator()
    file_menu.addAction(actions.open_preset)
    file_menu.addMenu(actions.recent_menu)
    file_menu.addAction(actions.save_preset)
    file_menu.addAction(actions.save_preset_as)
    file_menu.addSeparator()
    file_menu.addAction(actions.batch)
    file_menu.addAction(actions.export_script)
    file_menu.addSeparator()
    file_menu.addAction(actions.quit)
    dataset_menu = bar.addMenu("&Dataset")
    dataset_menu.setToolTipsVisible(True)  # why Train… is greyed out, when it is
    for action in (actions.open_dataset, actions.add_frame, actions.extract, actions.train):
        dataset_menu.addAction(action)
    play_menu = bar.addMenu("&Playback")
    for action in (actions.play_pause, actions.step, actions.record, actions.snapshot):
        play_menu.addAction(action)
    view_menu = bar.addMenu("&View")
    for action in actions.view_modes.values():
        view_menu.addAction(action)
    view_menu.addSeparator()
    view_menu.addAction(actions.overlays)
    view_menu.addAction(actions.one_to_one)
    view_menu.addSeparator()
    view_menu.addAction(actions.reset_layout)
    scene_menu = bar.addMenu("&Scene")
    scene_menu.setToolTipsVisible(True)
    scene_menu.addAction(actions.draw_zone)
    scene_menu.addAction(actions.events)
    help_menu = bar.addMenu("&Help")
    for action in (actions.shortcuts, actions.docs, actions.about):
        help_menu.addAction(action)
