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
from collections import deque
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
from vidcv.batch.single import describe_error
from vidcv.fileio import make_dirs, write_bytes_atomic
from vidcv.jobs.bundle import PipelineBundle
from vidcv.jobs.cluster import MAX_RETRIES, Cluster, first_line, input_in_task, node_name, ray_error


def _ray_process(job: InputJob, bundle: PipelineBundle, data: bytes, task: JobFunction = run_job) -> InputResult:
    """The task: one input, in a temporary folder of the worker's machine; returns its output files."""
    with input_in_task(os.path.basename(job.source), data) as given:
        source = given.path
        out_dir = os.path.join(given.folder, "out", "input")
        try:
            pipeline = bundle.build()
        except Exception as exc:  # noqa: BLE001 - this input's failure
            result = InputResult(job.index, "failed", error=describe_error(exc))
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
    return result


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
        RayError = ray_error()
        task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_ray_process)
        self.workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        bundle_ref = ray.put(bundle)
        pending = deque(jobs)
        inflight: dict[Any, InputJob] = {}
        try:
            while pending or inflight:
                while pending and len(inflight) < self.workers and not stop.is_set():
                    job = pending.popleft()
                    try:
                        with open(job.source, "rb") as fh:
                            data = fh.read()
                    except OSError as exc:
                        yield InputResult(job.index, "failed", error=f"cannot read {job.source}: {exc.strerror or exc}")
                        continue
                    inflight[task.remote(job, bundle_ref, data, self.task)] = job
                    emit(InputStarted(job.index, job.source, "ray"))
                if stop.is_set():
                    pending.clear()
                    for ref in inflight:
                        ray.cancel(ref, force=True)
                    for job in inflight.values():
                        yield InputResult(job.index, "interrupted")
                    inflight.clear()
                    break
                if not inflight:
                    continue
                try:
                    ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.25)
                except KeyboardInterrupt:
                    stop.set()
                    continue
                for ref in ready:
                    job = inflight.pop(ref)
                    try:
                        result = ray.get(ref)
                    except RayError as exc:  # its node died more than MAX_RETRIES times, or Ray failed
                        result = InputResult(job.index, "failed", error=f"the Ray task failed: {first_line(exc)}")
                    if result.files is not None:
                        land_files(job, result.files)
                        result.files = None
                    yield result
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)
