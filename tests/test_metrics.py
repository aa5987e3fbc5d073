"""The --metrics endpoint: a real run scraped over HTTP during and after it, parsed with the Prometheus client's
own parser; after the run its counters equal the stats JSON's exactly."""

import socket
import threading
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from vidcv.metrics import LATENCY_BOUNDS_S, MetricsAddress, MetricsError, parse_address, start_metrics
from vidcv.plugin import Plugin
from vidcv.presets import parse_preset
from vidcv.registry import Registry
from vidcv.runner import Runner
from vidcv.sinks import VideoSink
from vidcv.sources import FileSource, PatternSource

#: moving coloured squares, tracked, counted across a vertical line: each crossing is a line_cross event
COUNTED = """pipeline:
  - plugin: in_range
    params: {space: hsv, lower: [0, 120, 90], upper: [179, 255, 255]}
  - plugin: contours
    params: {min_area: 150, draw: none}
  - plugin: track
  - plugin: count
    params: {mode: line, line: [160, 0, 160, 240]}
"""
FRAMES = 60
HOLD_AT = 40  #: the gate holds the run on this frame (both squares have crossed the line by then)
FLAKY_AT = 7  #: the flaky stage fails on this frame


def write_crossing_video(path: str) -> str:
    """A red square moving right and a blue one moving left, each across x = 160 once."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    assert writer.isOpened(), path
    for t in range(FRAMES):
        img = np.full((240, 320, 3), 70, np.uint8)
        cv2.rectangle(img, (10 + 5 * t, 50), (33 + 5 * t, 73), (40, 40, 230), -1)
        cv2.rectangle(img, (290 - 5 * t, 160), (317 - 5 * t, 187), (230, 80, 40), -1)
        writer.write(img)
    writer.release()
    return path


class Flaky(Plugin):
    name = "flaky"

    def process(self, frame):
        if frame.index == FLAKY_AT:
            raise ValueError("flaky on purpose")
        return frame


class Gate(Plugin):
    """Holds the run on frame HOLD_AT until released, so that a scrape sees it mid-way without a timed wait."""

    name = "gate"

    def __init__(self, **values):
        super().__init__(**values)
        self.reached, self.release = threading.Event(), threading.Event()

    def process(self, frame):
        if frame.index == HOLD_AT:
            self.reached.set()
            self.release.wait(60)  # a bound only against a test that fails before releasing it
        return frame


def scrape(server) -> dict:
    """The endpoint parsed by prometheus_client's parser: {family name: family}."""
    with urllib.request.urlopen(server.url, timeout=10) as response:
        assert response.status == 200
        text = response.read().decode("utf-8")
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families, sample_name, **labels) -> float:
    family_name = sample_name.removesuffix("_total")
    found = [s.value for s in families[family_name].samples if s.name == sample_name and s.labels == labels]
    assert len(found) == 1, (sample_name, labels, families[family_name].samples)
    return found[0]


def counters(families, doc) -> dict:
    """The scrape's counters in the shape of the stats JSON's (``doc``, for the stage names and the live keys)."""
    out = {
        "frames": value(families, "vidcv_frames_processed_total"),
        "frames_read": value(families, "vidcv_frames_read_total", source=doc["source"]),
        "dropped": value(families, "vidcv_frames_dropped_total", source=doc["source"]),
        "stages": [],
    }
    events_total: dict[str, float] = {}
    for stage in doc["stages"]:
        labels = {"stage": stage["name"], "plugin": stage["plugin"]}
        row = {
            "frames_in": value(families, "vidcv_stage_frames_total", **labels),
            "frames_out": value(families, "vidcv_stage_frames_out_total", **labels),
            "errors": value(families, "vidcv_stage_errors_total", **labels),
        }
        events = {
            s.labels["kind"]: s.value for s in families["vidcv_events"].samples if s.labels.items() > labels.items()
        }
        if events:
            row["events"] = events
            for kind, n in events.items():
                events_total[kind] = events_total.get(kind, 0) + n
        out["stages"].append(row)
    if events_total:
        out["events"] = events_total
    if "reconnects" in doc:
        out["outages"] = value(families, "vidcv_source_outages_total", source=doc["source"])
        out["reconnects"] = value(families, "vidcv_source_reconnects_total", source=doc["source"])
    return out


def json_counters(doc) -> dict:
    """The same figures from the stats JSON."""
    out = {k: doc[k] for k in ("frames", "frames_read", "dropped", "events", "outages", "reconnects") if k in doc}
    out["stages"] = [
        {k: s[k] for k in ("frames_in", "frames_out", "errors", "events") if k in s} for s in doc["stages"]
    ]
    return out


def check_histograms(families, stages: list[dict]) -> None:
    """Per stage: cumulative buckets at LATENCY_BOUNDS_S then +Inf, whose count is _count, frames_in of the stage."""
    samples = families["vidcv_stage_latency_seconds"].samples
    for stage in stages:
        labels = {"stage": stage["name"], "plugin": stage["plugin"]}
        mine = [s for s in samples if {k: s.labels.get(k) for k in labels} == labels]
        buckets = [(s.labels["le"], s.value) for s in mine if s.name.endswith("_bucket")]
        assert [le for le, _ in buckets] == [*map(repr, LATENCY_BOUNDS_S), "+Inf"]
        counts = [n for _, n in buckets]
        assert counts == sorted(counts)  # cumulative
        (count,) = [s.value for s in mine if s.name.endswith("_count")]
        (total,) = [s.value for s in mine if s.name.endswith("_sum")]
        assert counts[-1] == count == stage["frames_in"]
        assert total > 0


def test_a_run_scraped_during_and_after_matches_its_stats_json(tmp_path):
    video = write_crossing_video(str(tmp_path / "crossing.mp4"))
    pipeline = parse_preset(COUNTED, Registry())
    pipeline.add(Flaky(), index=0)
    gate = Gate()
    pipeline.add(gate)
    sink = VideoSink(str(tmp_path / "out.mp4"), 30)
    runner = Runner(FileSource(video), pipeline, [sink])
    with start_metrics(":0", runner) as server:
        assert server.address.host == "127.0.0.1" and server.address.port > 0
        before = scrape(server)
        assert value(before, "vidcv_running") == 0
        runner.start()
        try:
            assert gate.reached.wait(30), "the run did not reach the gate"
            during = scrape(server)
        finally:
            gate.release.set()
            runner.wait(60)
            runner.stop()
        after = scrape(server)
        doc = runner.summary().to_dict()
        doc["source"] = runner.source.label

        # during: the run goes, part-way (the gate holds frame HOLD_AT), already with its errors and events
        assert value(during, "vidcv_running") == 1
        assert HOLD_AT <= value(during, "vidcv_frames_read_total", source=doc["source"]) <= FRAMES
        assert value(during, "vidcv_frames_processed_total") <= HOLD_AT
        assert value(during, "vidcv_stage_errors_total", stage="flaky", plugin="flaky") == 1
        assert value(during, "vidcv_events_total", stage="count", plugin="count", kind="line_cross") == 2
        assert value(during, "vidcv_encoder_queue_depth") >= 0
        during_stages = [
            {**s, "frames_in": value(during, "vidcv_stage_frames_total", stage=s["name"], plugin=s["plugin"])}
            for s in doc["stages"]
        ]
        check_histograms(during, during_stages)

        # after: exactly the stats JSON's counters
        assert value(after, "vidcv_running") == 0
        assert doc["frames"] == FRAMES and doc["events"] == {"line_cross": 2} and doc["stages"][0]["errors"] == 1
        assert counters(after, doc) == json_counters(doc)
        check_histograms(after, doc["stages"])
        assert value(after, "vidcv_encoder_queue_depth") == 0  # the encoder finished
        assert value(after, "vidcv_fps") == pytest.approx(doc["fps"], abs=1e-3)
        assert value(after, "vidcv_source_fps", source=doc["source"]) == pytest.approx(doc["source_fps"], abs=1e-3)
        assert "vidcv_source_reconnects" not in after  # a file has no outages, as in the JSON
    assert not server.serving


def test_a_live_source_counts_drops_and_outages_without_its_password():
    source = PatternSource("rtsp://viewer:s3cret@camera.local/stream", 64, 48, fps=200)
    runner = Runner(source, parse_preset("pipeline:\n  - plugin: blur\n", Registry()), max_frames=20)
    with start_metrics("127.0.0.1:0", runner) as server:
        runner.run()
        with urllib.request.urlopen(server.url, timeout=10) as response:
            text = response.read().decode("utf-8")
        assert "s3cret" not in text and "viewer" not in text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        doc = runner.summary().to_dict()
        doc["source"] = "rtsp://***@camera.local/stream"
        assert counters(families, doc) == json_counters(doc)
        assert value(families, "vidcv_source_away", source=doc["source"]) == 0


def test_closing_releases_the_port_and_ends_the_thread():
    server = start_metrics(":0")
    port = server.address.port
    families = scrape(server)
    assert value(families, "vidcv_running") == 0  # no run yet: only that
    server.close()
    server.close()  # twice is fine
    assert not server.serving
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    start_metrics(f":{port}").close()  # the port is free again


def test_only_the_metrics_path_is_served():
    with start_metrics(":0") as server:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{server.address.port}/other", timeout=10)
        assert caught.value.code == 404


def test_a_taken_port_is_one_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsError) as caught:
            start_metrics(f":{port}")
    message = str(caught.value)
    assert "\n" not in message
    assert f"cannot serve metrics on 127.0.0.1:{port}: port {port} is in use" in message
    assert "choose another port" in message


def test_an_address_not_of_this_machine_is_one_clear_error():
    # a documentation address (TEST-NET-1): binding it fails locally, nothing is sent
    with pytest.raises(MetricsError, match=r"192\.0\.2\.1 is not an address of this machine"):
        start_metrics("192.0.2.1:0")


@pytest.mark.parametrize(
    ("spec", "address"),
    [
        ("9100", MetricsAddress("127.0.0.1", 9100)),
        (":9100", MetricsAddress("127.0.0.1", 9100)),
        ("0.0.0.0:9100", MetricsAddress("0.0.0.0", 9100)),
        ("localhost:0", MetricsAddress("localhost", 0)),
        ("[::1]:9100", MetricsAddress("::1", 9100)),
    ],
)
def test_addresses_parse(spec, address):
    assert parse_address(spec) == address


def test_loopback_and_the_address_as_written():
    assert parse_address(":9100").loopback and parse_address("localhost:1").loopback
    assert parse_address("[::1]:9100").loopback and str(parse_address("[::1]:9100")) == "[::1]:9100"
    assert not parse_address("0.0.0.0:9100").loopback


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("", "HOST:PORT, :PORT or PORT"),
        ("host", "HOST:PORT, :PORT or PORT"),
        (":http", "HOST:PORT, :PORT or PORT"),
        (":70000", "at most 65535"),
        ("::1:9100", "in brackets"),
        ("[]:9100", "HOST:PORT, :PORT or PORT"),
    ],
)
def test_malformed_addresses_say_what_is_accepted(spec, why):
    with pytest.raises(MetricsError, match=why) as caught:
        parse_address(spec)
    assert str(caught.value).startswith("--metrics takes")
