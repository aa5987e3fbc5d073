"""Several video files into one dataset with detection on a Ray cluster and ONE writer (this process).

Each input is one Ray generator task: it gets the input's bytes and the pipeline bundle (its preset and the
model files it names, as ``vidcv batch --engine ray`` ships them), runs the input through its sampler and the
pipeline on whichever node has a free CPU, and streams the sampled frames back (``sampled_messages``: the
original image, detections, class) as it goes. This process holds the dataset's lock and files them with the
same ``Filing`` as the local workers, so the dataset is the one a sequential run makes, names, splits,
manifest and resume included. The manifest names the source and the models as this machine does, not as the
task's temporary copies are named. The tasks run on ``vidcv.jobs.cluster.stream_tasks``, as a batch's do: a
writer that lags holds them up rather than filling the object store, and a task whose node dies is rerun
elsewhere by Ray; frames it had sent already are not filed twice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from vidcv.dataset.existing import DatasetError
from vidcv.dataset.extract import ExtractOptions, open_writer, provenance
from vidcv.dataset.many import ManyOutcome, OnInput
from vidcv.dataset.parallel import Filing, Message, sampled_messages
from vidcv.jobs.bundle import PipelineBundle
from vidcv.jobs.cluster import Cluster, NotStarted, TaskSent, input_in_task, stream_tasks
from vidcv.redact import redact


def _ray_sample(
    position: int, label: str, name: str, data: bytes, bundle: PipelineBundle, options: ExtractOptions
) -> Iterator[Message]:
    """The task: one input written to a temporary folder of the worker's machine and run through the bundle's
    pipeline; yields the messages of ``sampled_messages`` (errors name the input as ``label``)."""
    from vidcv.errors import error_line

    with input_in_task(name, data) as given:
        try:
            pipeline = bundle.build()
        except Exception as exc:  # noqa: BLE001 - this input's failure
            yield "end", position, error_line(exc), {}
            return
        try:
            for message in sampled_messages(position, given.path, pipeline, options, threading.Event()):
                if message[0] == "end" and message[2]:
                    message = (*message[:2], message[2].replace(given.path, label), *message[3:])
                yield message
        finally:
            pipeline.close()


def extract_ray(
    sources: Sequence[str],
    preset: str,
    options: ExtractOptions,
    engine: Cluster,
    should_stop: Callable[[], bool],
    on_input: OnInput | None = None,
    on_open: Callable[[Any], None] | None = None,
) -> ManyOutcome:
    """Extract the video files ``sources`` into the dataset of ``options.out`` with one Ray task per input
    (at most ``engine.workers`` at once; default: the cluster's CPUs) and this process writing. The cluster
    is reached before the dataset is opened (locked); ``should_stop`` is polled (a signal): the tasks are
    then cancelled and what they sent is kept. The dataset is closed at the end, also on a stop or a fault."""
    if options.select:
        raise DatasetError(
            "--select scores an input's frames and reads the chosen ones again in one process: drop --workers "
            "and --engine ray (several inputs are then selected one after another)"
        )
    from vidcv.presets import find_preset, load_preset
    from vidcv.sources import parse_source

    pipeline = load_preset(find_preset(preset))  # checked here: a bad preset is one line before any task
    try:
        writer = open_writer(pipeline, options)
        bundle = PipelineBundle.from_pipeline(pipeline, ship_files=True)
        marks = [provenance(parse_source(spec), pipeline) for spec in sources]  # as a local run writes them
    finally:
        pipeline.close()
    ray = engine.connect()
    try:
        filing = Filing(writer, sources, options, on_input)
        writer.open()
        if on_open is not None:
            on_open(writer)
        try:
            _stream(ray, engine, sources, bundle, options, marks, filing, should_stop)
        finally:
            writer.close()
        return filing.finish(should_stop(), "its Ray task ended without finishing it")
    finally:
        engine.close()


def _stream(
    ray: Any,
    engine: Cluster,
    sources: Sequence[str],
    bundle: PipelineBundle,
    options: ExtractOptions,
    marks: list[dict],
    filing: Filing,
    should_stop: Callable[[], bool],
) -> None:
    """Run the tasks and file what they stream until every input ended, a stop, or a fault of the dataset."""
    workers = engine.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    bundle_ref = ray.put(bundle)

    def arguments(position: int) -> Callable[[], tuple[Any, ...]]:
        def read() -> tuple[Any, ...]:
            spec = sources[position]
            with open(spec, "rb") as fh:
                data = fh.read()
            return position, redact(spec), os.path.basename(spec), data, bundle_ref, options

        return read

    tasks = [(position, arguments(position)) for position in range(len(sources))]
    for event in stream_tasks(ray, _ray_sample, tasks, workers, should_stop):
        position = event.index
        if isinstance(event, NotStarted):
            reason = event.error.strerror or event.error
            filing.end(position, f"cannot read {redact(sources[position])}: {reason}")
        elif isinstance(event, TaskSent):
            message = event.message
            if not filing.file(message, marks[position] if message[0] == "start" else None):
                return  # a fault of the dataset: every input stops
        elif event.error is not None:
            filing.end(position, event.error)
