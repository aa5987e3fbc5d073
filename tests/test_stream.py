"""The stream source against a real MPEG-TS stream that ffmpeg serves over HTTP on loopback."""

import shutil
import socket
import subprocess
import threading
import time

import pytest

from vidcv.errors import SourceError
from vidcv.events import SourceState, SourceStateChanged
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
    """ffmpeg serving a live test pattern to one client at a time (-listen 1)."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}/live.ts"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
             "-i", "testsrc=size=160x120:rate=25", "-c:v", "mpeg2video", "-q:v", "5", "-f", "mpegts",
             "-listen", "1", self.url], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def server():
    srv = Server(free_port())
    srv.start()
    yield srv
    srv.stop()


def open_when_up(src: StreamSource | Runner, deadline_s: float = 10.0, report=None) -> None:
    """ffmpeg needs a moment before it listens; connection refused is immediate, so retry (a source, or the
    source of a runner through the runner)."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            src.open() if isinstance(src, Runner) else src.open(report=report)
            return
        except SourceError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def test_stream_reads_frames_and_reconnects_when_the_server_comes_back(server):
    src = StreamSource(server.url, open_timeout_s=3, backoff_s=0.2, max_backoff_s=1.0)
    states = []
    restarted = threading.Event()

    def on_state(event):
        states.append(event.new)
        if event.new is SourceState.RECONNECTING and not restarted.is_set():
            restarted.set()
            server.start()  # the server comes back while the source is retrying

    open_when_up(src, report=on_state)
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
    assert states[-1] is SourceState.CLOSED
    after_drop = states[states.index(SourceState.RECONNECTING):]
    assert SourceState.OPEN in after_drop  # it reconnected, and said so
    indices = [f.index for f in first + after]
    assert indices == list(range(len(indices)))  # frame numbering continues across the reconnection


def test_stream_gives_up_after_max_attempts(server):
    src = StreamSource(server.url, open_timeout_s=3, backoff_s=0.05, max_backoff_s=0.1, max_attempts=3)
    open_when_up(src)
    assert src.read() is not None
    server.stop()
    start = time.monotonic()
    with pytest.raises(SourceError, match="3 reconnection attempts failed"):
        while src.read() is not None:
            pass
    assert time.monotonic() - start < 10  # capped backoff, no busy loop, no endless wait
    assert src.state is SourceState.FAILED and src.state_detail == "gave up after 3 attempts"


def test_unreachable_stream_is_a_clear_error():
    src = StreamSource(f"http://127.0.0.1:{free_port()}/none.ts", open_timeout_s=1)
    with pytest.raises(SourceError, match="cannot open stream .*check the address"):
        src.open()
    assert src.state is SourceState.FAILED


def test_runner_over_a_stream_is_live(server):
    runner = Runner(StreamSource(server.url, open_timeout_s=3), Pipeline(), max_frames=20)
    open_when_up(runner)
    summary = runner.run()
    assert summary.frames_read == 20 and summary.frame_age_ms_mean is not None


def test_stop_during_reconnection_is_prompt(server):
    flowing, reconnecting = threading.Event(), threading.Event()

    def observe(event):
        if isinstance(event, SourceStateChanged) and event.new is SourceState.RECONNECTING:
            reconnecting.set()

    src = StreamSource(server.url, open_timeout_s=3, backoff_s=5.0, max_backoff_s=5.0)
    runner = Runner(src, Pipeline(), [CallbackSink(lambda frame: flowing.set())], observers=[observe])
    open_when_up(runner)
    runner.start()
    assert flowing.wait(10)
    server.stop()
    assert reconnecting.wait(10)  # the source waits 5 s before its next attempt
    t0 = time.monotonic()
    assert runner.stop(timeout=2.0)
    assert time.monotonic() - t0 < 2.0
