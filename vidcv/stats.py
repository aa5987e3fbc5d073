"""Timing statistics per stage and for a whole run; the same numbers feed the GUI, the CLI and JSON."""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidcv.status import SceneEvent, StageStatus


def percentile(values: np.ndarray, q: float) -> float:
    """Linear-interpolated percentile, as ``np.percentile`` computes it (without importing numpy.ma, which costs start-up time)."""
    ordered = np.sort(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


class DurationStats:
    """Timings of a run in bounded memory, however long it goes.

    The recent window is exact (a ring buffer of the last ``window`` values). The whole run keeps its count,
    sum, minimum and maximum, its first ``exact_limit`` values (so a short run's p95 is exact) and a fixed
    histogram with log-spaced buckets of 1 % width from 1 us to 10^7 ms: once a run has more values than
    ``exact_limit``, its p95 comes from the histogram (within 0.5 %), and the exact values are dropped.
    About 55 KB (32 KB of exact values, dropped later, and 23 KB of buckets), whatever the length of the run.
    """

    LOWEST_MS = 1e-3  #: the first bucket holds everything up to this
    STEP = 1.01  #: each bucket is 1 % wider than the one before
    BUCKETS = math.ceil(math.log(1e7 / LOWEST_MS) / math.log(STEP)) + 1  #: the last holds all above 10^7 ms

    def __init__(self, window: int = 120, exact_limit: int = 4096) -> None:
        self._recent: deque[float] = deque(maxlen=window)
        self._exact: array[float] | None = array("d")
        self._exact_limit = exact_limit
        self._buckets = array("q", bytes(8 * self.BUCKETS))  #: a count per bucket
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf
        self._lock = threading.Lock()

    @classmethod
    def bucket(cls, ms: float) -> int:
        """The histogram bucket of ``ms``: 0 up to LOWEST_MS, then one per 1 % step, the last one open-ended."""
        if not ms > cls.LOWEST_MS:  # NaN too
            return 0
        index = 1 + int(math.log(ms / cls.LOWEST_MS) * _PER_LOG_STEP)
        return index if index < cls.BUCKETS else cls.BUCKETS - 1

    @classmethod
    def bucket_value(cls, index: int) -> float:
        """The value a bucket stands for: the geometric middle of its range."""
        return cls.LOWEST_MS * cls.STEP ** (index - 0.5) if index > 0 else cls.LOWEST_MS / 2

    def add(self, ms: float) -> None:
        bucket = self.bucket(ms)
        with self._lock:
            self._recent.append(ms)
            self._count += 1
            self._sum += ms
            if ms < self._min:
                self._min = ms
            if ms > self._max:
                self._max = ms
            self._buckets[bucket] += 1
            if self._exact is not None:
                if len(self._exact) < self._exact_limit:
                    self._exact.append(ms)
                else:
                    self._exact = None  # from here on the histogram answers

    def count(self) -> int:
        return self._count

    def histogram(self) -> tuple[int, float, np.ndarray]:
        """(count, sum in ms, a copy of the per-bucket counts) over the whole run, read together (a metrics
        scrape from another thread)."""
        with self._lock:
            return self._count, self._sum, np.array(self._buckets, dtype=np.int64)

    @property
    def exact(self) -> bool:
        """True while the whole-run p95 is computed from every value (no more than ``exact_limit`` so far)."""
        return self._exact is not None

    def summary(self, recent: bool = False) -> tuple[float, float]:
        """(mean ms, p95 ms) over the whole run, or over the recent window."""
        with self._lock:
            if recent:
                values = np.asarray(self._recent, dtype=np.float64)
                return (float(values.mean()), percentile(values, 95)) if len(values) else (0.0, 0.0)
            if not self._count:
                return 0.0, 0.0
            mean = self._sum / self._count
            if self._exact is not None:
                return mean, percentile(np.frombuffer(self._exact, dtype=np.float64), 95)
            return mean, self._histogram_percentile(95)

    def _histogram_percentile(self, q: float) -> float:
        """The value at rank ``(count - 1) * q / 100``, as ``percentile`` ranks, from the histogram."""
        rank = (self._count - 1) * q / 100.0
        cumulative = np.cumsum(np.frombuffer(self._buckets, dtype=np.int64))
        index = int(np.searchsorted(cumulative, rank, side="right"))  # the first bucket holding more than rank
        return min(self._max, max(self._min, self.bucket_value(index)))


_PER_LOG_STEP = 1.0 / math.log(DurationStats.STEP)


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


class OutageMeter:
    """How often and how long a live source was away (a stream reconnecting), in bounded memory.

    ``away`` when the source starts retrying, ``back`` when it delivers again, ``ended`` when it gave up or
    closed; repeated calls of one kind count once. A first connection that needed retries counts too: the
    source was away for that long."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outages = 0
        self._reconnects = 0
        self._total_s = 0.0
        self._longest_s = 0.0
        self._since: float | None = None  #: when the current outage began

    def away(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._since is None:
                self._since = now
                self._outages += 1

    def back(self, now: float | None = None) -> None:
        with self._lock:
            if self._end(now):
                self._reconnects += 1

    def ended(self, now: float | None = None) -> None:
        with self._lock:
            self._end(now)

    def _end(self, now: float | None) -> bool:
        if self._since is None:
            return False
        lasted = max(0.0, (time.monotonic() if now is None else now) - self._since)
        self._total_s += lasted
        self._longest_s = max(self._longest_s, lasted)
        self._since = None
        return True

    def summary(self, now: float | None = None) -> OutageSummary:
        now = time.monotonic() if now is None else now
        with self._lock:
            current = max(0.0, now - self._since) if self._since is not None else 0.0
            return OutageSummary(
                self._outages,
                self._reconnects,
                self._total_s + current,
                max(self._longest_s, current),
                self._since is not None,
                current,
            )


@dataclass(frozen=True)
class OutageSummary:
    """A live source's outages so far: the current one (``away``, for ``current_s``) is counted in the totals."""

    outages: int  #: times the source went away (a first connection that needed retries included)
    reconnects: int  #: times it came back
    total_s: float  #: time away in all
    longest_s: float  #: the longest outage
    away: bool = False  #: away now (reconnecting)
    current_s: float = 0.0  #: how long the current outage has lasted (0 while the source delivers)


class StageStats:
    """Counters and timings of one pipeline stage."""

    def __init__(self) -> None:
        self.frames_in = 0
        self.frames_out = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_error_frame: int | None = None
        self.durations = DurationStats()
        self.events: dict[str, int] = {}  #: scene events reported, by kind

    def count_events(self, events: Iterable[SceneEvent]) -> None:
        for event in events:
            self.events[event.kind.value] = self.events.get(event.kind.value, 0) + 1

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
    events: dict[str, int] = field(default_factory=dict)  #: scene events the stage reported, by kind

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
    source_outages: OutageSummary | None = None  #: live sources: reconnections and time away
    #: how the source's frames were decoded: ``bgr`` (colour, the stages convert: exact) or ``luma`` (gray
    #: straight from a video file's luma plane, the opt-in ``decode: luma``)
    decode: str = "bgr"

    @property
    def events(self) -> dict[str, int]:
        """Scene events all stages reported, by kind."""
        total: dict[str, int] = {}
        for stage in self.stages:
            for kind, n in stage.events.items():
                total[kind] = total.get(kind, 0) + n
        return dict(sorted(total.items()))

    def to_dict(self) -> dict[str, Any]:
        """The ``--stats-json`` document: per stage also what it reported (``provider``, ``counts``, ``state``)."""
        doc: dict[str, Any] = {
            "frames": self.frames,
            "frames_read": self.frames_read,
            "wall_s": round(self.wall_s, 4),
            "fps": round(self.fps, 3),
            "dropped": self.dropped,
            "source_fps": round(self.source_fps, 3),
            "decode": self.decode,
            "stages": [
                {
                    "name": s.name,
                    "plugin": s.plugin,
                    "enabled": s.enabled,
                    "fps": round(s.fps, 3),
                    "ms_mean": round(s.ms_mean, 4),
                    "ms_p95": round(s.ms_p95, 4),
                    "frames_in": s.frames_in,
                    "frames_out": s.frames_out,
                    "errors": s.errors,
                    "last_error": s.last_error,
                    **(s.status.to_dict() if s.status else {}),
                    **({"events": dict(s.events)} if s.events else {}),
                }
                for s in self.stages
            ],
        }
        if self.events:
            doc["events"] = self.events
        if self.frame_age_ms_mean is not None:
            doc["frame_age_ms_mean"] = round(self.frame_age_ms_mean, 3)
            doc["frame_age_ms_p95"] = round(self.frame_age_ms_p95 or 0.0, 3)
        if self.source_outages is not None:
            o = self.source_outages
            doc.update(
                outages=o.outages,
                reconnects=o.reconnects,
                outage_s_total=round(o.total_s, 3),
                outage_s_longest=round(o.longest_s, 3),
            )
        return doc


def format_table(summary: RunSummary) -> str:
    """The per-stage timing table printed at the end of a CLI run."""
    rows = [("stage", "plugin", "frames", "errors", "mean ms", "p95 ms", "fps")]
    for s in summary.stages:
        name = s.name + ("" if s.enabled else " (off)") + (f" [{s.provider}]" if s.provider else "")
        rows.append(
            (name, s.plugin, str(s.frames_in), str(s.errors), f"{s.ms_mean:.2f}", f"{s.ms_p95:.2f}", f"{s.fps:.1f}")
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths))) for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if not summary.stages:
        lines = ["(no stages: frames passed through unchanged)"]
    total = f"{summary.frames} frames in {summary.wall_s:.2f} s = {summary.fps:.1f} fps, {summary.dropped} dropped"
    if summary.frame_age_ms_mean is not None:
        total += f", frame age {summary.frame_age_ms_mean:.1f} ms mean / {summary.frame_age_ms_p95:.1f} ms p95"
    if summary.source_outages is not None and summary.source_outages.outages:
        o = summary.source_outages
        total += (
            f", source away {o.outages} time{'s' if o.outages != 1 else ''} for {o.total_s:.1f} s "
            f"(longest {o.longest_s:.1f} s), {o.reconnects} reconnected"
        )
    return "\n".join([*lines, total])
