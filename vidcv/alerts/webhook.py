"""``--webhook URL``: each event POSTed as JSON, in order, by one thread beside the pipeline.

A request has a timeout; a refused or dropped connection, a timeout, a 5xx, 408 or 429 is retried with
exponential backoff (capped), any other status is not (the receiver refused the event: counted as failed,
its status said). While the receiver is down, events wait in the bounded queue; when it is full they are
dropped and counted. The connection is kept open between events where the receiver allows it.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Literal

from vidcv._version import __version__
from vidcv.alerts.base import QUEUE_SIZE, QueuedNotifier, encode
from vidcv.alerts.targets import WebhookTarget, parse_webhook

log = logging.getLogger(__name__)

Outcome = Literal["sent", "retry", "failed"]

#: statuses that say "try again later" rather than "no"
RETRY_STATUSES = frozenset({408, 425, 429})


class WebhookNotifier(QueuedNotifier):
    """POSTs each payload to ``url`` (a URL or a parsed :class:`WebhookTarget`).

    ``timeout``: seconds per request (connecting, and each wait for the reply); ``retries``: attempts after
    the first; the n-th retry waits ``backoff * 2**(n-1)`` seconds, at most ``backoff_max``.
    """

    kind = "webhook"

    def __init__(
        self,
        url: str | WebhookTarget,
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.target = parse_webhook(url) if isinstance(url, str) else url
        super().__init__(self.target.label, queue_size)
        self.timeout, self.retries = timeout, retries
        self.backoff, self.backoff_max = backoff, backoff_max
        self._headers = {"Content-Type": "application/json", "User-Agent": f"vidcv/{__version__}"}
        if auth := self.target.authorization():
            self._headers["Authorization"] = auth
        self._conn: http.client.HTTPConnection | None = None
        self._failing = False  #: the last attempt failed: told once until one succeeds
        self._asked: float | None = None  #: when the request now out was sent (monotonic), or None
        self.start()

    # --- the delivery thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        while (payload := self._next()) is not None:
            if not self._deliver(payload):
                break

    def _finish(self, timeout: float) -> None:
        if not self._thread.is_alive() and self._conn is not None:
            self._conn.close()
            self._conn = None

    def _deliver(self, payload: Mapping[str, object]) -> bool:
        """One event, with its retries; False when close's deadline came first (it stays counted as unsent,
        and so do the events behind it: no point in trying them)."""
        try:
            body = encode(payload)
        except (TypeError, ValueError) as exc:  # NaN, a circular structure: not an event a receiver can read
            self._note_error(f"the event is not JSON: {exc}")
            self._count(failed=1, done=1)
            return True
        attempt = 0
        while not self._past_deadline():
            outcome, why = self._post(body)
            if outcome == "sent":
                if self._failing:
                    self._failing = False
                    log.info("webhook %s: delivering again", self.label)
                self._count(sent=1, done=1)
                return True
            self._note_error(why)
            if not self._failing:
                self._failing = True
                log.warning(
                    "webhook %s: %s; %s",
                    self.label,
                    why,
                    "the event is dropped" if outcome == "failed" else "retrying with backoff, new events wait",
                )
            if outcome == "failed" or attempt >= self.retries:
                self._count(failed=1, done=1)
                return True
            delay = min(self.backoff * 2**attempt, self.backoff_max)
            attempt += 1
            if not self._sleep(delay):
                return False
            self._count(retries=1)
        return False

    def _connection(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """The open connection (True: reused) or a new one, with ``timeout`` for every socket operation."""
        conn = self._conn
        reused = conn is not None and conn.sock is not None
        if conn is None:
            t = self.target
            if t.scheme == "https":
                conn = http.client.HTTPSConnection(
                    t.host, t.port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                conn = http.client.HTTPConnection(t.host, t.port, timeout=timeout)
            self._conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, reused

    def _post(self, body: bytes) -> tuple[Outcome, str]:
        """One POST: whether it was delivered, is worth retrying, or was refused, and why in words."""
        timeout = max(0.05, min(self.timeout, self._remaining()))
        try:
            status, reason = self._exchange(body, timeout)
        except (OSError, http.client.HTTPException) as exc:
            return "retry", describe(exc, timeout, self.target.host)
        if 200 <= status < 300:
            return "sent", ""
        answered = f"receiver answered HTTP {status} {reason}".rstrip()
        if status >= 500 or status in RETRY_STATUSES:
            return "retry", answered
        if 300 <= status < 400:
            return "failed", f"{answered} (redirects are not followed: give the URL it redirects to)"
        return "failed", f"{answered} (not retried: it refused the event)"

    def _exchange(self, body: bytes, timeout: float) -> tuple[int, str]:
        """POST ``body``; the reply's status and reason. A kept-alive connection that the receiver closed
        meanwhile is tried once more on a new one."""
        conn, reused = self._connection(timeout)
        try:
            return self._request(conn, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
        conn, _ = self._connection(timeout)
        return self._request(conn, body)

    def _request(self, conn: http.client.HTTPConnection, body: bytes) -> tuple[int, str]:
        self._asked = time.monotonic()
        try:
            conn.request("POST", self.target.path, body, self._headers)
            response = conn.getresponse()
            response.read()  # the whole reply, so that the connection can carry the next request
        except BaseException:
            conn.close()
            self._conn = None
            raise
        finally:
            self._asked = None
        return response.status, response.reason

    def _stuck(self) -> str:
        asked = self._asked
        if asked is None:
            return ""
        return f"receiver not answering: no reply after {time.monotonic() - asked:.1f} s"


def describe(exc: BaseException, timeout: float, host: str) -> str:
    """Why a request failed, in a user's words (never the URL, which may hold a password)."""
    if isinstance(exc, ConnectionRefusedError):
        return "receiver down: connection refused"
    if isinstance(exc, TimeoutError):
        return f"receiver not answering: no reply within {timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {host}: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "receiver closed the connection without answering"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the receiver"
    if isinstance(exc, OSError):
        return f"cannot reach the receiver: {exc.strerror or exc}"
    return f"bad reply from the receiver: {type(exc).__name__}: {exc}"
