"""A Prometheus endpoint for a run: ``--metrics HOST:PORT`` serves the run's figures at ``/metrics``.

The figures are the run's own statistics, read afresh at each scrape by a collector on a registry of this
server's own (never the library's global one): the counters are those of the ``--stats-json`` document (a
scrape after the run ended gives exactly its numbers), the rates are the recent ones the window shows while the
run goes and the whole run's after it. The official client library writes the text format.

Metrics (the source's label never holds its password):

- ``vidcv_frames_processed_total``: frames through the pipeline and written (the stats JSON's ``frames``)
- ``vidcv_frames_read_total{source}``, ``vidcv_frames_dropped_total{source}``
- ``vidcv_stage_frames_total{stage,plugin}`` (``frames_in``), ``vidcv_stage_frames_out_total``,
  ``vidcv_stage_errors_total``, ``vidcv_stage_latency_seconds`` (a histogram: ``_count`` is ``frames_in``)
- ``vidcv_events_total{stage,plugin,kind}``: scene events by kind (summed over stages: the JSON's ``events``)
- ``vidcv_fps``, ``vidcv_source_fps{source}``, ``vidcv_encoder_queue_depth``, ``vidcv_running``,
  ``vidcv_run_seconds``, ``vidcv_run_info{source,decode}``
- live sources: ``vidcv_source_outages_total{source}``, ``vidcv_source_reconnects_total{source}``,
  ``vidcv_source_away{source}``
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any, NamedTuple
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import numpy as np
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from vidcv.errors import VidcvError
from vidcv.pipeline import Stage
from vidcv.redact import redact
from vidcv.runner import Runner
from vidcv.stats import DurationStats, RunSummary

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"  #: where ``:PORT`` and ``PORT`` serve: this machine only
PATH = "/metrics"
#: the latency histograms' upper bounds in seconds (10 us to 10 s; the last bucket, +Inf, takes the rest)
LATENCY_BOUNDS_S = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
CLOSE_WAIT_S = 2.0  #: how long ``close`` waits for the serving thread


class MetricsError(VidcvError):
    """The metrics endpoint's address is malformed or cannot be served (port taken, no such address)."""


class MetricsAddress(NamedTuple):
    """Where the endpoint listens; port 0 asks for any free port (``MetricsServer.address`` then has it)."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach it (127.0.0.0/8, ::1 or localhost)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name: it may resolve anywhere
            return False


def parse_address(spec: str, what: str = "--metrics") -> MetricsAddress:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (the host then 127.0.0.1); an IPv6 host in brackets
    (``[::1]:9100``). MetricsError, in one line saying what is accepted, otherwise."""
    usage = f"{what} takes HOST:PORT, :PORT or PORT (e.g. :9100 serves on 127.0.0.1 only), got {spec!r}"
    text = spec.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not host:
            raise MetricsError(usage)
    elif ":" in host or "[" in host or "]" in host:
        raise MetricsError(f"{usage}: an IPv6 address goes in brackets, as in [::1]:9100")
    if not port_text.isdigit() or not port_text.isascii():
        raise MetricsError(usage)
    port = int(port_text)
    if port > 65535:
        raise MetricsError(f"{usage}: a port is at most 65535")
    return MetricsAddress(host or DEFAULT_HOST, port)


# --- what a scrape reads ---------------------------------------------------------------------------------------
#: for each bound of LATENCY_BOUNDS_S, how many of DurationStats' buckets lie at or under it: a duration counts
#: by its bucket's middle (``bucket_value``), so a bound is exact to the 1 % width of a bucket
_BUCKET_VALUES_MS = np.array([DurationStats.bucket_value(i) for i in range(DurationStats.BUCKETS)])
_CUTS = np.searchsorted(_BUCKET_VALUES_MS, np.array(LATENCY_BOUNDS_S) * 1000.0, side="right")


def latency_buckets(counts: np.ndarray) -> list[tuple[str, float]]:
    """DurationStats' bucket counts as a Prometheus histogram's cumulative ``(le, count)`` pairs in seconds,
    ending with ``+Inf`` (every duration)."""
    cumulative = np.concatenate(([0], np.cumsum(counts)))
    out = [(repr(bound), float(cumulative[cut])) for bound, cut in zip(LATENCY_BOUNDS_S, _CUTS)]
    out.append(("+Inf", float(cumulative[-1])))
    return out


class RunCollector:
    """Reads a run's figures at each scrape (a ``prometheus_client`` custom collector). ``runner`` may be set
    later, or replaced (a window's next run); with none, a scrape says only ``vidcv_running 0``."""

    def __init__(self, runner: Runner | None = None) -> None:
        self.runner = runner

    def collect(self) -> Iterator[Metric]:
        runner = self.runner
        live_now = runner is not None and runner.running
        running = GaugeMetricFamily("vidcv_running", "1 while the run reads and processes frames, 0 before and after")
        running.add_metric([], 1.0 if live_now else 0.0)
        yield running
        if runner is None:
            return
        stages = runner.pipeline.stages  # read before the summary: paired with its rows below
        # while the run goes, the recent rates the window shows; after it, the whole run's (the stats JSON's)
        summary = runner.summary(recent=live_now)
        source = redact(runner.source.label)
        yield from _run_metrics(summary, source)
        yield from _stage_metrics(summary, stages)
        depth = GaugeMetricFamily("vidcv_encoder_queue_depth", "frames waiting in the video encoders' queues")
        depth.add_metric([], float(sum(sink.queue_depth for sink in list(runner.sinks))))
        yield depth


def _counter(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=list(labels or ()))
    family.add_metric(list((labels or {}).values()), value)
    return family


def _gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels or ()))
    family.add_metric(list((labels or {}).values()), value)
    return family


def _run_metrics(summary: RunSummary, source: str) -> Iterator[Metric]:
    src = {"source": source}
    info = InfoMetricFamily("vidcv_run", "the run's source (no password) and how its frames are decoded")
    info.add_metric([], {"source": source, "decode": summary.decode})
    yield info
    yield _counter(
        "vidcv_frames_processed", "frames through the pipeline and written (stats JSON: frames)", summary.frames
    )
    yield _counter("vidcv_frames_read", "frames read from the source", summary.frames_read, src)
    yield _counter(
        "vidcv_frames_dropped", "live frames read but not processed (the pipeline was busy)", summary.dropped, src
    )
    yield _gauge("vidcv_fps", "frames processed per second: recent while running, the whole run's after", summary.fps)
    yield _gauge(
        "vidcv_source_fps",
        "frames read per second: recent while running, the whole run's after",
        summary.source_fps,
        src,
    )
    yield _gauge("vidcv_run_seconds", "time since the run started (its length once ended)", summary.wall_s)
    outages = summary.source_outages
    if outages is not None:  # live sources, as in the stats JSON
        yield _counter("vidcv_source_outages", "times the live source went away (reconnecting)", outages.outages, src)
        yield _counter("vidcv_source_reconnects", "times the live source came back", outages.reconnects, src)
        yield _gauge("vidcv_source_away", "1 while the live source is away (reconnecting)", float(outages.away), src)


def _stage_metrics(summary: RunSummary, stages: Sequence[Stage]) -> Iterator[Metric]:
    labels = ["stage", "plugin"]
    frames_in = CounterMetricFamily("vidcv_stage_frames", "frames a stage took (stats JSON: frames_in)", labels=labels)
    frames_out = CounterMetricFamily("vidcv_stage_frames_out", "frames a stage processed without error", labels=labels)
    errors = CounterMetricFamily("vidcv_stage_errors", "frames a stage failed on (bypassed on those)", labels=labels)
    events = CounterMetricFamily("vidcv_events", "scene events a stage reported, by kind", labels=[*labels, "kind"])
    latency = HistogramMetricFamily(
        "vidcv_stage_latency_seconds", "time a stage took per frame (bounds exact to 1 %)", labels=labels
    )
    # the pipeline's stages, read beside the summary: paired only while they still match (the window may edit)
    paired = len(stages) == len(summary.stages) and all(
        stage.plugin_name == row.plugin for stage, row in zip(stages, summary.stages)
    )
    for i, row in enumerate(summary.stages):
        values = [row.name, row.plugin]
        frames_in.add_metric(values, row.frames_in)
        frames_out.add_metric(values, row.frames_out)
        errors.add_metric(values, row.errors)
        for kind, n in sorted(row.events.items()):
            events.add_metric([*values, kind], n)
        if paired:
            count, sum_ms, counts = stages[i].stats.durations.histogram()
            latency.add_metric(values, latency_buckets(counts), sum_ms / 1000.0)
    yield from (frames_in, frames_out, errors, events, latency)


# --- the server ----------------------------------------------------------------------------------------------------
class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress never holds the process at its exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged (the base class writes each to stderr)."""


def _only_metrics(app: Callable[..., Any]) -> Callable[..., Any]:
    """``app`` at ``/metrics``; 404 with a pointer to it elsewhere."""

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "") in (PATH, PATH + "/"):
            return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"vidcv serves its metrics at {PATH}\n".encode()]

    return route


class MetricsServer:
    """Serves ``collector``'s figures at ``http://ADDRESS/metrics`` from a thread of its own, from the moment
    it is made until ``close`` (which releases the port and ends the thread; ``with`` closes it too). A bind
    that fails is a MetricsError in one line, naming the address and what to do."""

    def __init__(self, address: MetricsAddress, runner: Runner | None = None) -> None:
        self.collector = RunCollector(runner)
        self.registry = CollectorRegistry()  #: the server's own: nothing of the library's global one
        self.registry.register(self.collector)
        self._server = _bind(address, _only_metrics(make_wsgi_app(self.registry)))
        self.address = MetricsAddress(
            address.host, self._server.server_port
        )  #: the port bound (port 0: the one chosen)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="vidcv-metrics", daemon=True
        )
        self._thread.start()
        if not address.loopback:
            log.warning(
                "metrics at http://%s%s can be read by anyone who can reach this machine on that address "
                "(the run's figures and its source, without password)",
                self.address,
                PATH,
            )
        log.info("serving metrics at http://%s%s", self.address, PATH)

    @property
    def url(self) -> str:
        return f"http://{self.address}{PATH}"

    @property
    def serving(self) -> bool:
        """Whether the serving thread is still running."""
        return self._thread.is_alive()

    def watch(self, runner: Runner | None) -> None:
        """Serve ``runner``'s figures from the next scrape (None: none)."""
        self.collector.runner = runner

    def close(self) -> None:
        """Stop serving: the thread ends, the port is released. Safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(CLOSE_WAIT_S)
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _bind(address: MetricsAddress, app: Callable[..., Any]) -> _Server:
    """A server listening on ``address``, or MetricsError saying why not and what to do."""
    where = f"cannot serve metrics on {address}"
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(
            address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise MetricsError(
            f"{where}: unknown host {address.host!r} ({reason}); give an address of this machine, or :PORT for "
            f"{DEFAULT_HOST}"
        ) from None

    class Server(_Server):
        address_family = family  # IPv6 too

    try:
        server = make_server(str(sockaddr[0]), address.port, app, Server, handler_class=_QuietHandler)
    except OSError as exc:
        raise MetricsError(f"{where}: {_bind_problem(exc, address)}") from None
    return server


def _bind_problem(exc: OSError, address: MetricsAddress) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {address.port} is in use by another program; choose another port (e.g. :{address.port + 1})"
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{address.host} is not an address of this machine; give one of its own, or :{address.port} for "
            f"{DEFAULT_HOST}"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (ports below 1024 need privileges); choose a port above 1023"
    return f"{exc.strerror or exc}; choose another address or port"


def start_metrics(spec: str | MetricsAddress, runner: Runner | None = None) -> MetricsServer:
    """Parse ``spec`` (``HOST:PORT``, ``:PORT``, ``PORT``) and serve ``runner``'s figures there (``watch`` sets
    or replaces the runner later). MetricsError, before any frame is read, when it cannot."""
    address = spec if isinstance(spec, MetricsAddress) else parse_address(spec)
    return MetricsServer(address, runner)
