"""The stream source against a real MPEG-TS stream served over HTTP on loopback, and against a port that
refuses and a server that answers without video."""

import io
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from vidcv.cli.progress import Progress
from vidcv.errors import SourceError
from vidcv.events import SourceState, SourceStateChanged, StatsUpdated
from vidcv.pipeline import Pipeline
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink
from vidcv.sources import StreamSource

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (apt-get install ffmpeg)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A live test pattern as MPEG-TS over HTTP on loopback: ffmpeg encodes it, this serves it to every client.

    It listens as soon as ``start`` returns, and a client that connects and goes (vidcv's diagnosis of a
    failed attempt) costs nothing. ``stop`` closes every connection, as a server that goes away does.
    """

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}/live.ts"
        self.proc: subprocess.Popen | None = None
        self._listener: socket.socket | None = None
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.silent = threading.Event()  #: set: connections stay open and nothing is sent on them

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: a restart may rebind
        self.proc = subprocess.Popen(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=25",
                "-c:v",
                "mpeg2video",
                "-q:v",
                "5",
                "-g",
                "5",
                "-f",
                "mpegts",
                "pipe:1",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._threads = [
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed by stop
                return
            threading.Thread(target=self._greet, args=(conn,), daemon=True).start()

    def _greet(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        request = b""
        try:
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:  # a probe: connected and went
                    conn.close()
                    return
                request += chunk
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\n\r\n")
        except OSError:
            conn.close()
            return
        with self._lock:
            self._clients.append(conn)

    def _pump(self, proc: subprocess.Popen) -> None:
        while chunk := proc.stdout.read1(188 * 20):
            if self.silent.is_set():
                continue
            with self._lock:
                for conn in list(self._clients):
                    try:
                        conn.sendall(chunk)
                    except OSError:
                        self._clients.remove(conn)
                        conn.close()

    def stop(self) -> None:
        if self._listener is None:
            return
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (close alone would not, on Linux)
        self._listener.close()
        self._listener = None
        self.proc.kill()
        self.proc.wait(5)
        with self._lock:
            for conn in self._clients:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._clients = []
        for thread in self._threads:
            thread.join(5)
        self.proc.stdout.close()


@pytest.fixture
def server():
    srv = Server(free_port())
    srv.start()
    yield srv
    srv.stop()


class States:
    """A run observer (or a source's report) keeping the state changes; ``on(state, action)`` runs an action
    the first time that state comes."""

    def __init__(self):
        self.events: list[SourceStateChanged] = []
        self._actions: dict[SourceState, object] = {}

    def on(self, state: SourceState, action) -> None:
        self._actions[state] = action

    def __call__(self, event):
        if isinstance(event, SourceStateChanged):
            self.events.append(event)
            action = self._actions.pop(event.new, None)
            if action is not None:
                action()

    @property
    def states(self) -> list[SourceState]:
        return [e.new for e in self.events]


def test_stream_reads_frames_and_reconnects_when_the_server_comes_back(server):
    src = StreamSource(server.url, open_timeout_s=3, backoff_s=0.2, max_backoff_s=1.0)
    seen = States()
    seen.on(SourceState.RECONNECTING, server.start)  # the server comes back while the source is retrying
    src.open(report=seen)
    first = [src.read() for _ in range(10)]
    assert all(f is not None and f.image.shape == (120, 160, 3) for f in first)
    assert src.live and src.size_wh == (160, 120)
    server.stop()  # the server goes away
    deadline = time.monotonic() + 20
    after = []
    while src.reconnects == 0 and time.monotonic() < deadline:
        after.append(src.read())
    after += [src.read() for _ in range(5)]
    src.close()
    assert src.reconnects == 1
    assert seen.states[-1] is SourceState.CLOSED
    drop = seen.states.index(SourceState.RECONNECTING)
    assert seen.events[drop].detail.startswith("dropped; attempt 1 in")
    assert SourceState.OPEN in seen.states[drop:]  # it reconnected, and said so
    indices = [f.index for f in first + after]
    assert indices == list(range(len(indices)))  # frame numbering continues across the reconnection


def test_a_first_connection_that_fails_is_retried_like_a_drop():
    server = Server(free_port())  # not started yet: connections are refused
    src = StreamSource(server.url, open_timeout_s=3, backoff_s=0.1, max_backoff_s=0.2)
    seen = States()
    seen.on(SourceState.RECONNECTING, server.start)
    try:
        src.open(report=seen)  # does not raise: the first connection is retried like a reconnection
        frame = src.read()
    finally:
        src.close()
        server.stop()
    assert frame is not None and frame.index == 0 and frame.image.shape == (120, 160, 3)
    retrying = next(e for e in seen.events if e.new is SourceState.RECONNECTING)
    assert retrying.detail == "refused; attempt 1 in 0.1 s"  # what happened, in the progress bar's words
    assert seen.events[-2].new is SourceState.OPEN and seen.events[-2].detail == "connected"
    assert src.reconnects == 0 and src.fps == 25


def test_a_first_connection_gives_up_after_max_attempts_and_says_it_was_refused():
    port = free_port()
    src = StreamSource(f"http://127.0.0.1:{port}/none.ts", backoff_s=0.01, max_backoff_s=0.02, max_attempts=2)
    src.open()
    with pytest.raises(SourceError, match=rf"connection refused by 127.0.0.1:{port} .*gave up after 2 reconnection"):
        src.read()
    assert src.state is SourceState.FAILED and src.state_detail == "refused; gave up after 2 attempts"


def test_stream_gives_up_after_max_attempts(server):
    src = StreamSource(server.url, open_timeout_s=3, backoff_s=0.05, max_backoff_s=0.1, max_attempts=3)
    src.open()
    assert src.read() is not None
    server.stop()
    with pytest.raises(SourceError, match="connection refused by .*gave up after 3 reconnection attempts"):
        while src.read() is not None:
            pass
    assert src.state is SourceState.FAILED and src.state_detail == "refused; gave up after 3 attempts"


def test_a_refused_connection_says_it_was_refused():
    port = free_port()  # nothing listens there
    src = StreamSource(f"rtsp://127.0.0.1:{port}/x", open_timeout_s=5, max_attempts=0)
    with pytest.raises(
        SourceError,
        match=rf"cannot open stream rtsp://127.0.0.1:{port}/x: connection refused "
        rf"by 127.0.0.1:{port} \(nothing listens there",
    ):
        src.open()
    assert src.state is SourceState.FAILED


def test_a_server_that_answers_without_video_is_told_apart_from_a_refusal():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never says a word
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/x.ts"
        src = StreamSource(url, open_timeout_s=1, max_attempts=0)
        with pytest.raises(
            SourceError,
            match=r"answered but no video stream opened at .* within 1 s "
            r"\(check the path and the credentials\)",
        ):
            src.open()


def test_a_stream_that_goes_silent_is_reconnected_not_waited_for(server):
    # the server keeps the connection open and sends nothing: the read times out, the retry policy applies
    src = StreamSource(server.url, open_timeout_s=3, read_timeout_s=0.5, backoff_s=0.1, max_backoff_s=0.2)
    seen = States()
    seen.on(SourceState.RECONNECTING, server.silent.clear)  # it speaks again while the source retries
    src.open(report=seen)
    first = [src.read() for _ in range(5)]
    server.silent.set()
    after = []
    deadline = time.monotonic() + 30
    while src.reconnects == 0 and time.monotonic() < deadline:
        after.append(src.read())
    src.close()
    assert src.reconnects == 1 and all(f is not None for f in first + after)
    retrying = next(e for e in seen.events if e.new is SourceState.RECONNECTING)
    assert retrying.detail == "stalled; attempt 1 in 0.1 s"


def test_a_run_over_a_silent_stream_ends_with_its_reason_when_retries_run_out(server):
    src = StreamSource(
        server.url, open_timeout_s=1, read_timeout_s=0.5, backoff_s=0.05, max_backoff_s=0.1, max_attempts=1
    )
    got = threading.Event()
    runner = Runner(src, Pipeline(), [CallbackSink(lambda frame: (got.set(), server.silent.set()))])
    runner.start()
    assert runner.wait(30)  # a run never waits forever on a server that says nothing
    runner.stop()
    assert got.is_set() and isinstance(runner.error, SourceError)
    assert "answered but no video stream opened" in str(runner.error)
    assert "gave up after 1 reconnection attempts" in str(runner.error)


def test_runner_over_a_stream_is_live(server):
    runner = Runner(StreamSource(server.url, open_timeout_s=3), Pipeline(), max_frames=20)
    summary = runner.run()
    assert summary.frames == 20 and summary.frame_age_ms_mean is not None


def test_stop_during_reconnection_is_prompt(server):
    flowing, reconnecting = threading.Event(), threading.Event()
    seen = States()
    seen.on(SourceState.RECONNECTING, reconnecting.set)
    src = StreamSource(server.url, open_timeout_s=3, backoff_s=5.0, max_backoff_s=5.0)
    runner = Runner(src, Pipeline(), [CallbackSink(lambda frame: flowing.set())], observers=[seen])
    runner.start()
    assert flowing.wait(10)
    server.stop()
    assert reconnecting.wait(10)  # the source waits 5 s before its next attempt
    t0 = time.monotonic()
    assert runner.stop(timeout=2.0)
    assert time.monotonic() - t0 < 2.0


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_bar_shows_reconnecting_as_soon_as_the_stream_drops(server, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    runner = Runner(StreamSource(server.url, open_timeout_s=3, backoff_s=5.0, max_backoff_s=5.0), Pipeline())
    shown, flowing, drawn = [], threading.Event(), threading.Event()

    def after_the_bar(event):  # subscribed after the bar: it sees what the bar drew for the same event
        if isinstance(event, StatsUpdated) and event.summary.frames >= 30:
            flowing.set()
        if isinstance(event, SourceStateChanged) and event.new is SourceState.RECONNECTING:
            shown.append(terminal.getvalue().rsplit("\r", 1)[-1])
            drawn.set()

    with Progress(runner, total=None, enabled=True):
        runner.subscribe(after_the_bar)
        runner.start()
        try:
            assert flowing.wait(20)  # tqdm now redraws only every few frames
            server.stop()
            assert drawn.wait(10)
        finally:
            runner.stop()
    # on the terminal when the state came, not at the next frame (there is none while the stream is away)
    assert "source=reconnecting dropped; attempt 1 in 5.0 s" in shown[0]
