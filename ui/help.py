"""The Help menu's contents: the keyboard shortcuts (read from the window's actions), where the README and
docs are, and About (versions of vidcv, Qt, OpenCV, ONNX Runtime and the providers it offers)."""

from __future__ import annotations

import html
import os
import platform
from collections.abc import Iterable

import cv2
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu

from vidcv._version import __version__
from vidcv.errors import VidcvError
from vidcv.inference.providers import SHORT, available, missing_libraries, onnxruntime

#: where the documentation lives when the checkout (or an sdist) is not at hand
PROJECT_DOCS = "README.md and docs/ of the vidcv source tree; `vidcv --help` and `vidcv plugins` list the rest"
#: what the mouse does, besides the actions' shortcuts
MOUSE = (
    ("Drag on the video", "hand the region to the selected stage (crop, roi_track, zone)"),
    ("Click on the video (Draw zone)", "add a corner; double-click or Enter closes the zone, Backspace, Esc"),
    ("Double-click an event", "play its clip (Events panel)"),
    ("Drop a file on the window", "a video or image opens; a .yaml preset loads"),
    ("Drag a stage in the list", "reorder the pipeline"),
)


def readme_path() -> str | None:
    """The README of the source tree vidcv runs from (an editable install or a checkout), if there is one."""
    import vidcv

    root = os.path.dirname(os.path.dirname(os.path.abspath(vidcv.__file__)))
    path = os.path.join(root, "README.md")
    return path if os.path.isfile(path) else None


def shortcut_rows(menus: Iterable[QMenu]) -> list[tuple[str, str, str]]:
    """(menu, keys, what) for every action with a shortcut, in the menus' order and words."""
    rows, seen = [], set()
    for menu in menus:
        for action in menu.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys and id(action) not in seen:  # an action in two menus is listed once, under the first
                seen.add(id(action))
                rows.append((menu.title().replace("&", ""), keys, action.text().replace("&", "").rstrip("…")))
    return rows


#: a two-column table whose second column starts at one edge, wrapped lines included (a cell's padding, where
#: leading spaces would indent the first line only)
TABLE = '<table cellspacing="0" cellpadding="0">'
KEY_CELL = '<td style="padding: 1px 14px 1px 0px; white-space: nowrap;" valign="top">'
VALUE_CELL = '<td style="padding: 1px 0px;" valign="top">'
NOWRAP = '<span style="white-space: nowrap;">{}</span>'  #: a line of About's that stays whole


def shortcuts_html(menus: Iterable[QMenu]) -> str:
    """The shortcuts box: the keys by menu, then what the mouse does."""
    cells, last = [], None
    for menu, keys, what in [*shortcut_rows(menus), *(("Mouse", k, v) for k, v in MOUSE)]:
        if menu != last:
            top = "8" if last is not None else "0"
            cells.append(f'<tr><td colspan="2" style="padding-top: {top}px;"><i>{html.escape(menu)}</i></td></tr>')
            last = menu
        cells.append(f"<tr>{KEY_CELL}<b>{html.escape(keys)}</b></td>{VALUE_CELL}{html.escape(what)}</td></tr>")
    return f"{TABLE}{''.join(cells)}</table>"


def provider_state(name: str) -> str:
    """``CPU``, ``CUDA`` or ``TENSORRT``; a GPU one whose libraries do not load here says so (offered is not
    usable)."""
    short = SHORT.get(name, name)
    missing = missing_libraries(short) if short in ("cuda", "tensorrt") else []
    return short.upper() + (" (libraries missing: see vidcv doctor)" if missing else "")


def runtime_versions() -> list[tuple[str, str]]:
    """(component, version) for About: vidcv, Python, Qt, OpenCV, ONNX Runtime and its providers (one a line)."""
    rows = [
        ("vidcv", __version__),
        ("Python", platform.python_version()),
        ("Qt", f"{qVersion()} (PySide6 {pyside_version})"),
        ("OpenCV", cv2.__version__),
    ]
    try:
        rows.append(("ONNX Runtime", onnxruntime().__version__))
        rows.append(("providers", "\n".join(provider_state(p) for p in available())))
    except VidcvError as exc:
        rows.append(("ONNX Runtime", str(exc)))
    return rows


def value_html(value: str) -> str:
    """A value of About: escaped; a list (several lines: the providers) one whole item a line."""
    lines = value.splitlines()
    return "<br>".join(NOWRAP.format(html.escape(line)) for line in lines) if len(lines) > 1 else html.escape(value)


def about_html() -> str:
    """About: what vidcv is, then the versions in two aligned columns (each provider on a line of its own)."""
    rows = "".join(
        f"<tr>{KEY_CELL}<b>{html.escape(k)}</b></td>{VALUE_CELL}{value_html(v)}</td></tr>"
        for k, v in runtime_versions()
    )
    return (
        f"<h3>vidcv {html.escape(__version__)}</h3><p>Open a camera, file, stream or folder, stack plugins, "
        f"tune them live.</p>{TABLE}{rows}</table><p><code>vidcv doctor</code> checks the whole set-up "
        "(GPU libraries, FFmpeg, ultralytics).</p>"
    )
