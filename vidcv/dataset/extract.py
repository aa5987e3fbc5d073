"""Extraction: a source through a pipeline; sampled original frames and their detections into a dataset."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vidcv.dataset.sampling import Sampler
from vidcv.dataset.writer import DatasetWriter
from vidcv.detections import Detections
from vidcv.events import SourceState
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline
from vidcv.presets import dump_preset
from vidcv.sinks.base import Sink
from vidcv.sources.base import Source, StateReport

if TYPE_CHECKING:
    from vidcv.runner import Runner

log = logging.getLogger(__name__)


def source_stem(spec: str) -> str:
    """A file-name-safe name for a source: the file stem, camera0, a host, pattern."""
    base = os.path.splitext(os.path.basename(spec.rstrip("/")))[0] or spec
    return re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_") or "source"


class SampledSource(Source):
    """Wraps a source and passes on only the frames the sampler keeps (the pipeline runs on those only).
    Its life cycle and state are the inner source's: opening it opens the inner one with the same stop
    signal and state report."""

    def __init__(self, inner: Source, sampler: Sampler) -> None:
        super().__init__(inner.spec)
        self.inner, self.sampler = inner, sampler
        self.live, self.seekable = inner.live, False
        self.fps, self.frame_count, self.size_wh = inner.fps, inner.frame_count, inner.size_wh

    @property
    def label(self) -> str:
        return self.inner.label

    @property
    def state(self) -> SourceState:
        return self.inner.state

    def open(self, stop: threading.Event | None = None, report: StateReport | None = None) -> None:
        self.inner.open(stop, report)
        self.fps, self.frame_count, self.size_wh = self.inner.fps, self.inner.frame_count, self.inner.size_wh

    def _open(self) -> None:  # open() is the inner source's
        raise NotImplementedError

    def read(self) -> Frame | None:
        while (frame := self.inner.read()) is not None:
            if self.sampler.accept(frame.source_image, frame.pts_ms):
                return frame
        return None

    def close(self) -> None:
        self.inner.close()


@dataclass
class LabelFilter:
    """Which detections become labels, and how many frames without any are kept as negatives."""

    classes: set[str] | None = None
    min_conf: float = 0.0
    negatives: float = 0.0  #: negatives kept per positive frame (0: none)
    skipped: dict[str, int] = field(default_factory=lambda: {"negative over ratio": 0, "already in dataset": 0})

    def select(self, dets: Detections) -> Detections:
        keep = dets.confidence >= self.min_conf
        if self.classes is not None:
            keep &= [dets.class_name(c) in self.classes for c in dets.class_id]
        return dets[keep]


class DatasetSink(Sink):
    """Writes the original frame and the filtered detections of every frame it receives."""

    def __init__(self, writer: DatasetWriter, labels: LabelFilter, stem: str, provenance: dict) -> None:
        self.writer, self.labels, self.stem, self.provenance = writer, labels, stem, provenance

    def write(self, frame: Frame) -> None:
        dets = self.labels.select(frame.detections)
        if len(dets) == 0:
            allowed = self.labels.negatives * max(1, self.writer.positives)
            if self.writer.negatives + 1 > allowed:
                self.labels.skipped["negative over ratio"] += 1
                return
        info = {**self.provenance, "frame": frame.index, "pts_ms": round(frame.pts_ms, 3)}
        if self.writer.add(self.stem, frame.index, frame.source_image, dets, info) is None:
            self.labels.skipped["already in dataset"] += 1

    def close(self) -> None:
        self.writer.save_meta()
        if self.writer.fmt == "coco":
            self.writer.write_coco()


def provenance(source: Source, pipeline: Pipeline) -> dict:
    """What every manifest line records about how its labels were made."""
    preset = dump_preset(pipeline)
    models = []
    for i, stage in enumerate(pipeline.stages):
        keys = stage.plugin.provenance_params()
        settings = {k: v for k, v in stage.plugin.values().items() if k in keys}
        if settings and stage.enabled:
            models.append({"stage": pipeline.stage_name(i), **settings})
    return {"source": source.label, "preset_sha256": hashlib.sha256(preset.encode()).hexdigest()[:16],
            "detectors": models}


@dataclass
class ExtractOptions:
    """Everything `vidcv extract` and the GUI's Extract dialog can set."""

    out: str
    fmt: str = "yolo"
    every: int = 1
    fps: float = 0.0
    dedupe: int = 0
    min_sharpness: float = 0.0
    negatives: float = 0.0
    classes: str = ""
    min_conf: float = 0.0
    split: str = "0.8,0.1,0.1"
    split_by: str = "chunk"
    seed: int = 0
    max_frames: int | None = None


@dataclass
class Extraction:
    """A prepared run: start ``runner``; ``writer``, ``sampler`` and ``labels`` count what was kept and why not."""

    runner: Runner
    writer: DatasetWriter
    sampler: Sampler
    labels: LabelFilter

    def skipped(self) -> dict[str, int]:
        return {**self.sampler.skipped, **self.labels.skipped}

    def summary(self) -> str:
        w = self.writer
        kept = ", ".join(f"{k} {v}" for k, v in w.kept.items())
        return (f"kept {sum(w.kept.values())} frames ({kept}; {w.positives} with labels, {w.negatives} negatives); "
                "skipped: " + ", ".join(f"{k} {v}" for k, v in self.skipped().items()))


def prepare(source_spec: str, pipeline: Pipeline, options: ExtractOptions) -> Extraction:
    """Open the source and the dataset; errors (bad options, a source that does not open) raise here."""
    from vidcv.dataset.writer import parse_split
    from vidcv.errors import VidcvError
    from vidcv.runner import Runner
    from vidcv.sources import parse_source

    if options.every < 1:
        raise VidcvError(f"--every must be at least 1, got {options.every}")
    writer = DatasetWriter(options.out, options.fmt, parse_split(options.split), options.split_by, options.seed)
    writer.save_meta()
    sampler = Sampler(options.every, options.fps, options.dedupe, options.min_sharpness)
    inner = parse_source(source_spec)
    source = SampledSource(inner, sampler)
    classes = {c.strip() for c in options.classes.split(",") if c.strip()} or None
    labels = LabelFilter(classes, options.min_conf, options.negatives)
    sink = DatasetSink(writer, labels, source_stem(source_spec), provenance(inner, pipeline))
    runner = Runner(source, pipeline, [sink], max_frames=options.max_frames)
    runner.open()
    return Extraction(runner, writer, sampler, labels)
