"""Where the bundled assets (sample video, presets, models) are, installed or in a source checkout."""

from __future__ import annotations

import importlib
import os


def assets_dir() -> str:
    """The folder of the bundled assets (the repository's ``assets/``, installed as ``vidcv.assets``)."""
    # the package's own folder, as importlib.resources.files gives it for a package on disk, without importing
    # importlib.resources (and tempfile, shutil, bz2, lzma with it, which a start would pay for)
    init = importlib.import_module("vidcv.assets").__file__
    if init:
        return os.path.dirname(os.path.abspath(init))
    from importlib import resources

    return str(resources.files("vidcv.assets"))


def sample_video() -> str:
    return os.path.join(assets_dir(), "sample.mp4")


def bundled_preset(name: str) -> str | None:
    """Path of a bundled preset named ``name`` (with or without .yaml), if there is one."""
    base = os.path.splitext(os.path.basename(name))[0]
    if base != name and f"{base}.yaml" != name:
        return None
    path = os.path.join(assets_dir(), "presets", f"{base}.yaml")
    return path if os.path.isfile(path) else None


def bundled_presets() -> list[str]:
    folder = os.path.join(assets_dir(), "presets")
    return sorted(n[:-5] for n in os.listdir(folder) if n.endswith(".yaml")) if os.path.isdir(folder) else []


def models_dir() -> str:
    return os.path.join(assets_dir(), "models")


def bundled_models() -> dict[str, str]:
    """ONNX models shipped in assets/models, by file name without extension."""
    folder = models_dir()
    if not os.path.isdir(folder):
        return {}
    return {n[:-5]: os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".onnx")}


DEMO_MODEL = "shapes_yolov8n"
