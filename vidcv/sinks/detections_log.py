"""Per-frame detection log as JSON lines, in source-image pixels."""

from __future__ import annotations

import json
import os

from vidcv.frame import Frame
from vidcv.sinks.base import Sink
from vidcv.sinks.video import _ensure_dir, partial_name


class DetectionsLogSink(Sink):
    """One line per frame: ``{"frame", "pts_ms", "detections": [...]}`` (empty list when nothing was found)."""

    def __init__(self, path: str) -> None:
        _ensure_dir(path)
        self.path = path
        self._tmp = partial_name(path)
        self._fh = open(self._tmp, "w", encoding="utf-8")
        self.frames = 0

    def write(self, frame: Frame) -> None:
        line = {"frame": frame.index, "pts_ms": round(frame.pts_ms, 3), "detections": frame.detections.to_records()}
        if "tracks" in frame.meta:  # a track stage's age (frames) and speed (px/s) per track id
            line["tracks"] = {str(tid): {"age": t["age"], "speed_px_s": round(t["speed_px_s"], 2)}
                              for tid, t in frame.meta["tracks"].items()}
        if "counts" in frame.meta:  # a count stage's running totals
            line["counts"] = frame.meta["counts"]
        self._fh.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.frames += 1

    def close(self) -> None:
        if self._fh.closed:
            return
        self._fh.close()
        os.replace(self._tmp, self.path)
