"""Extraction: a source through a pipeline; sampled original frames and their detections into a dataset."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field

from vidcv.dataset.sampling import Sampler
from vidcv.dataset.writer import DatasetWriter
from vidcv.detections import Detections
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline
from vidcv.presets import dump_preset
from vidcv.sinks.base import Sink
from vidcv.sources.base import Source

log = logging.getLogger(__name__)


def source_stem(spec: str) -> str:
    """A file-name-safe name for a source: the file stem, camera0, a host, pattern."""
    base = os.path.splitext(os.path.basename(spec.rstrip("/")))[0] or spec
    return re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_") or "source"


class SampledSource(Source):
    """Wraps a source and passes on only the frames the sampler keeps (the pipeline runs on those only)."""

    def __init__(self, inner: Source, sampler: Sampler) -> None:
        super().__init__(inner.spec)
        self.inner, self.sampler = inner, sampler
        self.live, self.seekable = inner.live, False
        self.fps, self.frame_count, self.size_wh = inner.fps, inner.frame_count, inner.size_wh

    def open(self) -> None:
        if self.inner.state in ("closed", ""):
            self.inner.open()
        self.fps, self.frame_count, self.size_wh = self.inner.fps, self.inner.frame_count, self.inner.size_wh
        self._set_state("open")

    def read(self) -> Frame | None:
        self.inner.stop_event = self.stop_event
        while (frame := self.inner.read()) is not None:
            if self.sampler.accept(frame.source_image, frame.pts_ms):
                return frame
        return None

    def close(self) -> None:
        self.inner.close()
        self._set_state("closed")


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


def provenance(source: Source, pipeline: Pipeline) -> dict:
    """What every manifest line records about how its labels were made."""
    preset = dump_preset(pipeline)
    keys = ("model", "cascade", "conf", "iou", "min_neighbors", "hit_threshold")
    models = []
    for i, stage in enumerate(pipeline.stages):
        settings = {k: v for k, v in stage.plugin.values().items() if k in keys}
        if settings and stage.enabled:
            models.append({"stage": pipeline.stage_name(i), **settings})
    return {"source": source.spec, "preset_sha256": hashlib.sha256(preset.encode()).hexdigest()[:16],
            "detectors": models}
