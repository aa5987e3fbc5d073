"""Per-frame detection log as JSON lines, in source-image pixels."""

from __future__ import annotations

import json

from vidcv.errors import OutputError
from vidcv.fileio import AtomicTextFile
from vidcv.frame import Frame
from vidcv.sinks.base import Sink, check_writable
from vidcv.status import merged_counts


class DetectionsLogSink(Sink):
    """One line per frame: ``{"frame", "pts_ms", "detections": [...]}`` (empty list when nothing was found).

    Each detection is a ``Detections.to_records`` record: box, confidence, class, ``track_id`` and the
    logged per-detection fields (a track stage's ``track_age`` and ``speed_px_s``, a pose model's
    ``keypoints``, an OBB model's ``obb``) and a segment model's ``polygon``. ``classification`` holds a
    classifier's top classes, ``counts`` what the stages report as counts on that frame (a count stage's
    running totals), when any does.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        check_writable(path)
        try:
            self._file = AtomicTextFile(path)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc} (choose another output path)") from None
        self.frames = 0

    def write(self, frame: Frame) -> None:
        line = {"frame": frame.index, "pts_ms": round(frame.pts_ms, 3), "detections": frame.detections.to_records()}
        if frame.classification is not None:
            line["classification"] = frame.classification.to_records()
        counts = merged_counts(frame.statuses.values())
        if counts:
            line["counts"] = counts
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.frames += 1

    def close(self) -> None:
        self._file.close()
