"""Extraction: a source through a pipeline; sampled original frames and their detections into a dataset."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from vidcv.dataset.classify import ClassifyWriter
from vidcv.dataset.existing import DatasetError, clean_name, read_data_yaml
from vidcv.dataset.formats import FORMATS
from vidcv.dataset.sampling import Sampler
from vidcv.dataset.select import SelectionSink, check_select, confidence_threshold
from vidcv.dataset.writer import Dataset, DatasetWriter
from vidcv.detections import Classification, Detections
from vidcv.errors import VidcvError
from vidcv.events import SourceState
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline
from vidcv.plugin import Produces
from vidcv.presets import dump_preset
from vidcv.redact import redact
from vidcv.sinks.base import Sink
from vidcv.sources.base import Source, StateReport

if TYPE_CHECKING:
    from vidcv.runner import Runner

log = logging.getLogger(__name__)


_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
DIGEST_CHARS = 8  #: hex digits of the source's digest in its frames' names


def source_identity(spec: str) -> str:
    """What names a source from run to run: the absolute path of a file, folder or pattern of images; a URL
    without its credentials; a camera or test pattern as given."""
    if spec.startswith(("pattern:", "camera:")) or spec.isdigit():
        return spec
    scheme = _SCHEME.match(spec)
    if scheme and scheme[1].lower() != "file":
        return redact(spec)
    path = spec[len("file://") :] if scheme else spec
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def source_stem(spec: str) -> str:
    """The file-name-safe prefix of a source's frames: a readable stem (the file's, camera0, a host, pattern;
    never its credentials) and a short digest of the source's identity, so that ``a/clip.mp4`` and
    ``b/clip.mp4`` never share a name and the same source always gets the same one: ``clip_1f3a9c0b``."""
    identity = source_identity(spec)
    base = os.path.splitext(os.path.basename(identity.rstrip("/")))[0] or identity
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_")[:48] or "source"
    return f"{stem}_{hashlib.sha256(identity.encode('utf-8', 'surrogateescape')).hexdigest()[:DIGEST_CHARS]}"


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
        return self.of_classes(dets[dets.confidence >= self.min_conf])

    def of_classes(self, dets: Detections) -> Detections:
        """The detections of the classes ``--classes`` lets through, whatever their confidence."""
        if self.classes is None or not len(dets):
            return dets
        return dets[np.array([self.wanted(dets.class_name(c)) for c in dets.class_id], dtype=bool)]

    def wanted(self, name: str) -> bool:
        """Whether ``--classes`` lets class ``name`` through (as the detector or the dataset spells it)."""
        return self.classes is None or name in self.classes or clean_name(name) in self.classes

    def select_class(self, found: Classification | None) -> Classification | None:
        """A classifier's result when its top class passes the filters, else None."""
        if found is None or not len(found) or found.confidence[0] < self.min_conf:
            return None
        if not self.wanted(found.class_name(found.class_id[0])):
            return None
        return found


class DatasetSink(Sink):
    """Writes the original frame and the filtered detections (or class) of every frame it receives."""

    needs_color_source = True

    def __init__(
        self, writer: Dataset, labels: LabelFilter, stem: str, provenance: dict, owns_writer: bool = True
    ) -> None:
        self.writer, self.labels, self.stem, self.provenance = writer, labels, stem, provenance
        self.owns_writer = owns_writer  #: False: the writer outlives this run (several inputs, one session)

    def write(self, frame: Frame) -> None:
        self.keep(frame.index, frame.pts_ms, frame.source_image, frame.detections, frame.classification)

    def keep(
        self,
        index: int,
        pts_ms: float,
        image: np.ndarray,
        detections: Detections,
        classification: Classification | None,
        select: dict | None = None,
    ) -> None:
        """File one frame (its original image) with the detections and class that pass the filters. A frame
        chosen by ``--select`` (``select``: its manifest record) is filed also without any, past --negatives."""
        dets = self.labels.select(detections)
        found = self.labels.select_class(classification)
        if select is None and not self.writer.has_labels(dets, found):
            # the quota counts the whole dataset, so a resumed or repeated run keeps the same ratio
            w = self.writer
            allowed = self.labels.negatives * max(1, w.total_positives) if w.takes_negatives else 0
            if w.total_negatives + 1 > allowed:
                why = "negative over ratio" if self.writer.takes_negatives else "nothing to file"
                self.labels.skipped[why] = self.labels.skipped.get(why, 0) + 1
                return
        info = {**self.provenance, "frame": index, "pts_ms": round(pts_ms, 3)}
        if select is not None:
            info["select"] = select
        if self.writer.add(self.stem, index, image, dets, info, found) is None:
            self.labels.skipped["already in dataset"] += 1

    def close(self) -> None:
        if self.owns_writer:
            self.writer.close()


def open_dataset(
    root: str,
    fmt: str | None = None,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    split_by: str = "chunk",
    seed: int = 0,
    crops: bool = False,
    merge: bool = False,
) -> Dataset:
    """The writer of the dataset at ``root`` in ``fmt`` (None: the format it already has, else yolo).
    A folder that is not a vidcv dataset is refused unless ``merge``. Nothing is written until it is opened
    or a frame is added."""
    if fmt is None:
        existing = read_data_yaml(os.path.abspath(root)) if os.path.isdir(root) else {}
        fmt = existing.get("vidcv_format") if existing.get("vidcv_format") in FORMATS else "yolo"
    if fmt == "classify":
        return ClassifyWriter(root, ratios, split_by, seed, crops, merge)
    if crops:
        raise DatasetError("--crops cuts detections out for --format classify; add --format classify")
    return DatasetWriter(root, fmt, ratios, split_by, seed, merge)


def check_labels(pipeline: Pipeline, writer: Dataset, options: ExtractOptions) -> None:
    """Refuse a pipeline that cannot label what this format needs (nothing kept but empty frames)."""
    produces = pipeline.produces()
    if isinstance(writer, ClassifyWriter) and not writer.crops:
        if Produces.CLASSIFICATION not in produces:
            raise DatasetError(
                "--format classify files whole frames by a classifier's top class, and this pipeline "
                "has no classifier: add a yolo stage with a classify model, or pass --crops to cut "
                "out the detections of its detectors"
            )
    elif Produces.DETECTIONS not in produces:
        if options.negatives_only:
            return
        raise DatasetError(
            "this pipeline has no stage that finds objects (yolo, haar, hog, contours with emit, "
            "roi_track), so every label would be empty: add a detector, or pass --negatives-only "
            "to collect frames without objects on purpose"
        )
    elif options.negatives_only:
        raise DatasetError(
            "--negatives-only collects frames of a pipeline without detectors, and this one finds "
            "objects: drop the detector stages or --negatives-only"
        )


def detector_settings(pipeline: Pipeline) -> list[dict[str, Any]]:
    """The enabled stages that say how labels were made (a model, a cascade, thresholds), with those values."""
    models = []
    for i, stage in enumerate(pipeline.stages):
        keys = stage.plugin.provenance_params()
        settings = {k: v for k, v in stage.plugin.values().items() if k in keys}
        if settings and stage.enabled:
            models.append({"stage": pipeline.stage_name(i), **settings})
    return models


def source_path(spec: str) -> dict[str, str]:
    """``{"source_path": ABSOLUTE}`` for a source that is a file or folder here (the dataset view propagates
    boxes through it from any working folder), else nothing."""
    return {"source_path": os.path.abspath(spec)} if spec and os.path.exists(spec) else {}


def provenance(source: Source, pipeline: Pipeline) -> dict:
    """What every manifest line records about how its labels were made, and where its frames came from."""
    preset = dump_preset(pipeline)
    return {
        "source": source.label,
        **source_path(source.spec),
        "preset_sha256": hashlib.sha256(preset.encode()).hexdigest()[:16],
        "detectors": detector_settings(pipeline),
    }


@dataclass
class ExtractOptions:
    """Everything `vidcv extract` and the GUI's Extract dialog can set."""

    out: str
    fmt: str | None = None  #: None: the dataset's own format, else yolo
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
    crops: bool = False  #: classify: cut every detection out into its class folder
    negatives_only: bool = False  #: a pipeline without detectors on purpose: every kept frame is a negative
    merge: bool = False  #: add to a folder vidcv did not make, or new classes to a dataset
    select: str = ""  #: --select: uncertain, diverse or uncertain+diverse ("": every sampled frame)
    budget: int | None = None  #: --budget: the frames --select keeps (per source)


@dataclass
class Extraction:
    """A prepared run: start ``runner``; ``writer``, ``sampler`` and ``labels`` count what was kept and why not."""

    runner: Runner
    writer: Dataset
    sampler: Sampler
    labels: LabelFilter
    selection: SelectionSink | None = None  #: --select: the run is its pass 1, its end pass 2

    def skipped(self) -> dict[str, int]:
        chosen = self.selection.outcome.skipped if self.selection is not None else {}
        return {**self.sampler.skipped, **chosen, **self.labels.skipped}

    def summary(self) -> str:
        w = self.writer
        kept = ", ".join(f"{k} {v}" for k, v in w.kept.items())
        lines = [
            f"kept {sum(w.kept.values())} frames ({kept}; {w.positives} with labels, {w.negatives} negatives); "
            "skipped: " + ", ".join(f"{k} {v}" for k, v in self.skipped().items())
        ]
        if w.unlabelled:
            why = "without keypoints" if w.fmt == "yolo-pose" else "too small to crop"
            lines.append(f"left out {w.unlabelled} detections {why} (the format cannot hold them)")
        if self.selection is not None and not self.runner.running:
            lines.append(self.selection.outcome.line())
        note = w.split_note()
        return "\n".join(lines + ([note] if note else []))


def prepare(source_spec: str, pipeline: Pipeline, options: ExtractOptions) -> Extraction:
    """Open the source and the dataset; errors (bad options, a source that does not open) raise here."""
    writer = open_writer(pipeline, options)
    job = prepare_input(source_spec, pipeline, writer, options, owns_writer=True)
    try:
        writer.open()  # the lock: held until the sink closes at the end of the run
    except BaseException:
        job.runner.source.close()
        raise
    return job


def open_writer(pipeline: Pipeline, options: ExtractOptions) -> Dataset:
    """The dataset of ``options.out`` checked against the options and the pipeline (nothing written yet)."""
    from vidcv.dataset.writer import parse_split

    if options.every < 1:
        raise VidcvError(f"--every must be at least 1, got {options.every}")
    check_select(options.select, options.budget)
    writer = open_dataset(
        options.out,
        options.fmt,
        parse_split(options.split),
        options.split_by,
        options.seed,
        options.crops,
        options.merge,
    )
    check_labels(pipeline, writer, options)
    if options.select:
        check_select_fits(writer, options)
    return writer


def check_select_fits(writer: Dataset, options: ExtractOptions) -> None:
    """Refuse what --select cannot go with: a layout without empty labels, a ratio it bypasses, no detector to
    be uncertain about."""
    if isinstance(writer, ClassifyWriter):
        raise DatasetError(
            "--select keeps frames whether or not anything was found in them, and the classify layout has no "
            "place for a frame without a class: use --format yolo (or another with label files), or drop --select"
        )
    if options.negatives:
        raise DatasetError(
            "--select keeps its --budget frames with or without detections (an empty label for a frame without), "
            "so --negatives does not apply: drop --negatives"
        )
    if options.negatives_only and options.select != "diverse":
        raise DatasetError(
            f"--select {options.select} scores the detectors' hesitations, and a --negatives-only pipeline has "
            "none: use --select diverse"
        )


def prepare_input(
    source_spec: str, pipeline: Pipeline, writer: Dataset, options: ExtractOptions, owns_writer: bool
) -> Extraction:
    """One source into ``writer``: its sampler, filter, sink and runner, the source opened (a source that does
    not open raises here) and the split's run length set from its length. ``owns_writer``: the sink closes
    the writer at the end of the run (one source), else the caller does (several)."""
    from vidcv.runner import Runner
    from vidcv.sources import parse_source

    sampler = Sampler(options.every, options.fps, options.dedupe, options.min_sharpness)
    inner = parse_source(source_spec)
    if options.select and not inner.seekable:
        raise VidcvError(
            f"--select reads {inner.label} twice (scores, then the chosen frames), and a camera, stream or test "
            "pattern cannot be read again: record it first (vidcv run SOURCE -o clip.mp4) and select from the file"
        )
    source = SampledSource(inner, sampler)
    classes = {c.strip() for c in options.classes.split(",") if c.strip()} or None
    labels = LabelFilter(classes, options.min_conf, float("inf") if options.negatives_only else options.negatives)
    sink = DatasetSink(writer, labels, source_stem(source_spec), provenance(inner, pipeline), owns_writer)
    selection = None
    if options.select:
        assert options.budget is not None  # check_select refused a --select without --budget
        threshold = confidence_threshold(pipeline, options.min_conf)
        reopen = partial(parse_source, source_spec)
        selection = SelectionSink(options.select, options.budget, threshold, labels.of_classes, sink, reopen)
    runner = Runner(source, pipeline, [selection or sink], max_frames=options.max_frames)
    if selection is not None:
        selection.runner = runner
    runner.open()  # a source that does not open raises here, before anything is written
    writer.set_length(None if inner.live else inner.frame_count)
    return Extraction(runner, writer, sampler, labels, selection)
