"""vidcv's optional parts (the extras of pyproject.toml) and the one line a feature says when its extra is missing.

``pip install vidcv`` runs pipelines, the window and batches with ONNX Runtime alone. Training a model and
exporting PyTorch weights to ONNX need the ``train`` extra (PyTorch, ultralytics, onnx, onnxslim), which runs in
a child process or a command of its own; clusters need the ``ray`` extra. Whether an extra is here is found
without importing it (``importlib.util.find_spec``): asking costs nothing and loads no PyTorch.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    """An extra: its name in ``vidcv[NAME]``, the modules it brings and what they are, in words."""

    name: str
    modules: tuple[str, ...]
    what: str

    @property
    def install(self) -> str:
        """The command that adds it."""
        return f'pip install "vidcv[{self.name}]"'


TRAIN = Extra("train", ("torch", "ultralytics", "onnx", "onnxslim"), "PyTorch and ultralytics")
RAY = Extra("ray", ("ray",), "Ray")
EXTRAS = {extra.name: extra for extra in (TRAIN, RAY)}


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent package, or a module whose __spec__ is None
        return False


def missing_modules(extra: Extra) -> list[str]:
    """The modules of ``extra`` that are not installed here (none: the extra is complete)."""
    return [module for module in extra.modules if not _found(module)]


def missing_line(extra: Extra, feature: str) -> str | None:
    """None when ``extra`` is installed; otherwise the line that says so: ``FEATURE needs the train extra
    (PyTorch and ultralytics; not installed: torch, ultralytics): pip install "vidcv[train]"``."""
    absent = missing_modules(extra)
    if not absent:
        return None
    return f"{feature} needs the {extra.name} extra ({extra.what}; not installed: {', '.join(absent)}): {extra.install}"
