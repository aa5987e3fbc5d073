"""Network streams (RTSP, HTTP, UDP, ...): one retry policy, capped exponential backoff, for the first
connection and for every later drop; each failure says what happened (refused, no answer, no such host,
no video at that address)."""

from __future__ import annotations

import logging
import time
from typing import NamedTuple
from urllib.parse import urlsplit

import av

from vidcv.errors import SourceError
from vidcv.events import SourceState
from vidcv.frame import Frame
from vidcv.media.decode import DECODE_ERRORS, VideoReader
from vidcv.redact import redact
from vidcv.sources.base import CaptureSource

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "rtp", "srt", "mms")
#: the port a TCP scheme uses when the URL names none (UDP schemes, udp rtp srt, cannot be probed)
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443, "http": 80, "https": 443, "mms": 1755}
UDP_SCHEMES = ("udp", "rtp", "srt")


def check_url(url: str) -> None:
    """Raise SourceError for a URL that cannot name a stream (unknown scheme, no host)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in STREAM_SCHEMES:
        raise SourceError(
            f"unsupported URL scheme '{parts.scheme}' in {redact(url)}; use one of: {', '.join(STREAM_SCHEMES)}"
        )
    if not parts.hostname:
        raise SourceError(f"bad URL {redact(url)}: it names no host (expected e.g. rtsp://HOST:554/path)")


class Failure(NamedTuple):
    """Why a connection failed: a word or two for the progress bar and a sentence for messages."""

    short: str
    message: str


def diagnose(url: str, waited_s: float, probe_timeout_s: float = 2.0) -> Failure:
    """Why OpenCV could not open ``url``: looks the host up and tries a TCP connection to its port.

    Called only after a failed attempt (a probe before it could take the only client slot of a server).
    """
    import socket  # here: `socket` costs every run start-up time to import (its enums), and only a failure needs it

    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is no number
        return Failure("bad port", f"bad port in {redact(url)} (expected e.g. rtsp://HOST:554/path)")
    if scheme in UDP_SCHEMES or port is None:
        return Failure(
            "no video", f"no video arrived within {waited_s:g} s (check the address and that the stream is being sent)"
        )
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return Failure("no such host", f"the host name {host} cannot be resolved (check the address)")
    try:
        with socket.create_connection((host, port), timeout=probe_timeout_s):
            pass
    except ConnectionRefusedError:
        return Failure(
            "refused",
            f"connection refused by {host}:{port} (nothing listens there: check that the "
            "stream server is running and the port is right)",
        )
    except TimeoutError:
        return Failure(
            "no answer", f"no answer from {host}:{port} within {waited_s:g} s (check that the host is up and reachable)"
        )
    except OSError as exc:
        return Failure("unreachable", f"cannot connect to {host}:{port}: {exc.strerror or exc}")
    return Failure(
        "no video",
        f"{host}:{port} answered but no video stream opened at {redact(url)} within "
        f"{waited_s:g} s (check the path and the credentials)",
    )


class StreamSource(CaptureSource[VideoReader]):
    """A live network stream; a connection that fails, first or later, is retried with backoff.

    One policy for the first connection and for every drop: backoff doubles from ``backoff_s`` to
    ``max_backoff_s``, and ``max_attempts`` failed retries in a row (None: keep trying until stopped; 0: no
    retry) end the run with an error saying what happened. ``open`` makes the first attempt; when it fails
    and retries are allowed, ``open`` returns and ``read`` goes on trying (state RECONNECTING, with the
    reason), so that no caller blocks longer than one attempt. Waits end promptly on stop.
    The URL is checked here, once; ``label`` and every message show it without its password.
    """

    live = True

    def __init__(
        self,
        url: str,
        *,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 1.5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        max_attempts: int | None = None,
    ) -> None:
        check_url(url)
        super().__init__(url)
        self.url = url
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_attempts = max_attempts
        self.reconnects = 0
        self.attempts = 0
        self.failure: Failure | None = None  #: why the last attempt failed (None while connected)
        self._connected_once = False

    @property
    def label(self) -> str:
        return redact(self.url)

    def _connect(self, timeout_s: float) -> VideoReader | None:
        """One attempt (FFmpeg through PyAV: opening ends after ``timeout_s``, each read after
        ``read_timeout_s``, so a server that accepts and then sends nothing cannot block); on failure
        ``failure`` says why."""
        try:
            reader = VideoReader(
                self.url, threads=0, timeout_s=(timeout_s, self.read_timeout_s), skip_damaged=True, live=True
            )
        except DECODE_ERRORS:
            self.failure = diagnose(self.url, timeout_s)
            return None
        self.failure = None
        return reader

    def _take(self, reader: VideoReader) -> None:
        """Read from ``reader`` from now on, numbering frames from 0."""
        self._cap = reader
        self.fps = reader.fps
        self._index = 0
        self._t0 = time.monotonic()

    def _open(self) -> None:
        self.attempts = 0
        self._connected_once = False
        cap = self._connect(self.open_timeout_s)
        if cap is not None:
            self._take(cap)
            self._connected_once = True
            return
        assert self.failure is not None
        if self.max_attempts == 0:
            raise SourceError(f"cannot open stream {self.label}: {self.failure.message}")
        until = "until it answers" if self.max_attempts is None else f"up to {self.max_attempts} times"
        log.warning("stream %s: %s; retrying %s", self.label, self.failure.message, until)

    def read(self) -> Frame | None:
        while not self.stopping:
            if self._cap is not None:
                try:
                    decoded = self._cap.read()
                    why = Failure("dropped", "the stream dropped")
                except av.ExitError:  # the read timeout: connected, and nothing came
                    decoded = None
                    why = Failure("stalled", f"the stream sent nothing for {self.read_timeout_s:g} s")
                except DECODE_ERRORS as exc:
                    decoded = None
                    why = Failure("dropped", redact(f"the stream dropped ({getattr(exc, 'strerror', None) or exc})"))
                if decoded is not None:
                    return self._frame(decoded.image)
                self._release()
                self.attempts = 0
                self.failure = why
                log.warning("stream %s: %s; reconnecting", self.label, why.message)
            self._reconnect_once()
        return None

    def _reconnect_once(self) -> None:
        """One retry after its backoff delay; raises, saying what happened, when retries are exhausted."""
        why = self.failure or Failure("dropped", "the stream dropped")
        self.attempts += 1
        if self.max_attempts is not None and self.attempts > self.max_attempts:
            self._set_state(SourceState.FAILED, f"{why.short}; gave up after {self.max_attempts} attempts")
            raise SourceError(
                f"stream {self.label}: {why.message}; gave up after {self.max_attempts} "
                "reconnection attempts (start again once the stream is up)"
            )
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (self.attempts - 1))
        self._set_state(SourceState.RECONNECTING, f"{why.short}; attempt {self.attempts} in {delay:.1f} s")
        if self.wait(delay):
            return
        cap = self._connect(min(self.open_timeout_s, 2.0))
        if cap is None:
            return
        if self._connected_once:  # frame numbering goes on across a reconnection
            self._cap = cap
            self.reconnects += 1
            log.info("stream %s reconnected after %d attempt(s)", self.label, self.attempts)
            detail = f"reconnected ({self.reconnects})"
        else:
            self._take(cap)
            self._connected_once = True
            log.info("stream %s connected after %d attempt(s)", self.label, self.attempts)
            detail = "connected"
        self.attempts = 0
        self._set_state(SourceState.OPEN, detail)
