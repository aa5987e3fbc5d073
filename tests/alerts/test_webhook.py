"""The webhook sender against real HTTP receivers on 127.0.0.1: one that takes every event, one that hangs,
a port where nothing listens, one that fails with 5xx for a while, one that refuses with 4xx, one that drops
its kept-alive connections; credentials never shown."""

from __future__ import annotations

import base64
import http.server
import json
import logging
import socket
import threading
import time

import pytest
from alert_helpers import PASSWORD, USER, events, free_port, wait_until

from vidcv.alerts import AlertConfigError, close_all, make_notifiers
from vidcv.alerts.webhook import WebhookNotifier
from vidcv.errors import error_line


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST. ``status(n)`` gives the status of the n-th request
    (from 0); 2xx ones are ``accepted``. ``drop_kept_alive``: answer HTTP/1.1 without ``Connection: close``
    and close the connection anyway, as a server whose idle timeout has passed does."""

    def __init__(self, status=lambda n: 200, port: int = 0, drop_kept_alive: bool = False) -> None:
        self.status = status
        self.requests: list[dict] = []  # path, headers, payload of every request
        self.accepted: list[dict] = []
        self.connections = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if drop_kept_alive else "HTTP/1.0"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver.connections += 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    n = len(receiver.requests)
                    record = {"path": self.path, "headers": dict(self.headers), "payload": json.loads(body)}
                    receiver.requests.append(record)
                    code = receiver.status(n)
                    if 200 <= code < 300:
                        receiver.accepted.append(record["payload"])
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if drop_kept_alive:
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HungReceiver:
    """Accepts connections on 127.0.0.1 and never reads from them or answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/events"
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kw) -> Receiver:
        made.append(Receiver(**kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def hung():
    h = HungReceiver()
    yield h
    h.close()


def test_every_event_once_in_order(receiver):
    r = receiver()
    sent = events(300)
    [hook] = make_notifiers([r.url], [])
    for payload in sent:
        hook.send(payload)
    summary = hook.close(timeout=20)
    assert r.accepted == sent
    assert len(r.requests) == 300  # none twice
    assert {req["headers"]["Content-Type"] for req in r.requests} == {"application/json"}
    assert {req["path"] for req in r.requests} == {"/events"}
    assert (summary.sent, summary.missed, summary.retries) == (300, 0, 0)
    assert summary.line() == f"webhook {r.url}: 300 sent, 0 missed"


def test_several_receivers_each_get_every_event(receiver):
    a, b = receiver(), receiver()
    hooks = make_notifiers([a.url, b.url], [])
    sent = events(50)
    for payload in sent:
        for hook in hooks:
            hook.send(payload)
    summaries = close_all(hooks, timeout=20)
    assert a.accepted == sent and b.accepted == sent
    assert [s.sent for s in summaries] == [50, 50]


def test_hung_receiver_never_blocks_send_and_misses_are_counted(hung):
    hook = WebhookNotifier(hung.url, timeout=0.5, retries=1, backoff=0.05, queue_size=50)
    start = time.monotonic()
    for payload in events(1000):
        hook.send(payload)
    sending = time.monotonic() - start
    wait_until(lambda: hung.held, what="the sender's connection")
    during = hook.snapshot()
    # The queue holds 50; the thread has one out at most: the rest were dropped at once, nothing waited.
    assert during.dropped >= 1000 - 50 - 1
    assert during.sent == 0
    assert sending < 2.0, f"1000 sends took {sending:.2f} s with the receiver hung"
    closing = time.monotonic()
    summary = hook.close(timeout=1.0)
    assert time.monotonic() - closing < 5.0  # the timeout of its request, not the whole queue's
    assert summary.sent == 0
    assert summary.missed == 1000
    assert summary.dropped == during.dropped
    assert "receiver not answering: no reply" in summary.line()


def test_nothing_listening_counts_failures_and_says_why():
    url = f"http://127.0.0.1:{free_port()}/events"
    hook = WebhookNotifier(url, timeout=1.0, retries=2, backoff=0.01)
    for payload in events(5):
        hook.send(payload)
    wait_until(lambda: hook.snapshot().failed == 5, what="five failures")
    summary = hook.close(timeout=1.0)
    assert (summary.sent, summary.failed, summary.missed, summary.retries) == (0, 5, 5, 10)
    assert (
        summary.line() == f"webhook {url}: 0 sent, 5 missed (5 failed; 10 retries; receiver down: connection refused)"
    )


def test_receiver_down_then_up_gets_every_event():
    port = free_port()
    hook = WebhookNotifier(f"http://127.0.0.1:{port}/events", retries=100, backoff=0.02, backoff_max=0.1)
    sent = events(20)
    for payload in sent:
        hook.send(payload)
    wait_until(lambda: hook.snapshot().retries >= 2, what="retries while the receiver is down")
    r = Receiver(port=port)
    try:
        summary = hook.close(timeout=20)
        assert r.accepted == sent
        assert summary.sent == 20 and summary.missed == 0 and summary.retries >= 2
    finally:
        r.close()


def test_5xx_is_retried_then_delivered(receiver):
    r = receiver(status=lambda n: 503 if n < 3 else 200)
    hook = WebhookNotifier(r.url, retries=5, backoff=0.01)
    sent = events(10)
    for payload in sent:
        hook.send(payload)
    summary = hook.close(timeout=20)
    assert r.accepted == sent  # the first one, after three 503s, then the rest: in order, once each
    assert [req["payload"]["frame"] for req in r.requests[:4]] == [0, 0, 0, 0]
    assert (summary.sent, summary.missed, summary.retries) == (10, 0, 3)
    assert "receiver answered HTTP 503 Service Unavailable" in summary.line()


def test_4xx_is_not_retried(receiver):
    r = receiver(status=lambda n: 422 if n == 3 else 200)
    hook = WebhookNotifier(r.url, retries=5, backoff=0.01)
    sent = events(10)
    for payload in sent:
        hook.send(payload)
    summary = hook.close(timeout=20)
    assert len(r.requests) == 10  # the refused one once
    assert r.accepted == sent[:3] + sent[4:]
    assert (summary.sent, summary.failed, summary.retries) == (9, 1, 0)
    assert "1 failed; receiver answered HTTP 422 Unprocessable Entity (not retried: it refused the event)" in (
        summary.line()
    )


def test_a_kept_alive_connection_closed_by_the_receiver_is_no_failure(receiver):
    r = receiver(drop_kept_alive=True)
    hook = WebhookNotifier(r.url, retries=0)
    sent = events(20)
    for payload in sent:
        hook.send(payload)
    summary = hook.close(timeout=20)
    assert r.accepted == sent
    assert (summary.sent, summary.failed, summary.retries) == (20, 0, 0)


def test_close_gives_up_on_backoff_past_its_timeout():
    hook = WebhookNotifier(f"http://127.0.0.1:{free_port()}/x", retries=10, backoff=5.0)
    for payload in events(30):
        hook.send(payload)
    wait_until(lambda: hook.snapshot().last_error, what="the first failure")
    start = time.monotonic()
    summary = hook.close(timeout=0.5)
    assert time.monotonic() - start < 3.0  # no waiting out a 5 s backoff
    assert summary.missed == 30 and summary.unsent == 30
    assert "30 still undelivered at the end" in summary.line()
    hook.send(events(1)[0])  # after close: ignored, never an error
    assert hook.close(1.0) == summary


def test_credentials_go_as_basic_auth_and_are_never_shown(receiver, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    r = receiver(status=lambda n: 200 if n < 2 else 500)
    secret_url = f"http://{USER}:{PASSWORD}@127.0.0.1:{r.port}/events?token=tok3n-value"
    hook = WebhookNotifier(secret_url, retries=1, backoff=0.01)
    down = WebhookNotifier(f"http://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/x", retries=1, backoff=0.01)
    for payload in events(4):
        hook.send(payload)
        down.send(payload)
    summaries = close_all([hook, down], timeout=20)
    auth = r.requests[0]["headers"]["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")).decode() == f"{USER}:{PASSWORD}"
    assert r.requests[0]["path"] == "/events?token=tok3n-value"  # the query is the receiver's
    with pytest.raises(AlertConfigError) as bad:
        make_notifiers([f"http://{USER}:{PASSWORD}@127.0.0.1:99999/x"], [])
    shown = [
        caplog.text,
        *capsys.readouterr(),
        hook.label,
        repr(hook.target),
        *(s.line() for s in summaries),
        *(json.dumps(s.to_dict()) for s in summaries),
        str(bad.value),
        error_line(bad.value),
    ]
    assert summaries[0].sent == 2 and summaries[1].failed == 4
    assert "webhook http://***@127.0.0.1" in caplog.text  # the failures were logged, masked
    for text in shown:
        assert PASSWORD not in text and USER not in text and "tok3n-value" not in text
