"""The Ray engine: each input is one Ray task, run wherever the cluster has a free CPU.

A task gets the input's bytes, the pipeline bundle (its preset and the model files it names, put once in
the object store) and returns the files of the input's output folder, which the driver writes into the
batch's folder as each task ends; so workers need vidcv installed, not the inputs' folders nor the models.
The frames of one input stay in order in one task, so tracking and counting are right. A task whose node
dies is retried elsewhere by Ray (``MAX_RETRIES``); a bad input is a failed result, never a retried task.

Ray is an optional extra (``pip install "vidcv[ray]"``); nothing here imports it before a batch asks for
this engine. Clusters made with ``ray start`` use token authentication: the driver presents the token of
``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token`` and never turns authentication off.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, NamedTuple

from vidcv.batch.bundle import PipelineBundle
from vidcv.batch.events import BatchEvent, InputStarted
from vidcv.batch.job import (
    InputJob,
    InputResult,
    JobFunction,
    apply_thread_budget,
    commit_folder,
    remove_staging,
    run_job,
    staging_dir,
)
from vidcv.batch.single import describe_error
from vidcv.errors import VidcvError
from vidcv.fileio import make_dirs, write_bytes_atomic

log = logging.getLogger(__name__)

MAX_RETRIES = 3  #: times Ray reruns an input's task whose worker or node died
INSTALL_HINT = 'pip install "vidcv[ray]"'


class RayEngineError(VidcvError):
    """Ray is missing, or the cluster cannot be reached."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayEngineError(f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def first_line(exc: BaseException) -> str:
    """An exception's message as one line (Ray's span many: its first), or its type when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def auth_token_available() -> bool:
    """Whether a Ray token is at hand: ``RAY_AUTH_TOKEN``, the file ``RAY_AUTH_TOKEN_PATH`` names, or
    ``~/.ray/auth_token`` (where ``ray get-auth-token --generate`` puts it)."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.join(os.path.expanduser("~"), ".ray", "auth_token")
    return os.path.isfile(path)


class TaskInput(NamedTuple):
    """An input as a Ray task holds it: its file on the task's machine, the task's temporary folder (which
    holds that file under ``in/``), and the threads the task may use (its CPUs)."""

    path: str
    folder: str
    threads: int


@contextmanager
def input_in_task(name: str, data: bytes) -> Iterator[TaskInput]:
    """In a Ray task: OpenCV's logs quiet, OpenCV's and ONNX Runtime's threads set to the task's CPUs, and the
    input's bytes written as ``name`` into a temporary folder of this machine, removed at the end."""
    import ray

    from vidcv.sources.base import quiet_opencv_logs

    quiet_opencv_logs()
    threads = max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1)))
    apply_thread_budget(threads)
    work = tempfile.mkdtemp(prefix="vidcv-ray-")
    try:
        source = os.path.join(work, "in", name or "input")
        os.makedirs(os.path.dirname(source))
        with open(source, "wb") as fh:
            fh.write(data)
        yield TaskInput(source, work, threads)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ray_process(job: InputJob, bundle: PipelineBundle, data: bytes, task: JobFunction = run_job) -> InputResult:
    """The task: one input, in a temporary folder of the worker's machine; returns its output files."""
    import ray

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
    result.worker = f"{ray.util.get_node_ip_address()}:{os.getpid()}"
    return result


def land_files(job: InputJob, files: dict[str, bytes]) -> None:
    """Write a task's output files into the input's folder here, whole (staging folder, then rename)."""
    staging = staging_dir(job.out_dir)
    remove_staging(job.out_dir)
    make_dirs(staging)
    for name, data in files.items():
        write_bytes_atomic(os.path.join(staging, os.path.basename(name)), data)
    commit_folder(staging, job.out_dir)


class RayEngine:
    """Tasks on the Ray cluster at ``address`` (a local one, started here, when None); at most ``workers``
    in flight (default: the cluster's CPUs), each with one CPU."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, verbose: bool = False,
                 task: JobFunction = run_job) -> None:
        self.task = task  #: what each input gets (``run_job``: what ``vidcv batch`` does)
        self.address = address
        self.workers = workers
        self.verbose = verbose
        self._started_here = False

    def prestart(self, count: int, warm_preset: str | None) -> None:
        """Reach the cluster (or start a local Ray) before the batch writes anything."""
        self.connect()

    def close(self) -> None:
        """Shut down the Ray this engine started on this machine, if it did."""
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False

    def connect(self) -> Any:
        """Ray, connected to the cluster (or a local one started)."""
        if self.address and "RAY_AUTH_MODE" not in os.environ and auth_token_available():
            # an explicit address: Ray presents a token only when told to (read as Ray loads: set it first)
            os.environ["RAY_AUTH_MODE"] = "token"
        if not self.address:
            # a Ray started for this batch serves this machine only: on 127.0.0.1, not the network's address
            # (Ray's switch for single-machine use; read as Ray loads)
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        ray = import_ray()
        if ray.is_initialized():
            return ray
        options: dict[str, Any] = {"log_to_driver": self.verbose, "logging_level": logging.INFO if self.verbose
                                   else logging.ERROR}
        main = threading.current_thread() is threading.main_thread()
        sigterm = signal.getsignal(signal.SIGTERM) if main else None
        try:
            if self.address:
                ray.init(address=self.address, **options)
            else:
                ray.init(include_dashboard=False, **options)
                self._started_here = True
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayEngineError(self._refusal(exc)) from None
        finally:
            if sigterm is not None:  # ray.init puts in its own, which exits at once: vidcv's stops cleanly
                signal.signal(signal.SIGTERM, sigterm)
        return ray

    def _refusal(self, exc: BaseException) -> str:
        """What to tell a user whose connection failed: a refused token is said as such, with the fix."""
        detail = f"{exc} {exc.__cause__ or ''}"
        if self.address and ("InvalidAuthToken" in detail or "AuthenticationError" in detail):
            given = ("the token given here is not the cluster's" if auth_token_available() else
                     "no token was given here")
            return (f"the Ray cluster at {self.address} refused the connection: it uses token authentication and "
                    f"{given}; run `ray get-auth-token` on its head node and export RAY_AUTH_TOKEN=<that token> "
                    "here (or save it as ~/.ray/auth_token)")
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
        return (f"cannot connect to {where}: {first_line(exc)} (is the address the head node's HOST:PORT, and is "
                "it running?)")

    def run(self, jobs: list[InputJob], bundle: PipelineBundle, emit: Callable[[BatchEvent], None],
            stop: threading.Event) -> Iterator[InputResult]:
        ray = self.connect()
        try:
            yield from self._run(ray, jobs, bundle, emit, stop)
        finally:
            self.close()

    def _run(self, ray: Any, jobs: list[InputJob], bundle: PipelineBundle, emit: Callable[[BatchEvent], None],
             stop: threading.Event) -> Iterator[InputResult]:
        from ray.exceptions import RayError

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
                        yield InputResult(job.index, "failed", error=f"cannot read {job.source}: "
                                                                     f"{exc.strerror or exc}")
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
