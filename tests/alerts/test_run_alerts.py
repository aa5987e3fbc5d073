"""`vidcv run --webhook/--mqtt` as users run it: a real receiver on 127.0.0.1 and a real Mosquitto get each
scene event of the sample's ten line crossings once, in order, with the events.jsonl record; a receiver that
is down costs the run nothing and its misses are said, even with --quiet; no password is shown."""

from __future__ import annotations

import json

from alert_helpers import PASSWORD, USER, free_port
from test_mqtt import TOPIC, Broker, Subscriber, needs_broker
from test_webhook import Receiver

from media import run_cli
from vidcv.bundled import sample_video


def test_a_webhook_gets_every_event_once_in_order_and_the_log_agrees(tmp_path):
    receiver = Receiver()
    try:
        url = receiver.url.replace("http://", f"http://{USER}:{PASSWORD}@")
        r = run_cli(
            "run", sample_video(), "-p", "track_shapes", "--webhook", url, "--events-dir", str(tmp_path / "ev"),
            "--no-clips", "--stats-json", str(tmp_path / "s.json"),
        )  # fmt: skip
    finally:
        receiver.close()
    assert r.returncode == 0, r.stderr
    logged = [json.loads(x) for x in (tmp_path / "ev" / "events.jsonl").read_text().splitlines()]
    assert len(logged) == 10 and receiver.accepted == logged  # the sample's ten crossings, each once, in order
    assert {x["kind"] for x in logged} == {"line_cross"}
    assert f"webhook http://***@127.0.0.1:{receiver.port}/events: 10 sent, 0 missed" in r.stdout
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["alerts"][0]["sent"] == 10 and stats["alerts"][0]["missed"] == 0
    shown = r.stdout + r.stderr + (tmp_path / "s.json").read_text() + (tmp_path / "ev" / "events.jsonl").read_text()
    assert PASSWORD not in shown


def test_a_receiver_that_is_down_costs_the_run_nothing_and_its_misses_are_said(tmp_path):
    port = free_port()  # nothing listens there
    r = run_cli(
        "run", sample_video(), "-p", "track_shapes", "-q", "--webhook", f"http://127.0.0.1:{port}/hook",
        "--stats-json", str(tmp_path / "s.json"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["frames"] == 300 and stats["events"] == {"line_cross": 10}
    assert stats["alerts"][0]["sent"] == 0 and stats["alerts"][0]["missed"] == 10
    (line,) = [x for x in r.stderr.splitlines() if " sent, " in x]  # besides the warning when it went down
    assert "0 sent, 10 missed" in line and "connection refused" in line


@needs_broker
def test_mqtt_gets_every_event_once_in_order(tmp_path):
    broker = Broker(tmp_path)
    try:
        sub = Subscriber(broker.port)
        try:
            r = run_cli("run", sample_video(), "-p", "track_shapes", "--mqtt", f"127.0.0.1:{broker.port}/{TOPIC}")
        finally:
            sub.close()
    finally:
        broker.kill()
    assert r.returncode == 0, r.stderr
    assert [(m["kind"], m["frame"]) for m in sub.got] == sorted((m["kind"], m["frame"]) for m in sub.got)
    assert len(sub.got) == 10 and f"mqtt mqtt://127.0.0.1:{broker.port}/{TOPIC}: 10 sent, 0 missed" in r.stdout


def test_a_bad_webhook_is_one_line_before_the_source_opens(tmp_path):
    r = run_cli("run", "no-such.mp4", "--webhook", f"ftp://{USER}:{PASSWORD}@host/x")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "http" in r.stderr and "no-such" not in r.stderr and PASSWORD not in r.stderr
