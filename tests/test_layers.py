"""Imports go one way: ui -> plugins -> vidcv. The engine never imports Qt; plugins never touch the UI."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qtpy")


def imported_modules(folder: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module))
    return found


def offending(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{where}: {mod}" for where, mod in imported_modules(folder)
            if any(mod == f or mod.startswith(f + ".") for f in forbidden)]


def test_the_engine_imports_neither_qt_nor_ui_nor_plugins():
    assert offending("vidcv", (*QT, "vidcv.ui", "vidcv.plugins", "ui", "plugins")) == []


def test_plugins_never_touch_the_ui():
    assert offending("plugins", (*QT, "vidcv.ui", "ui")) == []


@pytest.mark.parametrize("folder", ["vidcv", "plugins", "ui"])
def test_no_bare_top_level_imports_of_repo_folders(folder):
    # Inside the installed package they are vidcv.plugins and vidcv.ui; `import plugins` would only work
    # from a checkout.
    assert offending(folder, ("plugins", "ui")) == []
