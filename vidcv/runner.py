"""Runner: source thread -> processing thread -> sink thread, with prompt stop and honest statistics.

Live sources hand over newest-wins (drops counted); files go through a bounded blocking queue (no
frame lost, order kept). OpenCV releases the GIL while decoding, filtering and encoding, so the three
threads overlap. Stop is prompt: every thread is joined within the stop timeout and sinks finalised.
Observers hear the run's events (``vidcv.events``): source states, stage errors, statistics a few times a
second, and the end of the run.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Literal, NamedTuple

import cv2

from vidcv.errors import OutputError
from vidcv.events import (
    EventHub,
    RunEnded,
    RunEvent,
    RunObserver,
    SourceState,
    SourceStateChanged,
    StatsUpdated,
)
from vidcv.frame import Frame, PendingFrame
from vidcv.handoff import END, TIMEOUT, BoundedFifo, Handoff, NewestWins
from vidcv.pipeline import Pipeline
from vidcv.sinks.base import Sink
from vidcv.sources.base import Source
from vidcv.stats import DurationStats, OutageMeter, RateMeter, RunSummary

log = logging.getLogger(__name__)


class Runner:
    """Runs ``pipeline`` over ``source`` into ``sinks``.

    ``realtime`` paces a non-live source at its own fps (may be switched while running); ``max_frames``
    stops after that many frames written: a file's first N frames, or N frames of a live source, whose
    frames dropped while the pipeline was busy do not count (the run stops once the Nth is written; a
    frame still in the pipeline then counts as dropped); ``hold_at_end`` keeps a seekable source open at
    its end, paused, so that a player can seek back (``at_end`` tells). ``error`` holds the exception that
    ended the run early (source or sink failure), if any, and ``failed_in`` where it came from. A sink whose
    write raises stops the run with that error (an OSError becomes an OutputError naming the sink's file and
    how many frames it took). ``observers`` (and ``subscribe``) hear the run's events, in the runner's
    threads; statistics are published every ``stats_interval_s`` while the run goes. A live source's outages
    (reconnections, time away) are counted from its state events into the summary. ``batch`` gathers a file's
    frames for stages that take several per call (``frame_batch``: a YOLO model's batch); ``workers``
    processes several frames at once in threads (``frame_workers``); ``workers=None`` lets a file's run choose
    how its frames go through the stages from what its first frames cost (``choose_processing``).

    How a file is decoded (``decodes_gray``): by default colour, with the first stage converting it, so that
    every run of a pipeline computes the same pixels as OpenCV on the BGR decode. A pipeline that asks for the
    luma path (``Pipeline.decode == "luma"``; ``gray_source`` True or False overrides it) takes gray straight
    from the file's luma plane when its first stage works on gray and nothing reads the colour original. With
    ``editable`` (the window, whose pipeline changes while it runs) that gray comes beside the colour decode
    and each frame takes it only while the pipeline still asks for it and works on gray (``decode_in_use``).
    """

    SOURCE_CLOSE_WAIT_S = 2.0  #: how long the end of the run waits for the source to close

    def __init__(
        self,
        source: Source,
        pipeline: Pipeline,
        sinks: Iterable[Sink] = (),
        *,
        realtime: bool = False,
        max_frames: int | None = None,
        queue_size: int = 4,
        hold_at_end: bool = False,
        observers: Iterable[RunObserver] = (),
        stats_interval_s: float = 0.25,
        gray_source: bool | None = None,
        workers: int | None = 1,
        batch: int | None = 1,
        editable: bool = False,
    ) -> None:
        self.source = source
        #: threads that may process frames at once (see ``frame_workers``); None: chosen by the run itself
        #: from what its first frames cost (``choose_processing``)
        self.workers = None if workers is None else max(1, workers)
        self.processing: Processing | None = None  #: with ``workers=None``, what the run chose, once it has
        #: the first reads' times, (wall, the source thread's CPU) seconds (``choose_processing``)
        self._reads_timed: list[tuple[float, float]] = []
        #: frames of a file gathered per ``Pipeline.process_batch`` call (see ``frame_batch``): 1 (the default,
        #: for interactive runs) one at a time; None: what the stages choose; N: asked of the stages
        self.batch = batch if batch is None else max(1, batch)
        #: the luma path asked (True), refused (False) or as the pipeline says (None: ``Pipeline.decode``)
        self.gray_source = gray_source
        self.editable = editable  #: the pipeline may change while the run goes (the window): see ``decodes_gray``
        self._luma_frames = False  #: the last frame processed took gray from the luma plane (``editable``)
        self.pipeline = pipeline
        self.sinks = list(sinks)
        self.realtime = realtime
        self.max_frames = max_frames
        self.hold_at_end = hold_at_end
        self.at_end = False
        self.error: BaseException | None = None
        self.failed_in: Literal["source", "processing", "output"] | None = None  #: where ``error`` came from
        self.frames_read = 0
        self.frames_processed = 0
        self.frames_written = 0
        self._discarded = 0  #: live frames in flight when max_frames were written (counted as dropped)
        self._enough = threading.Event()  #: a live run wrote max_frames
        live = source.live
        self._in: Handoff = NewestWins() if live else BoundedFifo(queue_size)
        self._out: Handoff = BoundedFifo(2 if live else queue_size)
        self._stop = threading.Event()
        self._abandon = threading.Event()  #: the sink thread stops waiting for frames still in the pipeline
        self._resume = threading.Event()
        self._resume.set()
        self._step = 0
        self._threads: list[threading.Thread] = []
        self._done = threading.Event()
        self._t_start = 0.0
        self._t_end: float | None = None
        self._read_rate, self._out_rate = RateMeter(), RateMeter()
        self._frame_age = DurationStats()
        self._outages = OutageMeter()
        self._sinks_closed = False
        self._sinks_lock = threading.Lock()
        self._seek_to: int | None = None
        self.position = 0  #: index of the last frame read (for seek bars)
        self.events = EventHub(observers)
        self._opened = False
        self.stats_interval_s = stats_interval_s
        self._next_stats = 0.0

    def subscribe(self, observer: RunObserver) -> None:
        """Hear this run's events from now on (see ``vidcv.events``)."""
        self.events.subscribe(observer)

    def unsubscribe(self, observer: RunObserver) -> None:
        self.events.unsubscribe(observer)

    # --- control -------------------------------------------------------------------------------------
    def open(self) -> None:
        """Open the source with this run's stop signal, its state reported to the observers (errors raise
        here, before any thread starts; it may be called again after a failure). ``start`` does it when it
        was not done. The runner opens its source itself, so that a stop reaches every wait inside it: a
        source opened elsewhere is refused."""
        if self.source.state not in (SourceState.CLOSED, SourceState.FAILED):
            raise RuntimeError(
                f"{self.source.label} is already open: give the Runner a closed source "
                "(it opens the source with its own stop signal)"
            )
        self.source.deliver_gray = self.decodes_gray()
        self.source.gray_beside = self._luma_beside()
        self.source.defer_conversion = self.defers_conversion()
        if self.source.deliver_gray:
            log.info(
                "%s: decoding straight to gray from the luma plane, as the pipeline asks (decode: luma; not "
                "bit-equal to the colour decode on saturated colours)",
                self.source.label,
            )
        elif self.wants_luma() and not self.editable and (why := self._no_luma_because()):
            log.info("%s: decoding colour although the pipeline asks for decode: luma: %s", self.source.label, why)
        self.source.open(self._stop, self._on_source_event)
        self._opened = True

    def wants_luma(self) -> bool:
        """Whether this run is asked for the luma path: ``gray_source`` when given, else the pipeline's own
        ``decode`` setting (its preset's ``decode: luma``)."""
        if self.gray_source is not None:
            return self.gray_source
        return self.pipeline.decode == "luma"

    def _no_luma_because(self) -> str:
        """Why the luma path asked for is not taken ("" when it is)."""
        if not self.source.can_deliver_gray:
            return "only a video file decoded by PyAV has a luma plane to take"
        if not self.pipeline.accepts_gray_source():
            return "the first enabled stage does not work on gray, or a stage reads the colour original"
        if any(sink.needs_color_source for sink in self.sinks):
            return "an output keeps the colour original (a dataset)"
        return ""

    def decodes_gray(self) -> bool:
        """Pixel-format negotiation: when the luma path is asked for (``wants_luma``), a source that can deliver
        gray does so when the pipeline can take it (``Pipeline.accepts_gray_source``) and no sink reads the
        colour original. The pipeline must then not change while the run lasts (the command line's case); an
        ``editable`` run never decodes to gray alone (see ``_luma_beside``)."""
        return not self.editable and self.wants_luma() and not self._no_luma_because()

    def _luma_beside(self) -> bool:
        """An ``editable`` run's choice for the next frame read: the luma plane's gray beside the colour decode
        while the pipeline asks for the luma path and can take gray."""
        return (
            self.editable and self.wants_luma() and self.source.can_deliver_gray and self.pipeline.accepts_gray_source()
        )

    @property
    def decode_in_use(self) -> str:
        """``luma`` while frames take gray from the luma plane (the opt-in path), else ``bgr``."""
        return "luma" if self.source.deliver_gray or (self.editable and self._luma_frames) else "bgr"

    def defers_conversion(self) -> bool:
        """Whether the source thread leaves each frame's conversion (to BGR, or to gray on the luma path) to the
        thread that processes it (``Source.defer_conversion``): for a file, not ``editable``, whose source can.
        The thread that made the image then reads it from its own core's cache, and the reading thread goes on
        to the next frame sooner."""
        return not self.editable and not self.source.live and self.source.can_defer_conversion

    def _fed(self, item: Frame | PendingFrame) -> Frame:
        """A frame read, as the pipeline is to take it: its image made where the source left that to this thread
        (``defers_conversion``); in an ``editable`` run, the luma's gray that came beside the colour decode only
        while the pipeline still asks for it and works on gray (an edit in between takes the colour decode
        again)."""
        frame = item.frame() if isinstance(item, PendingFrame) else item
        if not self.editable:
            return frame
        beside = frame.image is not frame.source_image and frame.image.ndim == 2 and frame.source_image.ndim == 3
        if beside and not self._luma_beside():
            frame = frame.with_image(frame.source_image)
            beside = False
        self._luma_frames = beside
        return frame

    def start(self) -> None:
        """Open the source if ``open`` was not called yet, and start the threads."""
        if self._threads:
            raise RuntimeError("a Runner runs once; make a new one")
        if not self._opened:
            self.open()
        self._t_start = time.monotonic()
        for name, target in (("source", self._source_loop), ("process", self._process_loop), ("sink", self._sink_loop)):
            thread = threading.Thread(target=target, name=f"vidcv-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop reading, finish the frame in hand, finalise outputs; True if every thread ended in time."""
        self.request_stop()
        ended = self.join(timeout)
        if not ended:
            log.warning("threads still busy after %.1f s: %s", timeout, ", ".join(self.busy_threads))
        if not self._threads:
            self._close_sinks()
        return ended

    def request_stop(self) -> None:
        """Ask the run to stop (as ``stop`` does) without waiting: ``join`` or ``wait`` tell when it has."""
        self._stop.set()
        self._resume.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` s for every thread of the run to end; True when none is left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self.busy_threads

    def abandon(self) -> None:
        """Stop now without the frames still in the pipeline (a stage that hangs, before a forced exit): the
        sink thread stops waiting for them and finalises the outputs with what was written. The threads
        stuck where they are are left to the process's exit."""
        self._abandon.set()
        self.request_stop()

    @property
    def busy_threads(self) -> list[str]:
        """The names of the run's threads still running."""
        return [t.name for t in self._threads if t.is_alive()]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (source exhausted, max_frames reached, stopped or failed)."""
        return self._done.wait(timeout)

    def run(self) -> RunSummary:
        """Start, wait for the end, and return the summary (stop on KeyboardInterrupt, then re-raise)."""
        self.start()
        try:
            while not self.wait(0.1):
                pass
        finally:
            self.stop()
        return self.summary()

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._done.is_set()

    @property
    def stopped(self) -> bool:
        """True once stop was asked for (by the user or by a failure), not when max_frames were written."""
        return self._stop.is_set() and not self._enough.is_set()

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def step(self) -> None:
        """While paused, let exactly one more frame through."""
        self._step += 1

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def refresh(self) -> None:
        """While paused on a seekable source, process the current frame again (a parameter changed).
        Repeated calls before that frame is read coalesce into one."""
        if self.source.seekable and self.paused and not self.at_end:
            self._seek_to = self.position
            self._step = max(self._step, 1)

    def seek(self, index: int) -> None:
        """Continue from frame ``index`` (seekable sources): frames read ahead are dropped, stateful
        plugins reset. Takes effect before the next read; works while paused (the next step shows it)."""
        if not self.source.seekable:
            raise ValueError(f"{self.source.label} cannot seek (live source)")
        self._seek_to = max(0, int(index))

    def add_sink(self, sink: Sink) -> None:
        """Start writing to ``sink`` from the next frame (recording, snapshots)."""
        if sink.needs_color_source and self.source.deliver_gray:
            raise ValueError(
                f"{sink.label} needs the colour original, and this run decodes to gray (decode: luma): make "
                "the Runner with this sink, or with gray_source=False"
            )
        with self._sinks_lock:
            self.sinks = [*self.sinks, sink]

    def remove_sink(self, sink: Sink) -> None:
        """Stop writing to ``sink`` and finalise it (after the frame being written, if any)."""
        with self._sinks_lock:
            self.sinks = [s for s in self.sinks if s is not sink]
            sink.close()

    # --- threads ---------------------------------------------------------------------------------------
    def _source_loop(self) -> None:
        source, stop = self.source, self._stop
        t0: float | None = None  # pacing anchor: wall time of the frame at pts0
        pts0 = 0.0
        # files: read exactly max_frames (each is written); live: until max_frames were written (sink loop)
        max_reads = None if source.live else self.max_frames
        try:
            while not stop.is_set():
                if max_reads is not None and self.frames_read >= max_reads:
                    break
                if not self._wait_unpaused():
                    break
                if self._seek_to is not None:
                    target, self._seek_to = self._seek_to, None
                    source.seek(target)
                    self._in.clear()
                    self.pipeline.request_reset()
                    self.at_end, t0 = False, None
                if self.editable:
                    source.gray_beside = self._luma_beside()  # the pipeline may have changed since the last read
                timing = len(self._reads_timed) < PROBE_WARMUP + 2 * PROBE_FRAMES
                started = (time.perf_counter(), time.thread_time()) if timing else (0.0, 0.0)
                frame = source.read_deferred()
                if timing:
                    self._reads_timed.append((time.perf_counter() - started[0], time.thread_time() - started[1]))
                if frame is None:
                    if self.hold_at_end and source.seekable:
                        self.at_end = True  # wait, paused, for a seek (or stop) instead of ending
                        self.pause()
                        continue
                    break
                if self.realtime and not source.live:
                    if t0 is None or self.paused:
                        t0, pts0 = time.monotonic(), frame.pts_ms
                    delay = t0 + (frame.pts_ms - pts0) / 1000.0 - time.monotonic()
                    if delay > 0 and stop.wait(delay):
                        break
                    frame.stamp_capture(time.monotonic())
                else:
                    t0 = None  # re-anchor when pacing is switched on again
                self.frames_read += 1
                self.position = frame.index
                self._read_rate.tick()
                if not self._in.put(frame, stop):
                    break
        except BaseException as exc:  # noqa: BLE001 - reported through .error; frames already read are still processed
            self._fail(exc, "source", stop=False)
        finally:
            self._in.close()
            try:
                source.close()
            except Exception:  # closing must never mask the real outcome
                log.exception("closing the source failed")

    def _wait_unpaused(self) -> bool:
        while not self._resume.is_set():
            if self._step > 0:
                self._step -= 1
                return True
            if self._stop.is_set():
                return False
            self._resume.wait(0.05)
        return not self._stop.is_set()

    def _frames_to_process(self) -> Iterator[Frame | PendingFrame]:
        """Frames read, until their end or until stop is set, as the source thread handed them: ``_fed`` makes
        each what the pipeline takes (in the thread that processes it)."""
        while True:
            item = self._in.get(0.1)
            if item is END or self._stop.is_set():
                return
            if item is not TIMEOUT:
                yield item

    def frame_workers(self) -> int:
        """How many frames are processed at once: ``workers`` for a file (not a live source, which keeps
        newest-wins with one frame in hand) whose pipeline allows it (``Pipeline.parallel_safe``), else 1.
        With ``workers=None``, the most the run may choose (``choose_processing``): ``auto_workers()`` for such
        a file and pipeline, not edited while it runs (the window's is), else 1."""
        if self.workers == 1 or self.source.live or not self.pipeline.parallel_safe():
            return 1
        if self.workers is None:
            return 1 if self.editable else auto_workers()
        return self.workers

    def chooses_processing(self) -> bool:
        """Whether this run times its first frames to choose how to process the rest (``choose_processing``):
        ``workers=None``, a file, and a pipeline not edited while it runs."""
        return self.workers is None and not self.source.live and not self.editable

    def choose_processing(
        self,
        read_s: float,
        stages_s: float,
        single_s: float,
        cpu_s: float,
        *,
        one_s: float | None = None,
        parallel_s: float | None = None,
    ) -> Processing:
        """How frames go through the stages, from what one frame costs: ``read_s`` the source thread's read
        (decoding, or waiting for FFmpeg's decoding threads, and the conversion where the source thread
        converts), ``stages_s`` the stages with OpenCV's own threads, ``single_s`` with OpenCV single-threaded
        (a conversion left to the processing thread in neither), ``cpu_s`` the whole process's CPU time
        meanwhile (FFmpeg's threads and every conversion included); ``one_s`` and ``parallel_s``, where the
        probe timed them, the wall time a frame of a run of frames one at a time with OpenCV's threads and of
        one in parallel.

        - Frames in parallel (``frame_workers()``, where the pipeline allows it), each worker's OpenCV
          single-threaded, where that takes ``PARALLEL_GAIN`` times less time a frame than one frame at a time
          with OpenCV's threads: as timed (``one_s`` against ``parallel_s``; the probe times no frames in
          parallel where the stages are light), or else as expected, the slower
          of the read and the stages against the slowest of the read, a worker's share of the single-threaded
          stages and the cores' share of the CPU time. Heavy stages that OpenCV's threads split up badly (Canny
          on texture) gain most.
        - Stages that take well under the CPU time of decoding single-threaded (``LIGHT_STAGES``): one frame at
          a time with OpenCV single-threaded, so that its threads leave the cores to the decoder, the
          bottleneck; except where the processing thread converts the frames (``Source.converts_later``): the
          decoder has a thread of its own then, and the thread that converts and runs the stages keeps
          OpenCV's threads.
        - Between the two: one frame at a time with OpenCV's threads, which keep the stages level with
          decoding."""
        if (workers := self.frame_workers()) > 1:
            if one_s is not None and parallel_s is not None:
                one_at_a_time, in_parallel = one_s, parallel_s
            else:
                one_at_a_time = max(read_s, stages_s)
                in_parallel = max(read_s, single_s / workers, cpu_s / (os.cpu_count() or 1))
            if one_at_a_time > PARALLEL_GAIN * in_parallel:
                return Processing(workers, 1)
        light = _light(read_s, single_s, cpu_s) and not self.source.converts_later
        return Processing(1, 1) if light else Processing(1, None)

    def frame_batch(self) -> int:
        """How many frames of a file the processing thread gathers for one ``Pipeline.process_batch`` call:
        what the pipeline's stages take per call (``Pipeline.batch_frames``, asked ``batch``), or 1 for a live
        source (newest-wins, one frame in hand) and with ``batch`` 1. Batches take precedence over
        ``frame_workers``."""
        if self.batch == 1 or self.source.live:
            return 1
        return self.pipeline.batch_frames(self.batch)

    def _process_loop(self) -> None:
        batch = self.frame_batch()
        workers = self.frame_workers() if batch <= 1 else 1
        try:
            if batch > 1:
                log.info("%s: %d frames per call of the stages that take several", self.source.label, batch)
                self._process_batches(batch)
                return
            if workers > 1 and self.workers is not None:
                self._process_parallel(workers)
                return
            if self.chooses_processing():
                processing = self._process_probe()
                if processing is None:
                    return
                if processing.workers > 1:
                    self._process_parallel(processing.workers)
                    return
                with opencv_threads(processing.opencv_threads):
                    self._process_each()
                return
            self._process_each()
        except BaseException as exc:  # noqa: BLE001 - a processing thread's failure is the run's, reported through .error
            self._fail(exc, "processing")
        finally:
            self._out.close()

    def _process_each(self) -> None:
        """Frames one at a time, in this thread."""
        for item in self._frames_to_process():
            frame = self.pipeline.process(self._fed(item), self.events.emit)
            self.frames_processed += 1
            if not self._out.put(frame, self._stop):
                break

    def _process_probe(self) -> Processing | None:
        """The first frames one at a time, timed: ``PROBE_WARMUP`` frames untimed (first calls), then
        ``PROBE_FRAMES`` with OpenCV's threads as they are and as many single-threaded, and, where frames may go
        in parallel (``frame_workers``), as many in parallel; then the choice (``choose_processing``, returned
        and kept in ``processing``) from what a frame cost (``_cost``; the reads' from the same frames, the one
        decoded on opening left out with the warm-up) and how long each run of frames took. None when the
        frames ended or the run stopped before."""
        frames = self._frames_to_process()
        timed: dict[int | None, list[tuple[float, float]]] = {None: [], 1: []}
        cpu_s = one_s = 0.0
        for threads, count in ((None, PROBE_WARMUP), (None, PROBE_FRAMES), (1, PROBE_FRAMES)):
            cpu_s = time.process_time()  # the last half's: the whole process's CPU time while single-threaded
            run_from = time.perf_counter()
            with opencv_threads(threads):
                for _ in range(count):
                    item = next(frames, None)
                    if item is None:
                        return None
                    fed = self._fed(item)  # a deferred conversion: the read's share of the work, untimed here
                    started = (time.perf_counter(), time.thread_time())
                    frame = self.pipeline.process(fed, self.events.emit)
                    timed[threads].append((time.perf_counter() - started[0], time.thread_time() - started[1]))
                    self.frames_processed += 1
                    if not self._out.put(frame, self._stop):
                        return None
            if threads is None and count == PROBE_FRAMES:  # the wall time of frames one at a time, OpenCV's threads on
                one_s = (time.perf_counter() - run_from) / PROBE_FRAMES
        cpu_s = (time.process_time() - cpu_s) / PROBE_FRAMES
        # every frame processed was read before: at least as many reads timed as frames
        read_s = _cost(self._reads_timed[PROBE_WARMUP : PROBE_WARMUP + 2 * PROBE_FRAMES])
        stages_s = _cost([(wall, 0.0) for wall, _ in timed[None][PROBE_WARMUP:]])  # CPU: OpenCV's threads too
        single_s = _cost(timed[1])
        # Frames in parallel, timed rather than estimated, unless the stages are light (decoding sets the pace
        # of both runs then, and their times differ by chance): the estimate's CPU time varies from run to run,
        # and with it the choice for heavy stages.
        parallel_s: float | None = None
        if (workers := self.frame_workers()) > 1 and not _light(read_s, single_s, cpu_s):
            before, parallel_from = self.frames_processed, time.perf_counter()
            self._process_parallel(workers, itertools.islice(frames, PROBE_FRAMES))
            if self.frames_processed - before < PROBE_FRAMES or self._stop.is_set():
                return None  # the frames ended (or the run stopped) meanwhile: nothing left to choose for
            parallel_s = (time.perf_counter() - parallel_from) / PROBE_FRAMES
        self.processing = processing = self.choose_processing(
            read_s, stages_s, single_s, cpu_s, one_s=one_s, parallel_s=parallel_s
        )
        log.info(
            "%s: %s (a frame: the read %.2f ms, the stages %.2f ms, %.2f ms with OpenCV single-threaded; %.2f ms "
            "of CPU time in all; a run of frames %.2f ms a frame one at a time%s)",
            self.source.label,
            processing.describe(),
            read_s * 1000,
            stages_s * 1000,
            single_s * 1000,
            cpu_s * 1000,
            one_s * 1000,
            "" if parallel_s is None else f", {parallel_s * 1000:.2f} ms in parallel",
        )
        return processing

    def _process_batches(self, size: int) -> None:
        """Frames in batches of ``size`` (fewer at the end of the source, or while paused: a step or a refresh
        never waits for more frames), each batch through ``Pipeline.process_batch`` and handed to the sink
        thread in order. A stop drops the frames gathered, as the one-frame loop drops the frame it took."""
        while True:
            batch: list[Frame] = []
            ended = False
            while len(batch) < size:
                item = self._in.get(0.1)
                if item is END or self._stop.is_set():
                    ended = True
                    break
                if item is TIMEOUT:
                    if batch and self.paused:  # a step, a refresh or the end held open: no more are coming
                        break
                    continue
                batch.append(self._fed(item))
            if self._stop.is_set():
                return
            if batch:
                for frame in self.pipeline.process_batch(batch, self.events.emit, self.batch):
                    self.frames_processed += 1
                    if not self._out.put(frame, self._stop):
                        return
            if ended:
                return

    def _process_parallel(self, workers: int, frames: Iterator[Frame | PendingFrame] | None = None) -> None:
        """``workers`` threads each take the next frame read (of ``frames``, by default every frame still to
        process) and process it; a reorder buffer hands frames to the sink thread in the order read, so sinks
        see them in order. OpenCV's own threads are set to one meanwhile: frames in parallel use the cores
        better than one frame's operations split up."""
        if frames is None:
            frames = self._frames_to_process()
        take, ready = threading.Lock(), threading.Condition()
        done: dict[int, Frame] = {}
        counters = {"taken": 0, "next": 0}
        failed: list[BaseException] = []

        def work() -> None:
            try:
                while not failed:
                    with take:
                        item = next(frames, None)
                        seq = counters["taken"]
                        counters["taken"] += 1
                    if item is None:
                        return
                    out = self.pipeline.process(self._fed(item), self.events.emit)
                    with ready:
                        done[seq] = out
                        while counters["next"] in done:  # in order, whoever finished the frame that was due
                            frame = done.pop(counters["next"])
                            counters["next"] += 1
                            self.frames_processed += 1
                            if not self._out.put(frame, self._stop):
                                return
            except BaseException as exc:  # noqa: BLE001 - a worker's failure: the others stop, it is the run's
                failed.append(exc)

        with opencv_threads(1):
            pool = [
                threading.Thread(target=work, name=f"vidcv-process-{k + 1}", daemon=True) for k in range(workers - 1)
            ]
            for thread in pool:
                thread.start()
            work()
            for thread in pool:
                thread.join()
        if failed:
            raise failed[0]

    def _sink_loop(self) -> None:
        # Not stop-aware: frames already processed are written, so that a stop keeps them. Waking at
        # least every 0.1 s, it also publishes the statistics (while paused too).
        try:
            while (item := self._out.get(0.1)) is not END and not self._abandon.is_set():
                if item is not TIMEOUT:
                    self._emit(item)
                    if self._wrote_enough():
                        break
                self._publish_stats()
        except BaseException as exc:  # noqa: BLE001 - the sink thread's failure is the run's, reported through .error
            self._fail(exc, "output")
        finally:
            self._close_sinks()
            self._t_end = time.monotonic()
            # the source thread has closed its input by now and ends promptly: its last state event
            # (closed) comes before the end of the run
            self._threads[0].join(self.SOURCE_CLOSE_WAIT_S)
            if self._enough.is_set():
                self._discarded = max(0, self.frames_read - self.frames_written - self._in.dropped)
            ended = RunEnded(self.summary(), self.error, self.stopped)  # before a waiter's stop() can follow
            self._done.set()  # before the event, so that an observer of the end sees the run as ended
            self.events.emit(ended)

    def _wrote_enough(self) -> bool:
        """A live run that wrote ``max_frames`` stops (a stop that is no user's: ``stopped`` stays False)."""
        if self.max_frames is None or not self.source.live or self.frames_written < self.max_frames:
            return False
        self._enough.set()
        self._stop.set()
        return True

    def _publish_stats(self) -> None:
        now = time.monotonic()
        if self.events and now >= self._next_stats:
            self._next_stats = now + self.stats_interval_s
            self.events.emit(StatsUpdated(self.summary(recent=True), self.position, self.paused, self.at_end))

    def _on_source_event(self, event: RunEvent) -> None:
        if isinstance(event, SourceStateChanged):
            if event.new is SourceState.RECONNECTING:
                self._outages.away()
            elif event.new is SourceState.OPEN:
                self._outages.back()
            elif event.new in (SourceState.FAILED, SourceState.ENDED, SourceState.CLOSED):
                self._outages.ended()
        self.events.emit(event)

    def _emit(self, frame: Frame) -> None:
        with self._sinks_lock:
            for sink in self.sinks:
                try:
                    sink.write(frame)
                except OSError as exc:  # a sink that did not say which file: say it here
                    raise _sink_failure(sink, exc) from exc
        self.frames_written += 1
        now = time.monotonic()
        self._out_rate.tick(now)
        self._frame_age.add((now - frame.captured_at) * 1000.0)

    def _close_sinks(self) -> None:
        with self._sinks_lock:
            if self._sinks_closed:
                return
            self._sinks_closed = True
            sinks = list(self.sinks)
        for sink in sinks:
            try:
                sink.close()
            except OSError as exc:
                self._fail(_sink_failure(sink, exc), "output")
            except Exception as exc:  # noqa: BLE001 - a sink's close failing is reported, the other sinks still close
                self._fail(exc, "output")

    def _fail(self, exc: BaseException, where: Literal["source", "processing", "output"], stop: bool = True) -> None:
        if self.error is None:
            self.error, self.failed_in = exc, where
        log.debug("%s thread failed", where, exc_info=exc)
        if stop:
            self._stop.set()
            self._resume.set()

    # --- statistics ------------------------------------------------------------------------------------
    @property
    def dropped(self) -> int:
        """Live frames read but not written: replaced by a newer one while the pipeline was busy, or still
        in the pipeline when ``max_frames`` were written."""
        return self._in.dropped + self._discarded

    def summary(self, recent: bool = False) -> RunSummary:
        """Totals so far (or, with ``recent``, rates and timings over the last seconds, for live readouts)."""
        end = self._t_end if self._t_end is not None else time.monotonic()
        wall = max(1e-9, end - self._t_start) if self._t_start else 0.0
        if recent:
            fps, source_fps = self._out_rate.rate(), self._read_rate.rate()
        else:
            fps = self.frames_written / wall if wall else 0.0
            source_fps = self.frames_read / wall if wall else 0.0
        age_mean, age_p95 = self._frame_age.summary(recent)
        live = self.source.live
        return RunSummary(
            self.frames_written,
            self.frames_read,
            wall,
            fps,
            self.dropped,
            source_fps,
            age_mean if live else None,
            age_p95 if live else None,
            self.pipeline.summaries(recent),
            self._outages.summary() if live else None,
            self.decode_in_use,
        )


#: ``workers=None`` (``Runner.choose_processing``): the first frames of a file, one at a time, untimed (first
#: calls), then timed with OpenCV's threads as they are, and as many single-threaded
PROBE_WARMUP = 4
PROBE_FRAMES = 8
#: frames go in parallel where that is expected to take this many times less time a frame (what frame workers
#: cost in hand-offs is left out of the estimate)
PARALLEL_GAIN = 1.1
#: the stages single-threaded against decoding a frame: below this many times as long, one frame at a time with
#: OpenCV single-threaded
LIGHT_STAGES = 0.5


class Processing(NamedTuple):
    """How a run's frames go through the stages (``Runner.choose_processing``)."""

    workers: int  #: frames at once, each worker's OpenCV single-threaded when more than one
    opencv_threads: int | None  #: OpenCV's threads while frames go one at a time (None: as they are)

    def describe(self) -> str:
        if self.workers > 1:
            return f"{self.workers} frames at once, OpenCV single-threaded in each"
        if self.opencv_threads is not None:
            return f"one frame at a time, OpenCV with {self.opencv_threads} thread(s)"
        return "one frame at a time, OpenCV's threads as they are"


def auto_workers() -> int:
    """Frames at once for heavy stages (``Runner.choose_processing``): one per core beyond the decoding and
    writing threads' two, and at least two where there are two cores."""
    cores = os.cpu_count() or 1
    return 1 if cores < 2 else max(2, cores - 2)


def _light(read_s: float, single_s: float, cpu_s: float) -> bool:
    """Stages that take well under the CPU time of decoding, single-threaded (``LIGHT_STAGES``)."""
    return single_s < LIGHT_STAGES * max(read_s, cpu_s - single_s)


def _cost(timed: list[tuple[float, float]]) -> float:
    """What a step costs a frame, from its (wall, thread CPU) seconds on several frames: the median of the CPU
    time, which other processes taking the core do not inflate, or the lower quartile of the wall time where
    that is longer (waits for other threads: FFmpeg's decoding threads; the quartile leaves out frames a
    preemption made slower). Sorted by hand: ``statistics`` would cost every start its imports."""
    wall = sorted(w for w, _ in timed)
    cpu = sorted(c for _, c in timed)
    return max(wall[len(wall) // 4], cpu[len(cpu) // 2])


@contextmanager
def opencv_threads(threads: int | None) -> Iterator[None]:
    """OpenCV's threads set to ``threads`` meanwhile (process-wide; None: left as they are), then back to what
    they were."""
    if threads is None:
        yield
        return
    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def _sink_failure(sink: Sink, exc: OSError) -> OutputError:
    """One line naming the sink's file, the reason and how much it had written."""
    return OutputError(
        f"cannot write {sink.label}: {exc.strerror or exc}; {sink.frames} frames were written before it failed"
    )
