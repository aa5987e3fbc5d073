"""Network streams (RTSP, HTTP, UDP, ...) with reconnection and capped exponential backoff."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import cv2

from vidcv.errors import SourceError
from vidcv.events import SourceState
from vidcv.frame import Frame
from vidcv.sources.base import CaptureSource

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "rtp", "srt", "mms")


def redact(url: str) -> str:
    """The URL without a password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def check_url(url: str) -> None:
    """Raise SourceError for a URL that cannot name a stream (unknown scheme, no host)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in STREAM_SCHEMES:
        raise SourceError(f"unsupported URL scheme '{parts.scheme}' in {redact(url)}; "
                          f"use one of: {', '.join(STREAM_SCHEMES)}")
    if not parts.hostname:
        raise SourceError(f"bad URL {redact(url)}: it names no host (expected e.g. rtsp://HOST:554/path)")


class StreamSource(CaptureSource):
    """A live network stream; a dropped connection is retried with backoff instead of ending the run.

    Backoff doubles from ``backoff_s`` to ``max_backoff_s``; ``max_attempts`` consecutive failed
    attempts (None: keep trying until stopped) end the run with an error. Waits end promptly on stop.
    The URL is checked here, once; ``label`` and every message show it without its password.
    """

    live = True

    def __init__(self, url: str, *, open_timeout_s: float = 5.0, read_timeout_s: float = 1.5,
                 backoff_s: float = 0.5, max_backoff_s: float = 8.0, max_attempts: int | None = None) -> None:
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

    @property
    def label(self) -> str:
        return redact(self.url)

    def _connect(self, timeout_s: float) -> cv2.VideoCapture | None:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(timeout_s * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000)]
        cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)
        if cap.isOpened():
            return cap
        cap.release()
        return None

    def _open(self) -> None:
        cap = self._connect(self.open_timeout_s)
        if cap is None:
            raise SourceError(f"cannot open stream {self.label}: no answer or not a video stream within "
                              f"{self.open_timeout_s:g} s (check the address, the credentials and that the "
                              "stream is running)")
        self._use(cap)

    def read(self) -> Frame | None:
        while not self.stopping:
            if self._cap is not None:
                ok, img = self._cap.read()
                if ok and img is not None:
                    return self._frame(img)
                self._release()
                self.attempts = 0
                log.warning("stream %s dropped; reconnecting", self.label)
            self._reconnect_once()
        return None

    def _reconnect_once(self) -> None:
        """One reconnection attempt after its backoff delay; raises when attempts are exhausted."""
        self.attempts += 1
        if self.max_attempts is not None and self.attempts > self.max_attempts:
            self._set_state(SourceState.FAILED, f"gave up after {self.max_attempts} attempts")
            raise SourceError(f"stream {self.label} is gone: {self.max_attempts} reconnection attempts "
                              "failed (check that the stream is running, then start again)")
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (self.attempts - 1))
        self._set_state(SourceState.RECONNECTING, f"attempt {self.attempts} in {delay:.1f} s")
        if self.wait(delay):
            return
        cap = self._connect(min(self.open_timeout_s, 2.0))
        if cap is not None:
            self._cap = cap
            self.reconnects += 1
            log.info("stream %s reconnected after %d attempt(s)", self.label, self.attempts)
            self.attempts = 0
            self._set_state(SourceState.OPEN, f"reconnected ({self.reconnects})")
