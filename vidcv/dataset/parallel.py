"""Several sources into one dataset with detection in worker processes and ONE writer (this process).

Each input is a job of the local executor (``vidcv.jobs.pool``): a worker, which loaded the pipeline once,
reads the input through its sampler and the pipeline and sends every sampled frame (original image,
detections, class) back. This process holds the dataset's lock and files the frames as they come, with each
input's own filter, name digest and split run length, so the dataset is the one a sequential run makes, the
same resume included (the journal and the lock are the writer's alone). A worker waits while its frames are
not read yet: a writer that lags holds the workers up rather than filling memory. A stop (Ctrl-C, SIGTERM)
stops the workers at their current frame and files what they sent; workers die with a killed writer.
"""

from __future__ import annotations

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
from vidcv.errors import OutputError, error_line
from vidcv.frame import Frame
from vidcv.jobs import processes
from vidcv.jobs.pool import Died, Pool, Sent, WorkerTask
from vidcv.pipeline import Pipeline
from vidcv.sinks.base import Sink

#: A worker's message: ("start" | "frame" | "end", position, ...); see ``sampled_messages``.
Message = tuple

QUEUE_FRAMES = 32  #: frames in flight from the workers to the writer at most
POLL_S = 0.1


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
    text = None if error is None else error_line(error)
    yield "end", position, text, dict(sampler.skipped)


class _Halt:
    """``should_stop`` as ``sampled_messages`` asks it (``is_set``)."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.is_set = should_stop


def _load(context: tuple[str, ExtractOptions]) -> tuple[Pipeline, ExtractOptions]:
    """A worker's pipeline, loaded once from the preset (the writer checked it already)."""
    from vidcv.presets import find_preset, load_preset

    preset, options = context
    return load_preset(find_preset(preset)), options


def _sample(
    state: tuple[Pipeline, ExtractOptions],
    job: tuple[int, str],
    threads: int,
    should_stop: Callable[[], bool],
    emit: Callable[[Message], None],
) -> None:
    """One input in a worker: ``sampled_messages`` of input ``job`` (position, source), each sent as it comes."""
    pipeline, options = state
    position, spec = job
    for message in sampled_messages(position, spec, pipeline, options, _Halt(should_stop)):
        emit(message)


def _close(state: tuple[Pipeline, ExtractOptions]) -> None:
    state[0].close()


#: what ``vidcv extract``'s workers do: the writer stops them, when a signal reaches the whole group too
EXTRACT_WORK = WorkerTask(setup=_load, run=_sample, teardown=_close, ignore_sigterm=True)


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
                self.outcome.fatal = result.error = error_line(exc)
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
    if options.select:
        raise DatasetError(
            "--select scores an input's frames and reads the chosen ones again in one process: drop --workers "
            "and --engine ray (several inputs are then selected one after another)"
        )
    from vidcv.presets import find_preset, load_preset

    pipeline = load_preset(find_preset(preset))  # checked here: a bad preset is one line before any worker
    writer = open_writer(pipeline, options)
    pipeline.close()
    filing = Filing(writer, sources, options, on_input)
    count = max(1, min(workers, len(sources)))
    pool = Pool(EXTRACT_WORK, count, processes.thread_share(count), log_level=None, name="vidcv-extract")
    lost = "its worker ended without finishing it"
    writer.open()
    try:
        if on_open is not None:
            on_open(writer)
        jobs = [(position, (position, spec)) for position, spec in enumerate(sources)]
        for event in pool.run(jobs, (preset, options), should_stop):
            if isinstance(event, Sent) and not filing.file(event.message):
                break  # a fault of the dataset: every input stops
            if isinstance(event, Died) and not event.stopped:
                filing.end(event.index, lost)
    finally:
        pool.close()
        writer.close()
    return filing.finish(should_stop(), lost)
