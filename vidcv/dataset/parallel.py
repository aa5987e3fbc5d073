"""Several sources into one dataset with detection in worker processes and ONE writer (this process).

Each worker process loads the pipeline once and takes inputs from a shared queue: it reads an input through
its sampler and the pipeline and sends every sampled frame (original image, detections, class) back. This
process holds the dataset's lock and files the frames as they come, with each input's own filter, name
digest and split run length, so the dataset is the one a sequential run makes, the same resume included
(the journal and the lock are the writer's alone). Frames come back through a bounded queue: a writer that
lags holds the workers up rather than filling memory. A stop (Ctrl-C, SIGTERM) stops the workers at their
current frame and files what they sent; workers that outlive a killed writer see it gone and end.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from vidcv.dataset.existing import DatasetError
from vidcv.dataset.extract import (
    DatasetSink,
    ExtractOptions,
    LabelFilter,
    SampledSource,
    open_writer,
    provenance,
)
from vidcv.dataset.many import InputOutcome, ManyOutcome, OnInput
from vidcv.dataset.sampling import Sampler
from vidcv.errors import OutputError
from vidcv.frame import Frame
from vidcv.redact import redact
from vidcv.sinks.base import Sink

QUEUE_FRAMES = 32  #: frames in flight from the workers to the writer at most
POLL_S = 0.1


class _Parent:
    """The writer process, as a worker sees it: gone when the worker has been handed to another parent."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def alive(self) -> bool:
        return os.getppid() == self.pid


def _put(results: Any, message: tuple, stop: Any, parent: _Parent) -> bool:
    """Send ``message`` (pickled now: the frame's buffers may be reused after this returns); False when the
    run stops or the writer is gone before there is room."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    while parent.alive():
        try:
            results.put(data, timeout=POLL_S)
            return True
        except queue.Full:
            if stop.is_set():
                return False
    return False


class _QueueSink(Sink):
    """A worker's sink: every sampled frame to the writer."""

    needs_color_source = True

    def __init__(self, position: int, results: Any, stop: Any, parent: _Parent) -> None:
        self.position, self.results, self.stop, self.parent = position, results, stop, parent

    def write(self, frame: Frame) -> None:
        message = ("frame", self.position, frame.index, frame.pts_ms, np.ascontiguousarray(frame.source_image),
                   frame.detections, frame.classification)
        if not _put(self.results, message, self.stop, self.parent):
            self.stop.set()

    def close(self) -> None:
        """Nothing to finalise: the writer process files the frames."""


def _work(preset: str, options: ExtractOptions, tasks: Any, results: Any, stop: Any, parent_pid: int,
          threads: int) -> None:
    """A worker process: inputs from ``tasks`` until None, each through the sampler and the pipeline, with
    ``threads`` threads for OpenCV and ONNX Runtime (its share of the cores, as a batch worker has)."""
    from vidcv.batch.job import apply_thread_budget
    from vidcv.presets import find_preset, load_preset
    from vidcv.runner import Runner
    from vidcv.sources import parse_source

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the writer stops the run; Ctrl-C reaches the whole group
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = _Parent(parent_pid)
    apply_thread_budget(threads)
    pipeline = load_preset(find_preset(preset))
    while parent.alive() and not stop.is_set():
        try:
            task = tasks.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if task is None:
            break
        position, spec = task
        sampler = Sampler(options.every, options.fps, options.dedupe, options.min_sharpness)
        error: BaseException | None = None
        try:
            pipeline.reset()
            inner = parse_source(spec)
            runner = Runner(SampledSource(inner, sampler), pipeline, [_QueueSink(position, results, stop, parent)],
                            max_frames=options.max_frames)
            runner.open()
            length = None if inner.live else inner.frame_count
            _put(results, ("start", position, provenance(inner, pipeline), length), stop, parent)
            runner.start()
            while not runner.wait(POLL_S):
                if stop.is_set() or not parent.alive():
                    runner.request_stop()
            runner.join()
            error = runner.error
        except Exception as exc:  # noqa: BLE001 - the input fails, the worker takes the next one
            error = exc
        text = None if error is None else redact(str(error)) or type(error).__name__
        _put(results, ("end", position, text, dict(sampler.skipped)), stop, parent)
    pipeline.close()
    if not parent.alive():
        # nobody reads what is still buffered (another worker holding the pipe would keep this one waiting)
        results.cancel_join_thread()
        tasks.cancel_join_thread()


def extract_parallel(sources: Sequence[str], preset: str, options: ExtractOptions, workers: int,
                     should_stop: Callable[[], bool], on_input: OnInput | None = None,
                     on_open: Callable[[Any], None] | None = None) -> ManyOutcome:
    """Extract ``sources`` into the dataset of ``options.out`` with ``workers`` processes detecting and this one
    writing. ``should_stop`` is polled (a signal): the workers then stop and what they sent is filed. The
    dataset is opened (locked) before the workers start and closed at the end, also on a stop or a fault."""
    from vidcv.dataset.extract import source_stem
    from vidcv.presets import find_preset, load_preset

    pipeline = load_preset(find_preset(preset))  # checked here: a bad preset is one line before any worker
    writer = open_writer(pipeline, options)
    pipeline.close()
    outcome = ManyOutcome(writer, [InputOutcome(spec) for spec in sources])
    classes = {c.strip() for c in options.classes.split(",") if c.strip()} or None
    ratio = float("inf") if options.negatives_only else options.negatives
    sinks: dict[int, DatasetSink] = {}
    ended: set[int] = set()
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    tasks, results, stop = ctx.Queue(), ctx.Queue(QUEUE_FRAMES), ctx.Event()
    for position, spec in enumerate(sources):
        tasks.put((position, spec))
    count = max(1, min(workers, len(sources)))
    for _ in range(count):
        tasks.put(None)
    writer.open()
    if on_open is not None:
        on_open(writer)
    from vidcv.batch.job import thread_share

    threads = thread_share(count)
    procs = [ctx.Process(target=_work, args=(preset, options, tasks, results, stop, os.getpid(), threads),
                         name=f"vidcv-extract-{i}", daemon=True) for i in range(count)]
    try:
        for proc in procs:
            proc.start()
        while len(ended) < len(sources):
            if should_stop() and not stop.is_set():
                stop.set()
            try:
                message = pickle.loads(results.get(timeout=POLL_S))
            except queue.Empty:
                if not any(p.is_alive() for p in procs):
                    break  # every worker ended (stopped, or died) and nothing is left to read
                continue
            kind, position = message[0], message[1]
            result = outcome.inputs[position]
            if kind == "start":
                spec = sources[position]
                if on_input is not None:
                    on_input(position, len(sources), spec)
                stem = source_stem(spec)
                writer.set_length(message[3], stem)
                sinks[position] = DatasetSink(writer, LabelFilter(classes, options.min_conf, ratio), stem,
                                              message[2], owns_writer=False)
            elif kind == "frame":
                if position not in sinks:
                    continue
                before = (sum(writer.kept.values()), writer.positives, writer.negatives)
                try:
                    sinks[position].keep(*message[2:])
                except (DatasetError, OutputError, OSError) as exc:
                    outcome.fatal = result.error = redact(str(exc))
                    stop.set()
                    break
                result.kept += sum(writer.kept.values()) - before[0]
                result.positives += writer.positives - before[1]
                result.negatives += writer.negatives - before[2]
            else:  # end
                ended.add(position)
                result.error = message[2]
                sink = sinks.get(position)
                result.skipped = {**message[3], **(sink.labels.skipped if sink else {})}
                if result.error is not None and on_input is not None and position not in sinks:
                    on_input(position, len(sources), sources[position])
    finally:
        stop.set()
        _drain(results, procs)
        writer.close()
    for position in range(len(sources)):
        if position not in ended and outcome.inputs[position].error is None \
                and outcome.fatal is None and not should_stop():
            outcome.inputs[position].error = "its worker ended without finishing it"
    outcome.inputs = [o for i, o in enumerate(outcome.inputs) if i in ended or i in sinks or o.error]
    return outcome


def _drain(results: Any, procs: list) -> None:
    """Let the workers end: read (and drop) what they still send until every one has exited."""
    while any(p.is_alive() for p in procs):
        try:
            results.get(timeout=POLL_S)
        except queue.Empty:
            pass
    for proc in procs:
        proc.join()
