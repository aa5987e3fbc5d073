"""Pipeline: an ordered list of plugin stages, edited from any thread and run against a consistent snapshot."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidcv.events import StageError
from vidcv.frame import Frame
from vidcv.plugin import InputColor, Plugin, Produces
from vidcv.stats import StageStats, StageSummary
from vidcv.status import StageStatus

log = logging.getLogger(__name__)

_NUMBERS = re.compile(r"0x[0-9a-fA-F]+|\d+(?:\.\d+)?")


def error_kind(message: str) -> str:
    """A stage's error message with its numbers masked: the same failure on every frame ("index 37 is out of
    bounds", "index 38 ...") is one kind of error, logged once."""
    return _NUMBERS.sub("#", message)


@dataclass(eq=False)
class Stage:
    """One plugin in a pipeline, enabled or bypassed, with its own statistics."""

    plugin: Plugin
    enabled: bool = True
    stats: StageStats = field(default_factory=StageStats)
    last_status: StageStatus | None = None  #: what the plugin reported on the last frame it processed

    @property
    def plugin_name(self) -> str:
        return self.plugin.name


#: how frames of a video file reach the pipeline (``Pipeline.decode``, a preset's ``decode:``)
DECODES = ("bgr", "luma")


class Pipeline:
    """Thread-safe ordered stages.

    Structural edits (add, insert, remove, move, set_stages) replace an immutable tuple of stages, which
    ``process`` takes once per frame; enabling or bypassing flips a stage's flag, which ``process`` reads
    once per stage per frame; parameter edits are queued in each plugin and applied before the frame. So
    one frame always sees one consistent configuration, whatever other threads do meanwhile.
    """

    def __init__(self, stages: Iterable[Stage | Plugin] = (), description: str = "", decode: str = "bgr") -> None:
        self.description = description  # one line that says what the pipeline does (kept in its preset)
        if decode not in DECODES:
            raise ValueError(f"decode must be one of {', '.join(DECODES)}, got {decode!r}")
        #: how a video file is decoded for this pipeline (kept in its preset): ``bgr``, the default, decodes
        #: colour and lets the first stage convert (the same pixels as OpenCV everywhere: the window, the command
        #: line, the exported script); ``luma``, opt-in, takes gray straight from the file's luma plane when the
        #: first stage works on gray (faster, not bit-equal on saturated colours: see ``accepts_gray_source``)
        self.decode = decode
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()  #: stage statistics, recorded by every processing thread
        self._stages: tuple[Stage, ...] = tuple(s if isinstance(s, Stage) else Stage(s) for s in stages)
        self._reported: set[tuple[int, str]] = set()  #: (stage, kind of error) already logged
        self._reset_requested = False

    # --- editing (any thread) -----------------------------------------------------------------------
    @property
    def stages(self) -> tuple[Stage, ...]:
        return self._stages

    def __len__(self) -> int:
        return len(self._stages)

    def add(self, plugin: Plugin, enabled: bool = True, index: int | None = None) -> Stage:
        stage = Stage(plugin, enabled)
        with self._lock:
            items = list(self._stages)
            items.insert(len(items) if index is None else index, stage)
            self._stages = tuple(items)
        return stage

    def set_stages(self, stages: Iterable[Stage]) -> None:
        """Replace every stage at once (loading a preset into a running pipeline)."""
        with self._lock:
            self._stages = tuple(stages)

    def insert(self, index: int, stage: Stage) -> None:
        """Put an existing stage at ``index`` (duplicating, undoing a removal)."""
        with self._lock:
            items = list(self._stages)
            items.insert(index, stage)
            self._stages = tuple(items)

    def remove(self, index: int) -> Stage:
        with self._lock:
            items = list(self._stages)
            stage = items.pop(index)
            self._stages = tuple(items)
        return stage

    def move(self, src: int, dst: int) -> None:
        with self._lock:
            items = list(self._stages)
            items.insert(dst, items.pop(src))
            self._stages = tuple(items)

    def set_enabled(self, index: int, enabled: bool) -> None:
        with self._lock:
            self._stages[index].enabled = bool(enabled)

    def set_param(self, index: int, name: str, value: Any) -> None:
        """Validate at once; the value takes effect before the next frame."""
        self._stages[index].plugin.set_param(name, value)

    def accepts_gray_source(self) -> bool:
        """Whether the stages can take gray from the decoder instead of colour: the first enabled stage works on
        gray (``InputColor.GRAY``) and no enabled stage reads the colour original (``source_image``). Gray from
        a file's luma plane is close to, not equal to, that stage's own conversion of the colour decode (the
        BGR decode clips saturated colours, the luma plane does not): runs take it only when asked
        (``decode == "luma"``)."""
        plugins = [stage.plugin for stage in self._stages if stage.enabled]
        return (
            bool(plugins)
            and plugins[0].input_color() is InputColor.GRAY
            and not any(plugin.reads_source_image() for plugin in plugins)
        )

    def produces(self) -> Produces:
        """What the enabled stages add to the frame besides its image, together (``Plugin.produces``)."""
        found = Produces.NOTHING
        for stage in self._stages:
            if stage.enabled:
                found |= stage.plugin.produces()
        return found

    def parallel_safe(self) -> bool:
        """Whether frames may go through this pipeline several at once (each in its own thread): every
        enabled stage is stateless and allows it (``Plugin.stateful``, ``Plugin.parallel_frames``). The
        pipeline must then not be edited while it runs (the command line's case)."""
        plugins = [stage.plugin for stage in self._stages if stage.enabled]
        return bool(plugins) and all(not p.stateful and p.parallel_frames for p in plugins)

    def stage_name(self, index: int) -> str:
        """Display name: the plugin name, numbered when it occurs more than once (``blur#2``)."""
        stages = self._stages
        name = stages[index].plugin_name
        same = [i for i, s in enumerate(stages) if s.plugin_name == name]
        return name if len(same) == 1 else f"{name}#{same.index(index) + 1}"

    # --- running (processing thread) -----------------------------------------------------------------
    def process(self, frame: Frame, on_error: Callable[[StageError], None] | None = None) -> Frame:
        """Run every enabled stage on ``frame``; a stage that raises is counted in its statistics, logged
        once per kind of error (``error_kind``), passed to ``on_error`` (the runner publishes it) and
        bypassed. What each stage reports (``Plugin.status``) lands in ``frame.statuses`` under the stage's
        display name."""
        return self.process_batch([frame], on_error)[0]

    def batch_frames(self, asked: int | None = None) -> int:
        """How many frames a run of a file gathers for ``process_batch``: the most any enabled stage takes per
        call (``Plugin.batch_frames``, with the run's request ``asked``); 1: one frame at a time."""
        sizes = [self._batch_size(stage.plugin, asked) for stage in self._stages if stage.enabled]
        return max(sizes, default=1)

    def process_batch(
        self, frames: list[Frame], on_error: Callable[[StageError], None] | None = None, asked: int | None = None
    ) -> list[Frame]:
        """``process`` for consecutive frames, in order, with the same results: each enabled stage runs over
        the whole list before the next one, in order (a stateful stage sees the frames as ``process`` would
        show them), and a stage that batches (``Plugin.batch_frames(asked)`` > 1) gets them in calls of at
        most that many (``Plugin.process_batch``), its time shared evenly among them in its statistics. A
        batch call that raises is run again frame by frame, so that errors are reported per frame and
        bypassed exactly as ``process`` reports them."""
        stages = self._stages
        if self._reset_requested:
            self._reset_requested = False
            self.reset()
        frames = list(frames)
        for frame in frames:
            frame.begin_stages()
        for i, stage in enumerate(stages):
            if not stage.enabled:
                for frame in frames:
                    frame.keep_stage_image()
                continue
            size = self._batch_size(stage.plugin, asked) if len(frames) > 1 else 1
            if size <= 1:
                frames = [self._run_stage(i, stage, frame, on_error) for frame in frames]
                continue
            out: list[Frame] = []
            for k in range(0, len(frames), size):
                out += self._run_batch(i, stage, frames[k : k + size], on_error)
            frames = out
        return frames

    @staticmethod
    def _batch_size(plugin: Plugin, asked: int | None) -> int:
        try:
            return max(1, int(plugin.batch_frames(asked)))
        except Exception:  # a stage that cannot say: one frame at a time, where its errors are reported
            log.debug("%s: batch_frames() failed; one frame at a time", plugin.name, exc_info=True)
            return 1

    def _run_stage(self, i: int, stage: Stage, frame: Frame, on_error: Callable[[StageError], None] | None) -> Frame:
        """One enabled stage on one frame (its output, or its input when it failed)."""
        plugin = stage.plugin
        start = time.perf_counter()
        try:
            plugin.apply_pending()
            out = plugin.process(frame)
            if not isinstance(out, Frame) or not isinstance(out.image, np.ndarray):
                raise TypeError(f"process() returned {type(out).__name__}, expected a Frame with an image")
        except Exception as exc:  # noqa: BLE001 - a failing stage must never stop the pipeline
            self._failed(i, stage, frame, exc, (time.perf_counter() - start) * 1000.0, on_error)
            return frame
        with self._stats_lock:  # frames may go through several at once (``parallel_safe``)
            stage.stats.record((time.perf_counter() - start) * 1000.0, ok=True)
        self._passed(i, stage, frame, out, plugin.status())
        return out

    def _run_batch(
        self, i: int, stage: Stage, frames: list[Frame], on_error: Callable[[StageError], None] | None
    ) -> list[Frame]:
        """One enabled stage on consecutive frames in one ``process_batch`` call (frame by frame when the call
        fails); outputs in order."""
        plugin = stage.plugin
        start = time.perf_counter()
        try:
            plugin.apply_pending()
        except Exception as exc:  # noqa: BLE001 - as ``process``: the first frame after the edit fails, the rest go on
            self._failed(i, stage, frames[0], exc, (time.perf_counter() - start) * 1000.0, on_error)
            return [frames[0], *(self._run_batch(i, stage, frames[1:], on_error) if len(frames) > 1 else [])]
        start = time.perf_counter()
        try:
            outs = plugin.process_batch(list(frames))
            if (
                not isinstance(outs, list)
                or len(outs) != len(frames)
                or not all(isinstance(out, Frame) and isinstance(out.image, np.ndarray) for out in outs)
            ):
                raise TypeError(
                    f"process_batch() of {len(frames)} frames returned {type(outs).__name__}"
                    f"{f' of {len(outs)}' if isinstance(outs, list) else ''}, expected as many Frames "
                    "with an image"
                )
        except Exception as exc:  # noqa: BLE001 - run again frame by frame: errors reported per frame, as ``process`` does
            if self._first_of_kind(stage, "batch: " + error_kind(f"{type(exc).__name__}: {exc}")):
                log.warning(
                    "%s: a batch of %d frames failed (%s: %s); those frames ran one at a time",
                    self.stage_name(i),
                    len(frames),
                    type(exc).__name__,
                    exc,
                )
            return [self._run_stage(i, stage, frame, on_error) for frame in frames]
        share = (time.perf_counter() - start) * 1000.0 / len(frames)
        with self._stats_lock:
            for _ in frames:
                stage.stats.record(share, ok=True)
        status = plugin.status()
        for frame, out in zip(frames, outs):
            self._passed(i, stage, frame, out, status)
        return outs

    def _failed(
        self,
        i: int,
        stage: Stage,
        frame: Frame,
        exc: Exception,
        ms: float,
        on_error: Callable[[StageError], None] | None,
    ) -> None:
        """A stage failed on ``frame``: counted, logged once per kind, published; the frame goes on unchanged."""
        error = StageError(i, self.stage_name(i), frame.index, f"{type(exc).__name__}: {exc}")
        with self._stats_lock:
            stage.stats.record(ms, ok=False)
            self._report(error, stage)
        if on_error is not None:
            on_error(error)
        frame.keep_stage_image()

    def _passed(self, i: int, stage: Stage, frame: Frame, out: Frame, status: StageStatus | None) -> None:
        """A stage gave ``out`` for ``frame``: the stage images carried on, its status recorded."""
        out.carry_stages_from(frame)
        if status:
            name = self.stage_name(i)
            status = status.for_frame(out.index, name)
            stage.last_status = status
            out.record_status(name, status)
            if status.events:
                with self._stats_lock:
                    stage.stats.count_events(status.events)

    def _report(self, error: StageError, stage: Stage) -> None:
        stage.stats.errors += 1
        stage.stats.last_error = error.message
        stage.stats.last_error_frame = error.frame_index
        if self._first_of_kind(stage, error_kind(error.message)):  # one line each; the count is in the stats
            log.warning("%s; more failures like it are counted, not shown", error)

    def _first_of_kind(self, stage: Stage, kind: str) -> bool:
        """True the first time ``stage`` reports this kind of failure (to be logged then, and only then)."""
        key = (id(stage), kind)
        if key in self._reported:
            return False
        self._reported.add(key)
        return True

    def request_reset(self) -> None:
        """Reset stateful plugins before the next frame (from any thread: seek, new source)."""
        self._reset_requested = True

    def reset(self) -> None:
        """Reset stateful plugins now (processing thread, or while no run is going)."""
        for stage in self._stages:
            stage.plugin.reset()

    def close(self) -> None:
        for stage in self._stages:
            stage.plugin.close()

    def summaries(self, recent: bool = False) -> list[StageSummary]:
        """Per-stage statistics, in pipeline order."""
        out = []
        for i, stage in enumerate(self._stages):
            mean, p95 = stage.stats.durations.summary(recent)
            st = stage.stats
            out.append(
                StageSummary(
                    self.stage_name(i),
                    stage.plugin_name,
                    stage.enabled,
                    st.frames_in,
                    st.frames_out,
                    st.errors,
                    mean,
                    p95,
                    1000.0 / mean if mean > 0 else 0.0,
                    st.last_error,
                    stage.last_status,
                    dict(st.events),
                )
            )
        return out
