"""Worker processes on this machine: the one module that starts them, for every job kind (``vidcv batch``'s
inputs, ``vidcv extract``'s detection workers), and the child that ``vidcv train`` runs ultralytics in
(``start_module``: a program of its own, in a session of its own, spoken to through its stdin and stdout).

A worker is started with ``spawn`` (no copy of the parent's threads, the same on every platform), with SIGINT
ignored while it starts (a Ctrl-C then is no crash), and sets itself up with ``init_worker``: stop signals
ignored (its parent stops it through an event, so that each finalises cleanly), death with its parent
(``PR_SET_PDEATHSIG`` on Linux, and ``Parent.alive`` checked as it runs: a killed batch leaves no worker
writing behind it), its share of the cores for OpenCV and ONNX Runtime, and malloc tuned for frames as
vidcv's own process is (``vidcv.tuning``).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from typing import Any

__all__ = [
    "THREAD_ENV",
    "Connection",
    "Parent",
    "apply_thread_budget",
    "context",
    "init_worker",
    "kill_group",
    "start",
    "start_module",
    "thread_share",
    "wait",
    "worker_name",
]

#: Environment variables of the numeric libraries' thread pools (read when they load).
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def context() -> Any:
    """The ``spawn`` context: its ``Queue``, ``Event`` and ``Pipe`` are what workers and their parent share."""
    return mp.get_context("spawn")


def worker_name() -> str:
    """This process as a ledger records it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def thread_share(workers: int, cores: int | None = None) -> int:
    """Threads each of ``workers`` processes may use on ``cores`` cores (all of this machine's by default)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))


def apply_thread_budget(threads: int) -> None:
    """Give this process's OpenCV and ONNX Runtime (sessions made from now on) ``threads`` threads."""
    import cv2

    from vidcv.inference.providers import set_default_threads

    cv2.setNumThreads(threads)
    set_default_threads(threads)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile (main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def start(target: Callable[..., None], args: tuple[Any, ...], name: str, threads: int) -> Any:
    """Start a daemon worker process running ``target(*args)``, whose numeric libraries get ``threads``
    threads each; the process."""
    for var in THREAD_ENV:  # read by the numeric libraries as the worker imports them
        os.environ.setdefault(var, str(threads))
    process = context().Process(target=target, args=args, name=name, daemon=True)
    with _sigint_ignored():  # inherited through exec: a Ctrl-C while the worker starts up is no crash
        process.start()
    return process


class Parent:
    """The process that started this worker, as the worker sees it: gone when the worker has been handed to
    another parent."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def alive(self) -> bool:
        return os.getppid() == self.pid


def _die_with(parent: Parent) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the parent check as the worker runs remains
    if not parent.alive():
        os._exit(1)


def init_worker(parent_pid: int, threads: int, log_level: int | None = None, ignore_sigterm: bool = False) -> Parent:
    """Set this worker process up (see the module's docstring); its parent. ``log_level`` configures logging
    for a worker that logs (its errors only unless the parent asked for INFO or DEBUG, and OpenCV's own lines
    quiet); ``ignore_sigterm`` for a worker whose parent stops it, when a signal reaches the whole group."""
    from vidcv.tuning import tune_malloc

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the worker itself
    if ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = Parent(parent_pid)
    _die_with(parent)
    if log_level is not None:
        logging.basicConfig(
            level=log_level if log_level <= logging.INFO else logging.ERROR,
            format="vidcv: %(levelname)s: %(message)s",
        )
        if log_level > logging.INFO:
            from vidcv.sources.base import quiet_opencv_logs

            quiet_opencv_logs()
    apply_thread_budget(threads)
    tune_malloc()  # as `vidcv` does for its own process: frame buffers reused, not faulted in anew each frame
    return parent


def start_module(
    module: str, args: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``python -m MODULE ARGS`` (this interpreter) in a session and process group of its own, with pipes
    to its stdin and from its stdout; its stderr is this process's. A Ctrl-C at the terminal (or ``timeout``
    signalling this process's group) reaches this process alone, which stops the child as it chooses: through
    the child's stdin, or ``kill_group`` at once. A child that must not outlive this process reads its stdin:
    the end of it means this process has gone, however it ended (no ``PR_SET_PDEATHSIG``, which follows the
    thread that started the child, not the process)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=None if env is None else dict(env),
        start_new_session=True,
        close_fds=True,
    )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child started by ``start_module`` and every process it started (its process group: a data
    loader's workers); nothing when it has already ended."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
