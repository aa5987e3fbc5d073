"""What a training tells its parent: typed events, sent by the child as one JSON line each.

``Started`` once the dataset is read and the model built; ``Status`` for what it is doing (validating, exporting);
``Batch`` as an epoch goes (at most a few a second); ``EpochEnd`` after each epoch's validation; ``Note`` for a
line the user should read (a warning among them); then exactly one of ``Finished``, ``Stopped`` or ``Failed``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = [
    "Batch",
    "EpochEnd",
    "Failed",
    "Finished",
    "Note",
    "Started",
    "Status",
    "Stopped",
    "TrainingEvent",
    "finite",
    "from_line",
    "headline",
    "to_line",
]


@dataclass(frozen=True)
class Started:
    """The child has read the dataset and built the model; training begins."""

    run_dir: str
    task: str
    model: str
    epochs: int
    device: str
    images: dict[str, int] = field(default_factory=dict)  #: images per split used (train, val)
    digest: str = ""


@dataclass(frozen=True)
class Status:
    """What the child is busy with (``validating``, ``exporting to ONNX``, ...), for a progress display."""

    text: str


@dataclass(frozen=True)
class Batch:
    """Progress inside an epoch (1-based ``epoch``; ``batch`` of ``batches`` done), the running mean losses."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    losses: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochEnd:
    """Epoch ``epoch`` (1-based) of ``epochs`` is done and validated: mean training ``losses`` and validation
    ``metrics`` (ultralytics' names without their ``metrics/`` prefix: ``mAP50(B)``, ``mAP50-95(B)``,
    ``precision(B)``, ...; a classifier's ``accuracy_top1``), ``elapsed`` seconds since training began."""

    epoch: int
    epochs: int
    losses: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0


@dataclass(frozen=True)
class Note:
    """A line for the user; ``warning`` when something did not go as asked (the run goes on)."""

    message: str
    warning: bool = False


@dataclass(frozen=True)
class Finished:
    """Training, validation of best.pt and the export are done: the run folder, its ONNX model and the preset
    that runs it, the final metrics of best.pt."""

    run_dir: str
    onnx: str
    preset: str
    best_pt: str
    last_pt: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Stopped:
    """Stopped on request (Ctrl-C, cancel). ``last_pt`` is the checkpoint of the last complete epoch (None when
    no epoch ended), ``epoch`` that epoch (1-based, 0 for none)."""

    run_dir: str
    last_pt: str | None
    epoch: int = 0


@dataclass(frozen=True)
class Failed:
    """Training could not go on: ``message`` is one line saying what and how to fix it; ``log`` the child's log."""

    message: str
    log: str = ""


TrainingEvent = Started | Status | Batch | EpochEnd | Note | Finished | Stopped | Failed
_KINDS: dict[str, type[Any]] = {
    cls.__name__.lower(): cls for cls in (Started, Status, Batch, EpochEnd, Note, Finished, Stopped, Failed)
}
TERMINAL = (Finished, Stopped, Failed)


def finite(value: Any) -> Any:
    """JSON has no NaN: a NaN or infinite metric (a validation that found nothing) travels as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    return value


def to_line(event: TrainingEvent) -> bytes:
    """The event as one JSON line."""
    doc = {"event": type(event).__name__.lower(), **finite(asdict(event))}
    return (json.dumps(doc, ensure_ascii=True) + "\n").encode("ascii")


def from_line(line: bytes | str) -> TrainingEvent | None:
    """The event a line holds; None for a line that is not one (a library's stray print)."""
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    cls = _KINDS.get(str(doc.pop("event", "")))
    if cls is None:
        return None
    known = {f.name for f in fields(cls)}
    try:
        event: TrainingEvent = cls(**{k: v for k, v in doc.items() if k in known})
    except TypeError:
        return None
    return event


def headline(metrics: Mapping[str, float | None], task: str = "detect") -> dict[str, float | None]:
    """The figures a progress line shows for a task: mAP50 and mAP50-95 of the boxes (detect, obb), masks
    (segment) or poses (pose); top-1 and top-5 accuracy for a classifier."""
    if task == "classify" or "accuracy_top1" in metrics:
        return {"top1": metrics.get("accuracy_top1"), "top5": metrics.get("accuracy_top5")}
    kind = {"segment": "M", "pose": "P"}.get(task, "B")
    if f"mAP50({kind})" not in metrics:
        kind = "B"
    return {"mAP50": metrics.get(f"mAP50({kind})"), "mAP50-95": metrics.get(f"mAP50-95({kind})")}
