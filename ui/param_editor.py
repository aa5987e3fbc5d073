"""Parameter widgets generated from a plugin's declarations.

int/float with a range -> slider and spin box; choice -> combo box; bool -> check box; path -> line edit
with a file picker; color -> colour button; ints (HSV bounds, regions) -> spin boxes, two a row when they
come in pairs (x, y / width, height), so that no pane needs a horizontal scroll bar. A yolo stage's model
picker has a line saying what the model is (task, classes, export form, input size), and while it is empty it
names the bundled model that runs (a plugin's ``placeholders``), the value itself staying empty.
"""

from __future__ import annotations

import math
from typing import Any, cast

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from vidcv.params import Param
from vidcv.plugin import Plugin
from vidcv.ui import style
from vidcv.ui.model_info import model_note, model_param

SLIDER_STEPS = 1000


class ParamWidget(QWidget):
    """One parameter's editor; ``changed(value)`` carries a value the declaration accepts."""

    changed = Signal(object)
    spin: QSpinBox | QDoubleSpinBox  #: an int's or a float's spin box

    def __init__(self, param: Param, value: Any, parent: QWidget | None = None, placeholder: str = "") -> None:
        super().__init__(parent)
        self.param = param
        self.placeholder = placeholder  #: shown in an empty text or path field: what the empty value means
        self._updating = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.setToolTip(param.help)
        builders = {
            "int": self._build_int,
            "float": self._build_float,
            "choice": self._build_choice,
            "bool": self._build_bool,
            "str": self._build_str,
            "path": self._build_path,
            "color": self._build_color,
            "ints": self._build_ints,
        }
        builders[param.kind](layout, value)

    # --- numbers: slider + spin box -------------------------------------------------------------------
    def _build_int(self, layout: QHBoxLayout, value: int) -> None:
        p = self.param
        lo = int(p.minimum if p.minimum is not None else -(10**6))
        hi = int(p.maximum if p.maximum is not None else 10**6)
        self.spin = QSpinBox()
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(int(p.step or 1))
        self.spin.setValue(value)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(lo, min(hi, lo + 100000))
        self.slider.setSingleStep(int(p.step or 1))
        self.slider.setValue(value)
        self.slider.valueChanged.connect(lambda v: self._set_int(v, from_slider=True))
        self.spin.valueChanged.connect(lambda v: self._set_int(v, from_slider=False))
        layout.addWidget(self.slider, 3)
        layout.addWidget(self.spin, 1)

    def _snap_int(self, value: int) -> int:
        p = self.param
        if p.odd and value % 2 == 0 and not (value == 0 and p.minimum == 0):
            value += 1 if p.maximum is None or value + 1 <= p.maximum else -1
        return value

    def _set_int(self, value: int, from_slider: bool) -> None:
        if self._updating:
            return
        value = self._snap_int(value)
        self._updating = True
        self.spin.setValue(value)
        self.slider.setValue(value)
        self._updating = False
        self.changed.emit(value)

    def _build_float(self, layout: QHBoxLayout, value: float) -> None:
        p = self.param
        lo = p.minimum if p.minimum is not None else -1e6
        hi = p.maximum if p.maximum is not None else 1e6
        step = p.step or 0.1
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(max(0, min(4, -int(math.floor(math.log10(step)))) if step < 1 else 0) + 1)
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(step)
        self.spin.setValue(value)
        self._lo, self._hi = lo, hi
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(self._to_slider(value))
        self.slider.valueChanged.connect(lambda v: self._set_float(self._from_slider(v)))
        self.spin.valueChanged.connect(self._set_float)
        layout.addWidget(self.slider, 3)
        layout.addWidget(self.spin, 1)

    def _to_slider(self, value: float) -> int:
        return int(round((value - self._lo) / (self._hi - self._lo) * SLIDER_STEPS)) if self._hi > self._lo else 0

    def _from_slider(self, position: int) -> float:
        step = self.param.step or 0.1
        raw = self._lo + (self._hi - self._lo) * position / SLIDER_STEPS
        return min(self._hi, max(self._lo, round(round(raw / step) * step, 6)))

    def _set_float(self, value: float) -> None:
        if self._updating:
            return
        self._updating = True
        cast(QDoubleSpinBox, self.spin).setValue(value)  # a float's
        self.slider.setValue(self._to_slider(value))
        self._updating = False
        self.changed.emit(float(self.spin.value()))

    # --- choices, flags, text --------------------------------------------------------------------------
    def _build_choice(self, layout: QHBoxLayout, value: Any) -> None:
        self.combo = QComboBox()
        for choice in self.param.choices or ():
            self.combo.addItem(str(choice), choice)
        self.combo.setCurrentIndex(list(self.param.choices or ()).index(value))
        self.combo.currentIndexChanged.connect(lambda i: self.changed.emit(self.combo.itemData(i)))
        layout.addWidget(self.combo)

    def _build_bool(self, layout: QHBoxLayout, value: bool) -> None:
        self.check = QCheckBox()
        self.check.setChecked(value)
        self.check.toggled.connect(lambda on: self.changed.emit(bool(on)))
        layout.addWidget(self.check)
        layout.addStretch(1)

    def _build_str(self, layout: QHBoxLayout, value: str) -> None:
        self.edit = QLineEdit(value)
        self.edit.setPlaceholderText(self.placeholder)
        self.edit.editingFinished.connect(lambda: self.changed.emit(self.edit.text()))
        layout.addWidget(self.edit)

    def _build_path(self, layout: QHBoxLayout, value: str) -> None:
        if self.param.choices:  # well-known values to pick from, or type / browse a path
            self.combo = QComboBox()
            self.combo.setEditable(True)
            self.combo.addItems([str(c) for c in self.param.choices])
            self.combo.setCurrentText(value)
            edit = self.combo.lineEdit()
            assert edit is not None  # an editable combo box has one
            self.edit = edit
            self.edit.setPlaceholderText(self.placeholder)
            self.combo.activated.connect(lambda _i: self.changed.emit(self.combo.currentText()))
            self.edit.editingFinished.connect(lambda: self.changed.emit(self.edit.text()))
            layout.addWidget(self.combo)
        else:
            self._build_str(layout, value)
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.clicked.connect(self._browse)
        layout.addWidget(browse)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose {self.param.name}", self.edit.text())
        if path:
            self.edit.setText(path)
            self.changed.emit(path)

    # --- colour and integer lists ------------------------------------------------------------------------
    def _build_color(self, layout: QHBoxLayout, value: list[int]) -> None:
        self.color = list(value)
        self.button = QPushButton()
        self._paint_button()
        self.button.clicked.connect(self._pick_color)
        layout.addWidget(self.button)

    def _paint_button(self) -> None:
        b, g, r = self.color
        self.button.setText(f"B {b}  G {g}  R {r}")
        self.button.setStyleSheet(
            f"background-color: rgb({r}, {g}, {b}); color: {'black' if (r + g + b) > 380 else 'white'};"
        )

    def _pick_color(self) -> None:
        b, g, r = self.color
        chosen = QColorDialog.getColor(QColor(r, g, b), self, f"Choose {self.param.name}")
        if chosen.isValid():
            self.color = [chosen.blue(), chosen.green(), chosen.red()]
            self._paint_button()
            self.changed.emit(list(self.color))

    def _build_ints(self, layout: QHBoxLayout, value: list[int]) -> None:
        p = self.param
        self.spins: list[QSpinBox] = []
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        columns = 2 if len(value) >= 4 and len(value) % 2 == 0 else len(value)  # x, y / w, h; points by pair
        for i, item in enumerate(value):
            spin = QSpinBox()
            spin.setRange(
                int(p.minimum if p.minimum is not None else -(10**6)),
                int(p.maximum if p.maximum is not None else 10**6),
            )
            spin.setValue(item)
            spin.valueChanged.connect(lambda _v: self.changed.emit([s.value() for s in self.spins]))
            self.spins.append(spin)
            grid.addWidget(spin, i // max(1, columns), i % max(1, columns))
        layout.addLayout(grid)


class ParamEditor(QWidget):
    """A form with one generated widget per parameter of ``plugin``; ``param_changed(name, value)``."""

    param_changed = Signal(str, object)

    def __init__(self, plugin: Plugin, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plugin = plugin
        self.widgets: dict[str, ParamWidget] = {}
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setContentsMargins(8, 8, 8, 8)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        values = plugin.values()
        self.model_note: QLabel | None = None  # what the picked model is, under a model picker
        picker = model_param(plugin)
        placeholders = plugin.placeholders  # what an empty value runs
        for param in plugin.params:
            widget = ParamWidget(param, values[param.name], self, placeholders.get(param.name, ""))
            widget.changed.connect(lambda value, name=param.name: self.param_changed.emit(name, value))
            self.widgets[param.name] = widget
            label = QLabel(param.name)
            label.setToolTip(param.help)
            form.addRow(label, widget)
            if param.name == picker:
                self.model_note = QLabel()
                self.model_note.setWordWrap(True)
                self.model_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                form.addRow("", self.model_note)
                self.show_model_note(values[param.name])
                widget.changed.connect(self.show_model_note)
        if not plugin.params:
            form.addRow(QLabel("No parameters."))
        # below the parameters (a long one hides no control), dark on a light card: readable in any palette
        self.help = style.help_label(plugin.to_dict()["summary"])
        form.addRow(self.help)

    def show_model_note(self, value: object) -> None:
        """Say what the model ``value`` names is, or why it cannot be read (in red)."""
        note = model_note(self.plugin, value)
        if self.model_note is None or note is None:
            return
        self.model_note.setText(note.text)
        self.model_note.setStyleSheet(f"color: {style.ERROR.name()};" if note.error else "")
