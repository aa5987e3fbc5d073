"""Several video files into one dataset with detection on a Ray cluster and ONE writer (this process).

Each input is one Ray generator task: it gets the input's bytes and the pipeline bundle (its preset and the
model files it names, as ``vidcv batch --engine ray`` ships them), runs the input through its sampler and the
pipeline on whichever node has a free CPU, and streams the sampled frames back (``sampled_messages``: the
original image, detections, class) as it goes. This process holds the dataset's lock and files them with the
same ``Filing`` as the local workers, so the dataset is the one a sequential run makes, names, splits,
manifest and resume included. The manifest names the source and the models as this machine does, not as the
task's temporary copies are named. Ray holds at most ``BACKPRESSURE`` frames of a task unread, so a writer
that lags holds the tasks up rather than filling the object store. A task whose node dies is rerun
elsewhere by Ray (``MAX_RETRIES``); frames it had sent already are not filed twice.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from vidcv.dataset.extract import ExtractOptions, open_writer, provenance
from vidcv.dataset.many import ManyOutcome, OnInput
from vidcv.dataset.parallel import Filing, Message, sampled_messages
from vidcv.jobs.bundle import PipelineBundle
from vidcv.jobs.cluster import MAX_RETRIES, Cluster, first_line, input_in_task, ray_error
from vidcv.redact import redact

BACKPRESSURE = 32  #: frames a task may have sent that the writer has not read yet
POLL_S = 0.25


def _ray_sample(
    position: int, label: str, name: str, data: bytes, bundle: PipelineBundle, options: ExtractOptions
) -> Iterator[Message]:
    """The task: one input written to a temporary folder of the worker's machine and run through the bundle's
    pipeline; yields the messages of ``sampled_messages`` (errors name the input as ``label``)."""
    from vidcv.batch.single import describe_error

    with input_in_task(name, data) as given:
        try:
            pipeline = bundle.build()
        except Exception as exc:  # noqa: BLE001 - this input's failure
            yield "end", position, describe_error(exc), {}
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
    RayError = ray_error()
    task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_ray_sample).options(
        _generator_backpressure_num_objects=BACKPRESSURE
    )
    workers = engine.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    bundle_ref = ray.put(bundle)
    pending = deque(range(len(sources)))
    inflight: dict[Any, int] = {}
    try:
        while (pending or inflight) and not should_stop():
            while pending and len(inflight) < workers:
                position = pending.popleft()
                spec = sources[position]
                try:
                    with open(spec, "rb") as fh:
                        data = fh.read()
                except OSError as exc:
                    filing.end(position, f"cannot read {redact(spec)}: {exc.strerror or exc}")
                    continue
                inflight[task.remote(position, redact(spec), os.path.basename(spec), data, bundle_ref, options)] = (
                    position
                )
            if not inflight:
                continue
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=POLL_S)
            for gen in ready:
                position = inflight[gen]
                try:
                    message = ray.get(next(gen))
                except StopIteration:
                    del inflight[gen]
                    continue
                except RayError as exc:  # its node died more than MAX_RETRIES times, or Ray failed
                    del inflight[gen]
                    filing.end(position, f"the Ray task failed: {first_line(exc)}")
                    continue
                start = message[0] == "start"
                if not filing.file(message, marks[position] if start else None):
                    return  # a fault of the dataset: every input stops
                if message[0] == "end":
                    del inflight[gen]
    finally:
        for gen in inflight:
            ray.cancel(gen, force=True)
