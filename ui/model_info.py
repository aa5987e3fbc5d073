"""What a yolo stage's model is, for the line under its model picker: task, classes, export form, input.

The model is read by vidcv's own inspection (``vidcv.inference.yolo.inspect``, what ``vidcv model info``
shows); the model the stage has loaded already is described without opening it again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from vidcv.errors import VidcvError
from vidcv.inference.yolo import ModelInfo, YoloModel
from vidcv.plugin import Plugin
from vidcv.plugins.yolo import Yolo, resolve_model

#: the export forms of ModelInfo.form, as the picker names them
FORMS = {
    "raw": "raw head (vidcv runs NMS)",
    "end2end": "end-to-end (NMS-free)",
    "nms": "NMS embedded",
    "rtdetr": "RT-DETR",
}
FIRST_NAMES = 4  # class names shown before "…"


@dataclass(frozen=True)
class ModelNote:
    """The line under a model picker: ``text``, and whether it reports an error."""

    text: str
    error: bool = False


def describe(info: ModelInfo) -> str:
    """One line: ``detect · 3 classes: circle, square, triangle · raw head (vidcv runs NMS) · input 320x320``."""
    names = list(info.names.values())
    shown = ", ".join(names[:FIRST_NAMES]) + (", …" if len(names) > FIRST_NAMES else "")
    task = info.task + (f" ({info.kpt_shape[0]} keypoints)" if info.kpt_shape else "")
    size = f"{info.imgsz[1]}x{info.imgsz[0]}"
    size = f"any size (default {size})" if info.dynamic else size
    batch = f", batch {info.batch}" if info.batch > 1 else ""
    return (
        f"{task} · {len(names)} class{'es' if len(names) != 1 else ''}: {shown} · "
        f"{FORMS.get(info.form, info.form)} · input {size}{batch}"
    )


@lru_cache(maxsize=16)
def _inspect_file(path: str, mtime: float, size: int) -> ModelInfo:
    """A model file's ModelInfo (cached while the file is unchanged); opens it on the CPU, no warm-up."""
    return YoloModel(path, device="cpu", warmup=False).info


def model_info(value: str) -> ModelInfo:
    """The ModelInfo of a yolo ``model`` parameter value (a path, a bundled name, '' for the demo model)."""
    path = resolve_model(value)
    stat = os.stat(path)
    return _inspect_file(os.path.abspath(path), stat.st_mtime, stat.st_size)


def model_note(plugin: Plugin, value: object) -> ModelNote | None:
    """The note for ``value`` of ``plugin``'s model parameter, or None when the plugin has no model picker."""
    if not isinstance(plugin, Yolo):
        return None
    try:
        path = os.path.abspath(resolve_model(str(value)))
        loaded = plugin.model.info  # the stage's model, read again only when the value names another file
        info = loaded if os.path.abspath(loaded.path) == path else model_info(str(value))
    except VidcvError as exc:
        return ModelNote(str(exc), error=True)
    except OSError as exc:
        return ModelNote(f"cannot read {value}: {exc.strerror}", error=True)
    return ModelNote(describe(info))


def model_param(plugin: Plugin) -> str | None:
    """The name of the parameter that picks ``plugin``'s model, if it has one."""
    if not isinstance(plugin, Yolo):
        return None
    return next(p.name for p in plugin.params if p.kind == "path")
