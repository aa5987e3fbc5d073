"""Labelling assists of the dataset view that need no labelled data: proposals from a pipeline's detectors, boxes
carried forward through the source video (``propagate``), and a box turned into a polygon (``segment``).

Each writes through the ``LabelSession`` and never overwrites a label a person made or accepted
(``merge_proposals``): what it makes stays unreviewed, with its origin in the manifest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np

from vidcv.dataset.editor import REVIEWED, UNREVIEWED, FrameRef, LabelSession, labels_from_detections, merge_proposals
from vidcv.dataset.existing import DatasetError
from vidcv.dataset.labels import Label
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline
from vidcv.presets import dump_preset, parse_preset

PROPAGATED = "propagate"


def read_image(frame: FrameRef) -> np.ndarray:
    """The frame's image (BGR); DatasetError naming the file when it does not decode."""
    image = cv2.imread(frame.image, cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"cannot read {frame.image}: restore the image, or reject the frame")
    return image


class Proposer:
    """Labels proposed by a pipeline's detectors for one image at a time. It runs its own copy of the pipeline
    (the window's keeps running on the live source meanwhile)."""

    def __init__(self, pipeline: Pipeline, min_confidence: float = 0.25) -> None:
        self.pipeline = parse_preset(dump_preset(pipeline), origin="the window's pipeline")
        self.min_confidence = min_confidence
        stages = [self.pipeline.stage_name(i) for i, s in enumerate(self.pipeline.stages) if s.enabled]
        self.origin = "model:" + ",".join(self._models() or stages)

    def _models(self) -> list[str]:
        models = []
        for stage in self.pipeline.stages:
            model = stage.plugin.values().get("model")
            if stage.enabled and isinstance(model, str) and model:
                models.append(os.path.basename(model))
        return models

    def labels(self, image: np.ndarray, names: list[str]) -> list[Label]:
        """The detections on ``image`` at or above ``min_confidence`` as labels (new class names appended to
        ``names``)."""
        out = self.pipeline.process(Frame(image=image.copy(), index=0, pts_ms=0.0))
        dets = out.detections
        if len(dets):
            dets = dets[dets.confidence >= self.min_confidence]
        return labels_from_detections(dets, names, self.origin)

    def close(self) -> None:
        self.pipeline.close()


def propose(session: LabelSession, proposer: Proposer, frames: list[FrameRef]) -> Iterator[tuple[FrameRef, int]]:
    """Proposals for ``frames`` (reviewed and rejected ones are skipped), saved as they come: yields each frame
    changed and its number of new labels, so that a caller can show progress and stop between frames."""
    for frame in frames:
        if frame.status != UNREVIEWED:
            continue
        image = read_image(frame)
        size = (image.shape[1], image.shape[0])
        names = list(session.names)
        proposed = proposer.labels(image, names)
        for name in names[len(session.names) :]:
            session.add_class(name)
        current = session.read_labels(frame, size)
        merged = merge_proposals(current, proposed, frame.status)
        if merged != current:
            session.save(frame, merged, size)
        yield frame, len([lab for lab in merged if lab not in current])


@dataclass(frozen=True)
class Origin:
    """Where a dataset frame came from: its source video and frame index (from the manifest)."""

    source: str
    index: int


def origin_of(session: LabelSession, frame: FrameRef) -> Origin | None:
    """The video and frame index the manifest records for ``frame`` (None when it records none)."""
    entry = session.history.get(frame.name, {})
    source, index = entry.get("source_path") or entry.get("source"), entry.get("frame")
    if not isinstance(source, str) or not isinstance(index, int):
        return None
    return Origin(source, index)


def find_video(session: LabelSession, source: str) -> str | None:
    """The file ``source`` names, where it can be found: as recorded (absolute, or relative to the working
    folder), beside the dataset, or in the dataset's parent folder."""
    candidates = [source, os.path.join(session.root, source), os.path.join(os.path.dirname(session.root), source)]
    candidates.append(os.path.join(os.path.dirname(session.root), os.path.basename(source)))
    return next((os.path.abspath(c) for c in candidates if os.path.isfile(c) or os.path.isdir(c)), None)


def later_frames(session: LabelSession, frame: FrameRef, origin: Origin) -> dict[int, FrameRef]:
    """The dataset's frames from the same source after ``frame``, by source frame index."""
    later = {}
    for other in session.frames:
        o = origin_of(session, other)
        if o is not None and o.source == origin.source and o.index > origin.index and other.status != "rejected":
            later[o.index] = other
    return later


@dataclass
class PropagationReport:
    frames: int = 0  #: dataset frames given proposals
    lost_at: dict[int, int | None] | None = None  #: per box, the source frame it was lost at (None: never)


def propagate_labels(
    session: LabelSession,
    frame: FrameRef,
    labels: list[Label],
    video: str | None = None,
    max_frames: int = 300,
    cancel: Callable[[], bool] | None = None,
    progress: Callable[[FrameRef], None] | None = None,
) -> PropagationReport:
    """Carry ``labels`` (made on ``frame``) forward through the source video to the dataset's later frames of
    that video, as unreviewed proposals (origin ``propagate``), until each box is lost. ``video`` overrides
    where the source is looked for."""
    from vidcv.dataset.propagate import propagate

    origin = origin_of(session, frame)
    if origin is None:
        raise DatasetError(
            f"{frame.name} does not record the video and frame it came from: propagate from a frame that "
            "vidcv extract or Add frame put in the dataset"
        )
    path = video or find_video(session, origin.source)
    if path is None:
        raise DatasetError(f"the source of {frame.name}, {origin.source}, is not found: give its file")
    targets = later_frames(session, frame, origin)
    report = PropagationReport(lost_at=dict.fromkeys(range(len(labels))))
    if not targets or not labels:
        return report
    boxes = np.array([lab.box for lab in labels], np.float64)
    lost = report.lost_at or {}
    for step in propagate(path, origin.index, boxes, frames=sorted(targets), max_frames=max_frames, cancel=cancel):
        for i, alive in enumerate(step.alive):
            if not alive and lost[i] is None:
                lost[i] = step.index
        target = targets[step.index]
        if target.status == REVIEWED:
            continue
        carried = [
            replace(labels[i], origin=PROPAGATED, polygon=(), keypoints=()).with_box(tuple(step.boxes[i]))
            for i in range(len(labels))
            if step.alive[i]
        ]
        image = read_image(target)
        size = (image.shape[1], image.shape[0])
        current = session.read_labels(target, size)
        merged = merge_proposals(current, carried, target.status)
        if merged != current:
            session.save(target, merged, size)
        report.frames += 1
        if progress is not None:
            progress(target)
    return report


def to_polygon(image: np.ndarray, label: Label) -> Label:
    """``label`` with the outline grabCut finds in its box (``segment.box_to_polygon``), origin ``grabcut``."""
    from vidcv.dataset.segment import box_to_polygon

    polygon = box_to_polygon(image, label.box)
    return replace(label, origin="grabcut").with_polygon(np.asarray(polygon).reshape(-1, 2).tolist())
