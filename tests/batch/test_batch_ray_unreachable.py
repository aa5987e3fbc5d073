"""`vidcv batch` and `vidcv extract` with `--engine ray --address` where no Ray head answers: one line within
30 s (the address, what was tried, how to start a head), SIGINT and SIGTERM end the wait with the interrupted
status, and the batch's lock is released (vidcv/batch/ray_engine.py connect_ray, which both commands use).

No Ray cluster is started: a port where nothing listens, and ports on loopback that accept TCP connections and
never answer (Ray turns 127.0.0.1 into the machine's network address, so those listen on 127.0.0.2).
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from media import BLOBS, vidcv_cmd, write_video

pytestmark = pytest.mark.timeout(120)

LIMIT_S = 30.0  #: a cluster that cannot be reached is said within this
SILENT_IP = "127.0.0.2"


def dead_port() -> int:
    """A port of 127.0.0.1 where nothing listens (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that completes TCP handshakes (the kernel's backlog) and never reads or answers."""
    with socket.socket() as s:
        s.bind((SILENT_IP, 0))
        s.listen(64)
        yield s.getsockname()[1]


class Holder:
    """A port whose connections are accepted and held, never read nor answered; counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((SILENT_IP, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self._done.set()
        self._thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def holder() -> Iterator[Holder]:
    h = Holder()
    yield h
    h.close()


@pytest.fixture
def job(tmp_path):
    """A small video and a model-free preset."""
    video = write_video(str(tmp_path / "clip.mp4"), 10)
    preset = tmp_path / "blobs.yaml"
    preset.write_text(BLOBS)
    return video, str(preset)


def env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")}, "RAY_USAGE_STATS_ENABLED": "0"}


def batch_args(job, out, address: str) -> list[str]:
    video, preset = job
    return [*vidcv_cmd(), "batch", video, "-p", preset, "--out", str(out), "--engine", "ray", "--address", address]


def extract_args(job, out, address: str) -> list[str]:
    video, preset = job
    return [*vidcv_cmd(), "extract", video, "-p", preset, "--out", str(out), "--engine", "ray", "--address", address]


def timed(args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    res = subprocess.run(args, check=False, capture_output=True, text=True, timeout=60, env=env())
    return res, time.monotonic() - t0


def lock_free(out) -> bool:
    """Whether no process holds the batch's lock on ``out`` (its file stays: the lock is on it)."""
    path = os.path.join(out, ".batch.lock")
    if not os.path.exists(path):
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def assert_one_line(res: subprocess.CompletedProcess, elapsed: float, address: str, port: int) -> str:
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert elapsed < LIMIT_S, elapsed
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("vidcv: error: ") and address in line, line
    assert f"ray start --head --port={port}" in line and "Traceback" not in res.stderr, line
    return line


@pytest.mark.parametrize("command", ["batch", "extract"])
def test_nothing_listening_is_one_line_and_leaves_no_lock(job, tmp_path, command):
    port = dead_port()
    address = f"127.0.0.1:{port}"
    out = tmp_path / "out"
    make = batch_args if command == "batch" else extract_args
    for _ in range(2):  # the second time, the same OUT is not refused as busy
        res, elapsed = timed(make(job, out, address))
        line = assert_one_line(res, elapsed, address, port)
        assert "refused" in line and "nothing listens there" in line
        assert lock_free(out) and not (out / ".vidcv.lock").exists()
    assert not (out / "batch.jsonl").exists()


def test_batch_against_a_port_that_never_answers_is_one_line(job, tmp_path, silent_port):
    address = f"{SILENT_IP}:{silent_port}"
    out = tmp_path / "out"
    res, elapsed = timed(batch_args(job, out, address))
    line = assert_one_line(res, elapsed, address, silent_port)
    assert "accepts TCP connections but no Ray head answered" in line
    assert lock_free(out)


def wait_connecting(proc: subprocess.Popen, holder: Holder, started: float) -> None:
    """Until Ray's client is connected to the port (the probe's connection, then Ray's), at least 2 s after
    the start."""
    deadline = time.monotonic() + 25
    while len(holder.held) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None and len(holder.held) >= 2, proc.communicate(timeout=10)
    time.sleep(max(0.0, started + 2 - time.monotonic()))


@pytest.mark.parametrize(
    "signum, status, said",
    [(signal.SIGINT, 130, "vidcv: interrupted"), (signal.SIGTERM, 143, "vidcv: terminated (SIGTERM)")],
)
@pytest.mark.parametrize("command", ["batch", "extract"])
def test_a_signal_while_connecting_ends_it_at_once(job, tmp_path, holder, command, signum, status, said):
    out = tmp_path / "out"
    make = batch_args if command == "batch" else extract_args
    started = time.monotonic()
    proc = subprocess.Popen(
        make(job, out, f"{SILENT_IP}:{holder.port}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        wait_connecting(proc, holder, started)
        sent = time.monotonic()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, stderr
    assert took < 5, took
    assert stderr.strip() == said
    assert lock_free(out)
    assert not (out / ".vidcv.lock").exists()
