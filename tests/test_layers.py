"""Imports go one way: ui -> plugins -> vidcv. The engine never imports Qt; plugins never touch the UI.

The rules are import-linter contracts in pyproject.toml ([tool.importlinter]); these tests run them. Indirect
imports and imports inside functions count.
"""

import os
import pathlib
import shutil
import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter brings tomli
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS = {c["id"]: c for c in PYPROJECT["tool"]["importlinter"]["contracts"]}


def stage_vidcv(dest: pathlib.Path) -> None:
    """Lay the source folders out as the installed vidcv package, following package-dir in pyproject.toml.

    vidcv.plugins and vidcv.ui live in plugins/ and ui/; import-linter finds a package's modules by walking the
    folder of its top-level package, so through the editable install it would see vidcv/ alone."""
    for package, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items():
        for src in (ROOT / folder).rglob("*.py"):
            if "__pycache__" not in src.parts:
                to = dest.joinpath(*package.split("."), src.relative_to(ROOT / folder))
                to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, to)
    shutil.copyfile(ROOT / "pyproject.toml", dest / "pyproject.toml")


def test_import_linter_contracts_are_kept(tmp_path):
    lint_imports = shutil.which("lint-imports", path=str(pathlib.Path(sys.executable).parent))
    assert lint_imports, "import-linter is missing: pip install -e '.[dev]'"
    stage_vidcv(tmp_path)
    # A subprocess, with the staged tree first on its path: in this process `vidcv` is already imported from
    # the checkout, and import-linter would find that one. lint-imports reads ./pyproject.toml.
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "COLUMNS": "200", "NO_COLOR": "1"}
    res = subprocess.run(
        [lint_imports, "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    report = res.stdout + res.stderr
    assert res.returncode == 0, report
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in report, report


def test_the_qt_contract_covers_every_layer_below_the_ui():
    # The layers contract is exhaustive, so it names every module of vidcv; the Qt contract must name the same.
    layers = CONTRACTS["layers"]["layers"]
    assert layers[0] == "ui"
    below_ui = {name.strip() for layer in layers[1:] for name in layer.split(":")}
    assert {f"vidcv.{name}" for name in below_ui} == set(CONTRACTS["no-qt-below-ui"]["source_modules"])
