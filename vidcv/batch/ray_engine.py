"""The Ray engine of ``vidcv batch``: each input is one Ray task, run wherever the cluster has a free CPU.

A task gets the input's bytes, the pipeline bundle (its preset and the model files it names, put once in
the object store) and returns the files of the input's output folder, which the driver writes into the
batch's folder as each task ends; so workers need vidcv installed, not the inputs' folders nor the models.
The frames of one input stay in order in one task, so tracking and counting are right. A task whose node
dies is retried elsewhere by Ray (``MAX_RETRIES``); a bad input is a failed result, never a retried task.
Reaching the cluster, its token and the tasks' set-up are ``vidcv.jobs.cluster``'s.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from vidcv.batch.events import BatchEvent, InputStarted
from vidcv.batch.job import (
    InputJob,
    InputResult,
    JobFunction,
    commit_folder,
    remove_staging,
    run_job,
    staging_dir,
)
from vidcv.errors import error_line
from vidcv.fileio import make_dirs, write_bytes_atomic
from vidcv.jobs.bundle import PipelineBundle
from vidcv.jobs.cluster import Cluster, NotStarted, TaskSent, input_in_task, node_name, stream_tasks


def _ray_process(
    job: InputJob, bundle: PipelineBundle, data: bytes, task: JobFunction = run_job
) -> tuple[str, InputResult]:
    """The task: one input, in a temporary folder of the worker's machine; returns ``("result", InputResult)``
    holding its output files (not streamed: an input whose node dies is redone whole elsewhere)."""
    with input_in_task(os.path.basename(job.source), data) as given:
        source = given.path
        out_dir = os.path.join(given.folder, "out", "input")
        try:
            pipeline = bundle.build()
        except Exception as exc:  # noqa: BLE001 - this input's failure
            result = InputResult(job.index, "failed", error=error_line(exc))
        else:
            result = task(replace(job, source=source, out_dir=out_dir), pipeline, threads=given.threads)
        if result.error:
            result.error = result.error.replace(source, job.source)
        if os.path.isdir(out_dir):
            result.files = {}
            for name in sorted(os.listdir(out_dir)):
                with open(os.path.join(out_dir, name), "rb") as fh:
                    result.files[name] = fh.read()
    result.worker = node_name()
    return "result", result


def land_files(job: InputJob, files: dict[str, bytes]) -> None:
    """Write a task's output files into the input's folder here, whole (staging folder, then rename)."""
    staging = staging_dir(job.out_dir)
    remove_staging(job.out_dir)
    make_dirs(staging)
    for name, data in files.items():
        write_bytes_atomic(os.path.join(staging, os.path.basename(name)), data)
    commit_folder(staging, job.out_dir)


class RayEngine(Cluster):
    """Inputs of a batch as tasks on the Ray cluster at ``address`` (a local one, started here, when None); at
    most ``workers`` in flight (default: the cluster's CPUs), each with one CPU."""

    def __init__(
        self, address: str | None = None, workers: int | None = None, verbose: bool = False, task: JobFunction = run_job
    ) -> None:
        super().__init__(address, workers, verbose)
        self.task = task  #: what each input gets (``run_job``: what ``vidcv batch`` does)

    def prestart(self, count: int, warm_preset: str | None) -> None:
        """Reach the cluster (or start a local Ray) before the batch writes anything."""
        self.connect()

    def run(
        self, jobs: list[InputJob], bundle: PipelineBundle, emit: Callable[[BatchEvent], None], stop: threading.Event
    ) -> Iterator[InputResult]:
        ray = self.connect()
        try:
            yield from self._run(ray, jobs, bundle, emit, stop)
        finally:
            self.close()

    def _run(
        self,
        ray: Any,
        jobs: list[InputJob],
        bundle: PipelineBundle,
        emit: Callable[[BatchEvent], None],
        stop: threading.Event,
    ) -> Iterator[InputResult]:
        self.workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        bundle_ref = ray.put(bundle)
        by_index = {job.index: job for job in jobs}

        def arguments(job: InputJob) -> Callable[[], tuple[Any, ...]]:
            def read() -> tuple[Any, ...]:
                with open(job.source, "rb") as fh:
                    data = fh.read()
                emit(InputStarted(job.index, job.source, "ray"))
                return job, bundle_ref, data, self.task

            return read

        tasks = [(job.index, arguments(job)) for job in jobs]
        for event in stream_tasks(ray, _ray_process, tasks, self.workers, stop.is_set, stop.set, streaming=False):
            job = by_index[event.index]
            if isinstance(event, NotStarted):
                reason = event.error.strerror or event.error
                yield InputResult(job.index, "failed", error=f"cannot read {job.source}: {reason}")
            elif isinstance(event, TaskSent):
                result = event.message[1]
                if result.files is not None:
                    land_files(job, result.files)
                    result.files = None
                yield result
            elif event.cancelled:
                yield InputResult(job.index, "interrupted")
            elif event.error is not None:
                yield InputResult(job.index, "failed", error=event.error)
