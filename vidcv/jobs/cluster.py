"""Ray clusters: the one module that imports Ray, for every job kind (``vidcv batch --engine ray`` and
``vidcv extract --engine ray``).

Ray is an optional extra (``pip install "vidcv[ray]"``); nothing imports it before a command asks for a
cluster. Clusters made with ``ray start`` use token authentication: the driver presents the token of
``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token`` and never turns authentication off.

Reaching a cluster has a deadline (``connect_ray``): Ray's own client retries an address where nothing answers
forever, and ignores Ctrl-C while it does. The head's port must accept a TCP connection within ``PROBE_S``,
and ``ray.init`` must end within ``INIT_S`` (it runs in a thread that is abandoned when it does not); SIGINT
and SIGTERM end the wait at once. A cluster that cannot be reached is one line (``RayEngineError``). In a task,
``input_in_task`` lays the input's bytes out on the worker's machine and gives it the task's CPUs.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from vidcv.errors import VidcvError
from vidcv.jobs.processes import apply_thread_budget

MAX_RETRIES = 3  #: times Ray reruns an input's task whose worker or node died
INSTALL_HINT = 'pip install "vidcv[ray]"'
PROBE_S = 4.0  #: how long the head's port may take to accept a TCP connection (tried again while refused)
INIT_S = 20.0  #: how long ray.init may take once the port accepts
#: times ray.init asks the head's GCS, a second or more apart, before it says why it failed (a refused token):
#: Ray's default (20) outlasts INIT_S; Ray's variable for it, when set, wins
GCS_TRIES = 10
GCS_TRIES_VAR = "RAY_gcs_server_port_wait_time_s"


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


def head_host_port(address: str) -> tuple[str, int] | None:
    """HOST and PORT of a Ray address (``HOST:PORT``, ``[IPv6]:PORT``, ``ray://HOST:PORT``); None for one that
    Ray resolves itself (``auto``)."""
    rest = address.strip().split("://", 1)[-1].split("/", 1)[0]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return None
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return (host, int(port)) if host else None


def start_hint(host: str, port: int) -> str:
    """How to start the head that an address names."""
    where = "this machine" if host in ("127.0.0.1", "localhost", "::1") else host
    return f"start one on {where} with `ray start --head --port={port}`, or give the running head's HOST:PORT"


class _Late(Exception):
    """A call run by ``_within`` did not end in time."""


def _within(fn: Callable[[], Any], seconds: float, name: str) -> Any:
    """``fn()`` in a daemon thread, waited for at most ``seconds``: its result, or its exception; ``_Late`` when
    it has not ended by then (the thread is abandoned). A signal handler of the main thread that raises ends
    the wait at once."""
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def call() -> None:
        try:
            outcome.append((True, fn()))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=call, name=name, daemon=True).start()
    if not done.wait(seconds):
        raise _Late(name)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def probe_head(address: str, within_s: float = PROBE_S) -> None:
    """RayEngineError (one line) unless the host and port of ``address`` accept a TCP connection within
    ``within_s``; a refused connection is tried again until then (a head that is starting)."""
    where = head_host_port(address)
    if where is None:
        return
    host, port = where
    deadline = time.monotonic() + within_s

    def attempt() -> None:
        with socket.create_connection((host, port), timeout=max(0.2, deadline - time.monotonic())):
            pass

    tries = 0
    while True:
        tries += 1
        try:
            _within(attempt, max(0.2, deadline - time.monotonic()) + 0.5, "vidcv-ray-probe")  # name look-ups too
            return
        except socket.gaierror as exc:
            raise RayEngineError(
                f"cannot reach the Ray cluster at {address}: the host name {host} is unknown here "
                f"({exc.strerror or exc}); give the head node's HOST:PORT"
            ) from None
        except (OSError, _Late) as exc:
            refused = isinstance(exc, ConnectionRefusedError)
            if refused and time.monotonic() + 0.5 < deadline:
                time.sleep(0.5)
                continue
            if refused:
                what = (
                    f"nothing listens there ({tries} TCP connection{'s' if tries > 1 else ''} to {host}:{port} "
                    f"in {within_s:g} s refused)"
                )
            elif isinstance(exc, (TimeoutError, _Late)):
                what = f"a TCP connection to {host}:{port} got no answer in {within_s:g} s"
            else:
                what = f"a TCP connection to {host}:{port} failed ({(exc.strerror or str(exc)).lower()})"
            raise RayEngineError(
                f"cannot reach the Ray cluster at {address}: {what}; {start_hint(host, port)}"
            ) from None


@contextmanager
def interruptible() -> Iterator[None]:
    """While entered (main thread), SIGINT and SIGTERM raise ``Interrupted`` at once, whatever the command's
    own handlers do (once a run has started they only record a signal): waiting for a cluster ends at once.
    A signal that the process was started with ignored stays ignored; the handlers come back on exit."""
    from vidcv.signals import STOP_SIGNALS, Interrupted

    def handle(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    saved: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                saved[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


@contextmanager
def muted_stderr(enabled: bool = True) -> Iterator[None]:
    """File descriptor 2 on the null device while entered: Ray's C++ client writes its retries there, not
    through Python's logging."""
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def connect_ray(ray: Any, address: str, verbose: bool = False, **options: Any) -> None:
    """``ray.init(address=address, **options)`` with a deadline, for every command that reaches a cluster:
    RayEngineError (one line: the address, what was tried, how to start a head) when the head's port does not
    accept a TCP connection within ``PROBE_S`` or ``ray.init`` has not ended ``INIT_S`` later (a port that
    accepts but is no Ray head; the call is then abandoned in its thread). SIGINT and SIGTERM end the wait
    (``Interrupted``). Ray's own lines on stderr are muted meanwhile, unless ``verbose``. Other exceptions of
    ``ray.init`` (a refused token) are raised as they are."""
    with interruptible():
        probe_head(address)
        host, port = head_host_port(address) or (address, 0)
        ours = GCS_TRIES_VAR not in os.environ
        if ours:
            os.environ[GCS_TRIES_VAR] = str(GCS_TRIES)  # read by ray.init as it connects
        try:
            with muted_stderr(not verbose):
                _within(lambda: ray.init(address=address, **options), INIT_S, "vidcv-ray-init")
        except _Late:
            hint = start_hint(host, port) if port else "give the running head's HOST:PORT"
            raise RayEngineError(
                f"cannot connect to the Ray cluster at {address}: its port accepts TCP connections "
                f"but no Ray head answered in {INIT_S:g} s (is it the head's GCS port?); {hint}"
            ) from None
        finally:
            if ours:
                os.environ.pop(GCS_TRIES_VAR, None)


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


class Cluster:
    """The Ray cluster at ``address`` (a local one, started here, when None) for tasks of one CPU each, at most
    ``workers`` in flight (default: the cluster's CPUs)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, verbose: bool = False) -> None:
        self.address = address
        self.workers = workers
        self.verbose = verbose
        self._started_here = False

    def close(self) -> None:
        """Shut down the Ray this engine started on this machine, if it did."""
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False

    def connect(self) -> Any:
        """Ray, connected to the cluster (``connect_ray``: with a deadline) or a local one started."""
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
        options: dict[str, Any] = {
            "log_to_driver": self.verbose,
            "logging_level": logging.INFO if self.verbose else logging.ERROR,
        }
        main = threading.current_thread() is threading.main_thread()
        sigterm = signal.getsignal(signal.SIGTERM) if main else None
        try:
            if self.address:
                connect_ray(ray, self.address, self.verbose, **options)
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
            given = "the token given here is not the cluster's" if auth_token_available() else "no token was given here"
            return (
                f"the Ray cluster at {self.address} refused the connection: it uses token authentication and "
                f"{given}; run `ray get-auth-token` on its head node and export RAY_AUTH_TOKEN=<that token> "
                "here (or save it as ~/.ray/auth_token)"
            )
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
        return (
            f"cannot connect to {where}: {first_line(exc)} (is the address the head node's HOST:PORT, and is "
            "it running?)"
        )


def ray_error() -> type[BaseException]:
    """Ray's base exception (a task whose node died too often, a failed task), once Ray is loaded."""
    from ray.exceptions import RayError

    return RayError


def node_name() -> str:
    """This Ray worker as a ledger records it: ``node-ip:pid``."""
    import ray

    return f"{ray.util.get_node_ip_address()}:{os.getpid()}"


BACKPRESSURE = 32  #: messages a task may have sent that the driver has not read yet
POLL_S = 0.25


@dataclass(frozen=True)
class TaskSent:
    """Task ``index`` sent ``message``."""

    index: int
    message: tuple[Any, ...]


@dataclass(frozen=True)
class TaskEnded:
    """Task ``index`` ended: its generator is exhausted (``error`` None), Ray could not finish it (its node died
    more than ``MAX_RETRIES`` times, or Ray failed: ``error`` says so), or it was cancelled by a stop
    (``cancelled``)."""

    index: int
    error: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class NotStarted:
    """Job ``index`` could not be handed to Ray: reading its input failed with ``error``."""

    index: int
    error: OSError


TaskEvent = TaskSent | TaskEnded | NotStarted


def stream_tasks(
    ray: Any,
    task: Callable[..., Any],
    jobs: list[tuple[int, Callable[[], tuple[Any, ...]]]],
    workers: int,
    should_stop: Callable[[], bool],
    on_interrupt: Callable[[], None] | None = None,
    streaming: bool = True,
) -> Iterator[TaskEvent]:
    """The executor on Ray, for every job kind: each job (index, its task's arguments, made when it starts:
    reading the input may fail) is one generator task of ``task``, one CPU, rerun elsewhere when its node dies;
    at most ``workers`` run at once, and a task waits once it has sent ``BACKPRESSURE`` messages the driver has
    not read. Yields what the tasks send as it comes. Once ``should_stop()`` says so, or Ctrl-C reaches the
    thread that iterates (``on_interrupt`` is told), the running tasks are cancelled (``TaskEnded(cancelled)``)
    and the rest not started. Without ``streaming`` the task returns its one message instead: nothing of a task
    reaches the driver before it has ended, so a task whose node dies at its very end is redone whole."""
    error_type = ray_error()
    remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(task)
    if streaming:
        remote = remote.options(_generator_backpressure_num_objects=BACKPRESSURE)
    pending = deque(jobs)
    inflight: dict[Any, int] = {}
    try:
        while pending or inflight:
            stopping = should_stop()
            while pending and len(inflight) < workers and not stopping:
                index, arguments = pending.popleft()
                try:
                    args = arguments()
                except OSError as exc:
                    yield NotStarted(index, exc)
                    continue
                inflight[remote.remote(*args)] = index
            if stopping:
                pending.clear()
                for gen, index in inflight.items():
                    ray.cancel(gen, force=True)
                    yield TaskEnded(index, cancelled=True)
                inflight.clear()
                break
            if not inflight:
                continue
            try:
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=POLL_S)
            except KeyboardInterrupt:
                if on_interrupt is not None:
                    on_interrupt()
                continue
            for gen in ready:
                index = inflight[gen]
                try:
                    if not streaming:
                        message = ray.get(gen)
                        del inflight[gen]
                        yield TaskSent(index, message)
                        yield TaskEnded(index)
                        continue
                    message = ray.get(next(gen))
                except StopIteration:
                    del inflight[gen]
                    yield TaskEnded(index)
                    continue
                except error_type as exc:
                    del inflight[gen]
                    yield TaskEnded(index, f"the Ray task failed: {first_line(exc)}")
                    continue
                yield TaskSent(index, message)
    finally:
        for gen in inflight:
            ray.cancel(gen, force=True)
