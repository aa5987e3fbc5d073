"""Imports go one way: ui -> plugins -> cli -> jobs -> engine -> core. The engine never imports Qt; plugins never
touch the UI; the core imports no heavy package; running a pipeline imports neither PyTorch nor ultralytics.

The rules are import-linter contracts in pyproject.toml ([tool.importlinter]); `lint-imports` checks them from
the checkout, as a developer types it (vidcv/plugins, vidcv/ui and vidcv/assets are links to the top-level
folders). Indirect imports and imports inside functions count.
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


def layer_modules(layer: str) -> set[str]:
    return {f"vidcv.{name.strip()}" for name in layer.replace("\\", "").split(":")}


def test_import_linter_contracts_are_kept_from_the_checkout():
    lint_imports = shutil.which("lint-imports", path=str(pathlib.Path(sys.executable).parent))
    assert lint_imports, "import-linter is missing: pip install -e '.[dev]'"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    res = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    report = res.stdout + res.stderr
    assert res.returncode == 0, report
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in report, report


def test_the_links_make_the_checkout_the_installed_package():
    for package, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items():
        if package != "vidcv":
            link = ROOT.joinpath(*package.split("."))
            assert link.is_symlink() and link.resolve() == (ROOT / folder).resolve(), link


def test_the_contracts_cover_every_module_of_their_layers():
    # The layers contract is exhaustive, so it names every module of vidcv; the Qt contract must name all below
    # the ui, the light-core contract the whole core, and the no-training contract the whole engine.
    layers = CONTRACTS["layers"]["layers"]
    assert layers[:4] == ["ui", "plugins", "cli", "batch : dataset : jobs : training"]
    below_ui = set().union(*(layer_modules(layer) for layer in layers[1:]))
    assert below_ui == set(CONTRACTS["no-qt-below-ui"]["source_modules"])
    assert layer_modules(layers[-1]) == set(CONTRACTS["core-is-light"]["source_modules"])
    assert layer_modules(layers[-2]) == set(CONTRACTS["engine-without-training"]["source_modules"])
    on_disk = {
        p.stem if p.suffix == ".py" else p.name
        for p in (ROOT / "vidcv").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert {f"vidcv.{name}" for name in on_disk} == below_ui | {"vidcv.ui"}
