"""Timing statistics per stage and for a whole run; the same numbers feed the GUI, the CLI and JSON."""

from __future__ import annotations

import threading
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidcv.status import StageStatus


def percentile(values: np.ndarray, q: float) -> float:
    """Linear-interpolated percentile, as ``np.percentile`` computes it (which imports numpy.ma: 7 ms)."""
    ordered = np.sort(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def _mean_p95(samples: Any) -> tuple[float, float]:
    if not len(samples):
        return 0.0, 0.0
    arr = np.frombuffer(samples, dtype=np.float64) if isinstance(samples, array) else np.asarray(samples)
    return float(arr.mean()), percentile(arr, 95)


class DurationStats:
    """Every duration of a run (8 bytes a frame) plus a recent window for live readouts."""

    def __init__(self, window: int = 120) -> None:
        self._all = array("d")
        self._recent: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    def add(self, ms: float) -> None:
        with self._lock:
            self._all.append(ms)
            self._recent.append(ms)

    def count(self) -> int:
        return len(self._all)

    def summary(self, recent: bool = False) -> tuple[float, float]:
        """(mean ms, p95 ms) over the whole run, or over the recent window."""
        with self._lock:
            data = list(self._recent) if recent else array("d", self._all)
        return _mean_p95(data)


class RateMeter:
    """Events per second over the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 2.0) -> None:
        self._times: deque[float] = deque()
        self._window = window_s
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times.append(now)
            while self._times and now - self._times[0] > self._window:
                self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._times and now - self._times[0] > self._window:
                self._times.popleft()
            if len(self._times) < 2:
                return 0.0
            span = max(now - self._times[0], self._times[-1] - self._times[0])
            return (len(self._times) - 1) / span if span > 0 else 0.0


class StageStats:
    """Counters and timings of one pipeline stage."""

    def __init__(self) -> None:
        self.frames_in = 0
        self.frames_out = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_error_frame: int | None = None
        self.durations = DurationStats()

    def record(self, ms: float, ok: bool) -> None:
        self.frames_in += 1
        if ok:
            self.frames_out += 1
        self.durations.add(ms)


@dataclass
class StageSummary:
    """One row of the per-stage table. ``fps`` is what this stage alone could sustain (1000 / mean ms)."""

    name: str
    plugin: str
    enabled: bool
    frames_in: int
    frames_out: int
    errors: int
    ms_mean: float
    ms_p95: float
    fps: float
    last_error: str | None = None
    status: StageStatus | None = None  #: what the stage reported on its last frame (provider, counts, state)

    @property
    def provider(self) -> str:
        """What a model stage runs on (CPU, CUDA, TENSORRT); empty for others."""
        return self.status.provider if self.status else ""


@dataclass
class RunSummary:
    """Totals of a run (or the recent state of a live one)."""

    frames: int
    frames_read: int
    wall_s: float
    fps: float
    dropped: int
    source_fps: float
    frame_age_ms_mean: float | None
    frame_age_ms_p95: float | None
    stages: list[StageSummary] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``--stats-json`` document: per stage also what it reported (``provider``, ``counts``, ``state``)."""
        doc: dict[str, Any] = {
            "frames": self.frames, "frames_read": self.frames_read, "wall_s": round(self.wall_s, 4),
            "fps": round(self.fps, 3), "dropped": self.dropped, "source_fps": round(self.source_fps, 3),
            "stages": [{"name": s.name, "plugin": s.plugin, "enabled": s.enabled, "fps": round(s.fps, 3),
                        "ms_mean": round(s.ms_mean, 4), "ms_p95": round(s.ms_p95, 4),
                        "frames_in": s.frames_in, "frames_out": s.frames_out, "errors": s.errors,
                        "last_error": s.last_error, **(s.status.to_dict() if s.status else {})}
                       for s in self.stages],
        }
        if self.frame_age_ms_mean is not None:
            doc["frame_age_ms_mean"] = round(self.frame_age_ms_mean, 3)
            doc["frame_age_ms_p95"] = round(self.frame_age_ms_p95 or 0.0, 3)
        return doc


def format_table(summary: RunSummary) -> str:
    """The per-stage timing table printed at the end of a CLI run."""
    rows = [("stage", "plugin", "frames", "errors", "mean ms", "p95 ms", "fps")]
    for s in summary.stages:
        name = s.name + ("" if s.enabled else " (off)") + (f" [{s.provider}]" if s.provider else "")
        rows.append((name, s.plugin, str(s.frames_in), str(s.errors),
                     f"{s.ms_mean:.2f}", f"{s.ms_p95:.2f}", f"{s.fps:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if not summary.stages:
        lines = ["(no stages: frames passed through unchanged)"]
    total = (f"{summary.frames} frames in {summary.wall_s:.2f} s = {summary.fps:.1f} fps"
             f", {summary.dropped} dropped")
    if summary.frame_age_ms_mean is not None:
        total += f", frame age {summary.frame_age_ms_mean:.1f} ms mean / {summary.frame_age_ms_p95:.1f} ms p95"
    return "\n".join([*lines, total])
