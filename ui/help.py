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
    ("Drag on the video", "hand the region to the selected stage (crop, roi_track)"),
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


def shortcuts_html(menus: Iterable[QMenu]) -> str:
    """The shortcuts box: the keys by menu, then what the mouse does."""
    cells, last = [], None
    for menu, keys, what in [*shortcut_rows(menus), *(("Mouse", k, v) for k, v in MOUSE)]:
        if menu != last:
            cells.append(f"<tr><td colspan=2><i>{html.escape(menu)}</i></td></tr>")
            last = menu
        cells.append(f"<tr><td><b>{html.escape(keys)}</b></td><td>&nbsp;&nbsp;{html.escape(what)}</td></tr>")
    return f"<table>{''.join(cells)}</table>"


def provider_state(name: str) -> str:
    """``CPU``, ``CUDA`` or ``TENSORRT``; a GPU one whose libraries do not load here says so (offered is not
    usable)."""
    short = SHORT.get(name, name)
    missing = missing_libraries(short) if short in ("cuda", "tensorrt") else []
    return short.upper() + (" (libraries missing: see vidcv doctor)" if missing else "")


def runtime_versions() -> list[tuple[str, str]]:
    """(component, version) for About: vidcv, Python, Qt, OpenCV, ONNX Runtime and its providers."""
    rows = [
        ("vidcv", __version__),
        ("Python", platform.python_version()),
        ("Qt", f"{qVersion()} (PySide6 {pyside_version})"),
        ("OpenCV", cv2.__version__),
    ]
    try:
        rows.append(("ONNX Runtime", onnxruntime().__version__))
        rows.append(("providers", ", ".join(provider_state(p) for p in available())))
    except VidcvError as exc:
        rows.append(("ONNX Runtime", str(exc)))
    return rows


def about_html() -> str:
    rows = "".join(
        f"<tr><td><b>{html.escape(k)}</b></td><td>&nbsp;&nbsp;{html.escape(v)}</td></tr>" for k, v in runtime_versions()
    )
    return (
        f"<h3>vidcv {html.escape(__version__)}</h3><p>Open a camera, file, stream or folder, stack plugins, "
        f"tune them live.</p><table>{rows}</table><p><code>vidcv doctor</code> checks the whole set-up "
        "(GPU libraries, FFmpeg, ultralytics).</p>"
    )
