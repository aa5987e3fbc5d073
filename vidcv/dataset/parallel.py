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

import os
import pickle
import queue
from collections.abc import Callable, Iterator, Sequence
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
    source_stem,
)
from vidcv.dataset.many import InputOutcome, ManyOutcome, OnInput
from vidcv.dataset.sampling import Sampler
from vidcv.dataset.writer import Dataset
from vidcv.errors import OutputError
from vidcv.frame import Frame
from vidcv.jobs import processes
from vidcv.jobs.processes import Parent
from vidcv.pipeline import Pipeline
from vidcv.redact import redact
from vidcv.sinks.base import Sink

#: A worker's message: ("start" | "frame" | "end", position, ...); see ``sampled_messages``.
Message = tuple

QUEUE_FRAMES = 32  #: frames in flight from the workers to the writer at most
POLL_S = 0.1


def _put(results: Any, message: tuple, stop: Any, parent: Parent) -> bool:
    """Send ``message``, pickled here (the queue's own feeder thread would only print a traceback for one that
    cannot be pickled, and drop it); False when the run stops or the writer is gone before there is room."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    while parent.alive():
        try:
            results.put(data, timeout=POLL_S)
            return True
        except queue.Full:
            if stop.is_set():
                return False
    return False


class _InboxSink(Sink):
    """A detecting run's sink: every sampled frame (its original image copied, the run may reuse the buffer),
    into ``inbox`` for the messages' reader; waits while the inbox is full, unless ``halt`` is set."""

    needs_color_source = True

    def __init__(self, position: int, inbox: queue.Queue, halt: Any) -> None:
        self.position, self.inbox, self.halt = position, inbox, halt

    def write(self, frame: Frame) -> None:
        message = (
            "frame",
            self.position,
            frame.index,
            frame.pts_ms,
            np.array(frame.source_image, copy=True),
            frame.detections,
            frame.classification,
        )
        while not self.halt.is_set():
            try:
                self.inbox.put(message, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Nothing to finalise: the writer files the frames."""


def sampled_messages(
    position: int, spec: str, pipeline: Pipeline, options: ExtractOptions, halt: Any
) -> Iterator[Message]:
    """The messages of one input run through its sampler and ``pipeline`` where this code runs (a worker
    process, a Ray task): ``("start", position, provenance, length)`` once the source opened, then
    ``("frame", position, index, pts_ms, image, detections, classification)`` per sampled frame in order, then
    ``("end", position, error or None, skipped)``. Setting ``halt`` (anything with ``is_set``) stops the run
    at its current frame; what it sampled until then still comes, then the end."""
    from vidcv.runner import Runner
    from vidcv.sources import parse_source

    sampler = Sampler(options.every, options.fps, options.dedupe, options.min_sharpness)
    inbox: queue.Queue = queue.Queue(QUEUE_FRAMES)
    error: BaseException | None = None
    try:
        pipeline.reset()  # no tracker state carries over from one video to the next
        inner = parse_source(spec)
        runner = Runner(
            SampledSource(inner, sampler), pipeline, [_InboxSink(position, inbox, halt)], max_frames=options.max_frames
        )
        runner.open()
    except Exception as exc:  # noqa: BLE001 - the input fails, the worker takes the next one
        error = exc
    else:
        yield "start", position, provenance(inner, pipeline), None if inner.live else inner.frame_count
        runner.start()
        try:
            while True:
                try:
                    yield inbox.get(timeout=POLL_S)
                except queue.Empty:
                    if halt.is_set():
                        runner.request_stop()
                    if runner.wait(0):
                        break
            while not inbox.empty():  # what the sink put before the run ended
                yield inbox.get_nowait()
        finally:  # also when the reader stops reading (closes this generator)
            runner.request_stop()
            runner.join()
        error = runner.error
    text = None if error is None else redact(str(error)) or type(error).__name__
    yield "end", position, text, dict(sampler.skipped)


def _work(
    preset: str, options: ExtractOptions, tasks: Any, results: Any, stop: Any, parent_pid: int, threads: int
) -> None:
    """A worker process: inputs from ``tasks`` until None, each through the sampler and the pipeline, with
    ``threads`` threads for OpenCV and ONNX Runtime (its share of the cores, as a batch worker has)."""
    from vidcv.presets import find_preset, load_preset

    # the writer stops the run; Ctrl-C and SIGTERM reach the whole group
    parent = processes.init_worker(parent_pid, threads, ignore_sigterm=True)
    pipeline = load_preset(find_preset(preset))
    while parent.alive() and not stop.is_set():
        try:
            task = tasks.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if task is None:
            break
        position, spec = task
        messages = sampled_messages(position, spec, pipeline, options, stop)
        for message in messages:
            if not _put(results, message, stop, parent):
                stop.set()  # the run stops or the writer is gone: the generator's end stops the run
                messages.close()
                break
    pipeline.close()
    if not parent.alive():
        # nobody reads what is still buffered (another worker holding the pipe would keep this one waiting)
        results.cancel_join_thread()
        tasks.cancel_join_thread()


class Filing:
    """The writer's side: the messages of ``sampled_messages``, from any number of inputs interleaved, filed
    into ``writer`` with each input's own filter, name stem and split run length, so that the dataset is the
    one a sequential run makes. ``outcome`` holds what each input added."""

    def __init__(
        self, writer: Dataset, sources: Sequence[str], options: ExtractOptions, on_input: OnInput | None = None
    ) -> None:
        self.writer, self.sources, self.on_input = writer, list(sources), on_input
        self.outcome = ManyOutcome(writer, [InputOutcome(spec) for spec in sources])
        self.classes = {c.strip() for c in options.classes.split(",") if c.strip()} or None
        self.min_conf = options.min_conf
        self.ratio = float("inf") if options.negatives_only else options.negatives
        self.sinks: dict[int, DatasetSink] = {}
        self.ended: set[int] = set()

    @property
    def done(self) -> bool:
        return len(self.ended) == len(self.sources)

    def file(self, message: Message, provenance: dict | None = None) -> bool:
        """File one message (``provenance`` replaces a start's own: the manifest's, as the writer's machine
        names the source and the models); False on a fault of the dataset, which stops every input."""
        kind, position = message[0], message[1]
        result = self.outcome.inputs[position]
        if kind == "start":
            if position in self.sinks:  # a retried task starts again: its frames are the ones already filed
                return True
            spec = self.sources[position]
            if self.on_input is not None:
                self.on_input(position, len(self.sources), spec)
            stem = source_stem(spec)
            self.writer.set_length(message[3], stem)
            self.sinks[position] = DatasetSink(
                self.writer,
                LabelFilter(self.classes, self.min_conf, self.ratio),
                stem,
                provenance or message[2],
                owns_writer=False,
            )
        elif kind == "frame":
            if position not in self.sinks or position in self.ended:
                return True
            w = self.writer
            before = (sum(w.kept.values()), w.positives, w.negatives)
            try:
                self.sinks[position].keep(*message[2:])
            except (DatasetError, OutputError, OSError) as exc:
                self.outcome.fatal = result.error = redact(str(exc))
                return False
            result.kept += sum(w.kept.values()) - before[0]
            result.positives += w.positives - before[1]
            result.negatives += w.negatives - before[2]
        else:  # end
            self.end(position, message[2], message[3])
        return True

    def end(self, position: int, error: str | None, skipped: dict[str, int] | None = None) -> None:
        """Input ``position`` ended (with ``error``, or None when it ran to its end)."""
        if position in self.ended:
            return
        self.ended.add(position)
        result = self.outcome.inputs[position]
        result.error = error
        sink = self.sinks.get(position)
        result.skipped = {**(skipped or {}), **(sink.labels.skipped if sink else {})}
        if error is not None and self.on_input is not None and position not in self.sinks:
            self.on_input(position, len(self.sources), self.sources[position])

    def finish(self, stopped: bool, lost: str) -> ManyOutcome:
        """The outcome, with ``lost`` as the error of inputs started but never ended, unless the run was
        ``stopped`` or a fault of the dataset stopped it; inputs never reached are left out."""
        outcome = self.outcome
        for position, result in enumerate(outcome.inputs):
            if position not in self.ended and result.error is None and outcome.fatal is None and not stopped:
                result.error = lost
        outcome.inputs = [o for i, o in enumerate(outcome.inputs) if i in self.ended or i in self.sinks or o.error]
        return outcome


def extract_parallel(
    sources: Sequence[str],
    preset: str,
    options: ExtractOptions,
    workers: int,
    should_stop: Callable[[], bool],
    on_input: OnInput | None = None,
    on_open: Callable[[Any], None] | None = None,
) -> ManyOutcome:
    """Extract ``sources`` into the dataset of ``options.out`` with ``workers`` processes detecting and this one
    writing. ``should_stop`` is polled (a signal): the workers then stop and what they sent is filed. The
    dataset is opened (locked) before the workers start and closed at the end, also on a stop or a fault."""
    from vidcv.presets import find_preset, load_preset

    pipeline = load_preset(find_preset(preset))  # checked here: a bad preset is one line before any worker
    writer = open_writer(pipeline, options)
    pipeline.close()
    filing = Filing(writer, sources, options, on_input)
    ctx = processes.context()
    tasks, results, stop = ctx.Queue(), ctx.Queue(QUEUE_FRAMES), ctx.Event()
    for position, spec in enumerate(sources):
        tasks.put((position, spec))
    count = max(1, min(workers, len(sources)))
    for _ in range(count):
        tasks.put(None)
    writer.open()
    if on_open is not None:
        on_open(writer)
    threads = processes.thread_share(count)
    procs: list[Any] = []
    try:
        for i in range(count):
            procs.append(
                processes.start(
                    _work, (preset, options, tasks, results, stop, os.getpid(), threads), f"vidcv-extract-{i}", threads
                )
            )
        while not filing.done:
            if should_stop() and not stop.is_set():
                stop.set()
            try:
                message = pickle.loads(results.get(timeout=POLL_S))
            except queue.Empty:
                if not any(p.is_alive() for p in procs):
                    break  # every worker ended (stopped, or died) and nothing is left to read
                continue
            if not filing.file(message):
                break
    finally:
        stop.set()
        _drain(results, procs)
        writer.close()
    return filing.finish(should_stop(), "its worker ended without finishing it")


def _drain(results: Any, procs: list) -> None:
    """Let the workers end: read (and drop) what they still send until every one has exited."""
    while any(p.is_alive() for p in procs):
        try:
            results.get(timeout=POLL_S)
        except queue.Empty:
            pass
    for proc in procs:
        proc.join()
