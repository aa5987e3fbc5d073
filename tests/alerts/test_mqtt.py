"""The MQTT sender against a real Mosquitto broker on 127.0.0.1 (Debian's mosquitto; scripts/setup.sh installs
it): every event once and in order, with a password, a broker killed mid-run, one restarted; and a port where
nothing listens."""

from __future__ import annotations

import getpass
import json
import logging
import os
import shutil
import socket
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from alert_helpers import PASSWORD, USER, events, free_port, wait_until
from paho.mqtt.enums import CallbackAPIVersion

from vidcv.alerts import close_all, make_notifiers
from vidcv.alerts.mqtt import MqttNotifier

MOSQUITTO = shutil.which("mosquitto", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/local/sbin")
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd", path=f"{os.environ.get('PATH', '')}:/usr/bin:/usr/local/bin")
needs_broker = pytest.mark.skipif(
    MOSQUITTO is None, reason="needs the mosquitto broker (apt-get install mosquitto; scripts/setup.sh does)"
)
TOPIC = "vidcv/test/events"


class Broker:
    """A mosquitto on 127.0.0.1:``port`` with a config of its own; ``users``: name to password (then no
    anonymous clients)."""

    def __init__(self, tmp_path, users: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = tmp_path
        # started as root, mosquitto becomes the user named here (default: mosquitto, who cannot read tmp_path)
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr", f"user {getpass.getuser()}"]
        if users:
            passwd = tmp_path / "passwd"
            for i, (name, password) in enumerate(users.items()):
                flags = ["-c"] if i == 0 else []
                subprocess.run([MOSQUITTO_PASSWD, *flags, "-b", str(passwd), name, password], check=True)
            passwd.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        self.config = tmp_path / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.log = open(self.dir / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self._listening, 10, what=f"mosquitto listening on 127.0.0.1:{self.port}")

    def _listening(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, (self.dir / "mosquitto.log").read_text()
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


class Subscriber:
    """A paho client subscribed to ``TOPIC`` with QoS 1 that keeps every payload it gets."""

    def __init__(self, port: int, username: str = "", password: str = "") -> None:
        self.got: list[dict] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, *a: c.subscribe(TOPIC, qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = lambda c, u, m: self.got.append(json.loads(m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the test's subscriber got no SUBACK"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def brokers(tmp_path):
    started: list[Broker] = []

    def start(**kw) -> Broker:
        folder = tmp_path / f"broker{len(started)}"
        folder.mkdir()
        started.append(Broker(folder, **kw))
        return started[-1]

    yield start
    for b in started:
        b.kill()


@pytest.fixture
def subscribers():
    made: list[Subscriber] = []

    def make(*args, **kw) -> Subscriber:
        made.append(Subscriber(*args, **kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


@needs_broker
def test_every_event_once_in_order(brokers, subscribers):
    broker = brokers()
    sub = subscribers(broker.port)
    [sender] = make_notifiers([], [f"127.0.0.1:{broker.port}/{TOPIC}"])
    sent = events(500)
    for payload in sent:
        sender.send(payload)
    summary = sender.close(timeout=20)
    assert (summary.sent, summary.missed) == (500, 0)
    assert summary.line() == f"mqtt mqtt://127.0.0.1:{broker.port}/{TOPIC}: 500 sent, 0 missed"
    wait_until(lambda: len(sub.got) >= 500, what="500 messages at the subscriber")
    time.sleep(0.2)  # no more arrive
    assert sub.got == sent


@needs_broker
@pytest.mark.skipif(MOSQUITTO_PASSWD is None, reason="needs mosquitto_passwd (apt-get install mosquitto)")
def test_password_goes_to_the_broker_and_is_never_shown(brokers, subscribers, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    broker = brokers(users={USER: PASSWORD, "reader": "readpw"})
    sub = subscribers(broker.port, "reader", "readpw")
    good = MqttNotifier(f"mqtt://{USER}:{PASSWORD}@127.0.0.1:{broker.port}/{TOPIC}")
    wrong = MqttNotifier(f"mqtt://{USER}:not-{PASSWORD}@127.0.0.1:{broker.port}/{TOPIC}", reconnect_min=5)
    sent = events(20)
    for payload in sent:
        good.send(payload)
        wrong.send(payload)
    wait_until(lambda: wrong.snapshot().last_error, what="the broker's refusal")
    good_summary, wrong_summary = close_all([good, wrong], timeout=10)
    assert good_summary.sent == 20 and good_summary.missed == 0
    wait_until(lambda: len(sub.got) >= 20, what="20 messages at the subscriber")
    assert sub.got == sent  # the wrong password's sender delivered nothing
    assert wrong_summary.sent == 0 and wrong_summary.missed == 20
    assert "broker refused the connection: Not authorized" in wrong_summary.line()
    shown = [caplog.text, *capsys.readouterr(), good.label, wrong.label, repr(good.target)]
    shown += [s.line() for s in (good_summary, wrong_summary)]
    assert f"mqtt mqtt://***@127.0.0.1:{broker.port}/{TOPIC}: broker refused the connection" in caplog.text
    for text in shown:
        assert PASSWORD not in text and USER not in text


@needs_broker
def test_broker_killed_mid_run_counts_misses_and_blocks_nothing(brokers, subscribers, caplog):
    broker = brokers()
    sub = subscribers(broker.port)
    sender = MqttNotifier(f"127.0.0.1:{broker.port}/{TOPIC}", queue_size=100)
    for payload in events(50):
        sender.send(payload)
    wait_until(lambda: sender.snapshot().sent == 50, what="50 acknowledged")
    broker.kill()
    wait_until(lambda: "broker connection lost" in sender.snapshot().last_error, what="the lost connection noticed")
    start = time.monotonic()
    for payload in events(2000, start=50):
        sender.send(payload)
    sending = time.monotonic() - start
    during = sender.snapshot()
    assert during.dropped == 2000 - 100  # the queue holds 100: the rest dropped at once
    assert sending < 2.0, f"2000 sends took {sending:.2f} s with the broker gone"
    closing = time.monotonic()
    summary = sender.close(timeout=1.0)
    assert time.monotonic() - closing < 6.0
    assert (summary.sent, summary.missed, summary.dropped, summary.unsent) == (50, 2000, 1900, 100)
    assert "broker" in summary.last_error
    assert f"mqtt mqtt://127.0.0.1:{broker.port}/{TOPIC}: 50 sent, 2000 missed (1900 dropped" in summary.line()
    assert "broker connection lost" in caplog.text
    assert sub.got == events(50)


@needs_broker
def test_broker_restarted_gets_what_waited(brokers, subscribers):
    broker = brokers()
    sender = MqttNotifier(f"127.0.0.1:{broker.port}/{TOPIC}", reconnect_min=3, reconnect_max=3)
    for payload in events(10):
        sender.send(payload)
    wait_until(lambda: sender.snapshot().sent == 10, what="10 acknowledged")
    broker.kill()
    wait_until(lambda: sender.snapshot().last_error, what="the lost connection noticed")
    waiting = events(40, start=10)
    for payload in waiting:
        sender.send(payload)
    broker.start()  # the same port; paho reconnects after its backoff (3 s), once the subscriber is back
    sub = subscribers(broker.port)
    wait_until(lambda: sender.snapshot().sent == 50, 30, what="the waiting events delivered after reconnecting")
    summary = sender.close(timeout=10)
    assert (summary.sent, summary.missed) == (50, 0)
    wait_until(lambda: len(sub.got) >= 40, what="40 messages at the new subscriber")
    assert sub.got == waiting


def test_nothing_listening_blocks_nothing_and_says_why():
    port = free_port()
    sender = MqttNotifier(f"127.0.0.1:{port}/{TOPIC}", queue_size=10)
    for payload in events(100):
        sender.send(payload)
    wait_until(lambda: sender.snapshot().last_error, what="the failed connection")
    summary = sender.close(timeout=0.5)
    assert (summary.sent, summary.dropped, summary.unsent) == (0, 90, 10)
    assert summary.line() == (
        f"mqtt mqtt://127.0.0.1:{port}/{TOPIC}: 0 sent, 100 missed "
        "(90 dropped while the queue was full, 10 still undelivered at the end; broker down: connection refused)"
    )
