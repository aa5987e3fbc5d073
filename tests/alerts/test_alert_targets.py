"""The --webhook and --mqtt values: what is accepted, and one line naming the problem and the fix otherwise."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vidcv.alerts import AlertConfigError, parse_mqtt, parse_webhook
from vidcv.errors import VidcvError


def test_webhook_url_parts():
    t = parse_webhook("https://hook:p%40ss@example.org/api/events?x=1")
    assert (t.scheme, t.host, t.port, t.path) == ("https", "example.org", 443, "/api/events?x=1")
    assert (t.username, t.password) == ("hook", "p@ss")
    assert t.label == "https://***@example.org/api/events?x=1"
    assert t.authorization() == "Basic aG9vazpwQHNz"
    plain = parse_webhook("http://[::1]:8080")
    assert (plain.host, plain.port, plain.path, plain.authorization()) == ("::1", 8080, "/", "")


@pytest.mark.parametrize(
    "url, problem",
    [
        ("ftp://host/x", "events are posted over HTTP only, not ftp://"),
        ("localhost:8080/hook", "not a URL"),
        ("http:///hook", "no host in the URL"),
        ("http://host:99999/x", "host or port is malformed"),
        ("http://host:port/x", "host or port is malformed"),
        ("http://host:0/x", "port 0 is out of range"),
        ("http://host/a b", "a blank or control character is in the URL"),
    ],
)
def test_bad_webhook_urls(url, problem):
    with pytest.raises(AlertConfigError, match=problem) as err:
        parse_webhook(url)
    text = str(err.value)
    assert isinstance(err.value, VidcvError)
    assert text.startswith("--webhook ") and "\n" not in text
    assert "percent-encode" in text or "give http://HOST[:PORT]/PATH" in text


@pytest.mark.parametrize(
    "value, host, port, topic, user, password",
    [
        ("127.0.0.1:1883/vidcv/events", "127.0.0.1", 1883, "vidcv/events", "", ""),
        ("broker.local/cam1", "broker.local", 1883, "cam1", "", ""),
        ("mqtt://u:p%40ss@[::1]:1884/a/b", "::1", 1884, "a/b", "u", "p@ss"),
        ("mqtt://reader@host:2000/t", "host", 2000, "t", "reader", ""),
    ],
)
def test_mqtt_values(value, host, port, topic, user, password):
    t = parse_mqtt(value)
    assert (t.host, t.port, t.topic, t.username, t.password) == (host, port, topic, user, password)
    assert "p@ss" not in t.label and "p%40ss" not in t.label and "p@ss" not in repr(t)


@pytest.mark.parametrize(
    "value, problem",
    [
        ("host:0/t", "the port must be a number from 1 to 65535, not '0'"),
        ("host:70000/t", "the port must be a number from 1 to 65535, not '70000'"),
        ("host:/t", "the port must be a number from 1 to 65535, not ''"),
        ("host:1883", "no topic after the host"),
        ("host:1883/", "no topic after the host"),
        (":1883/t", "no host"),
        ("host/a/#", r"cannot hold \+ or #"),
        ("host/+/x", r"cannot hold \+ or #"),
        ("tcp://host/t", "tcp:// is not supported"),
        ("::1:1883/t", "write an IPv6 address in brackets"),
        ("[::1/t", "the IPv6 address is malformed"),
        ("my host:1883/t", "a blank or control character is in the host"),
    ],
)
def test_bad_mqtt_values(value, problem):
    with pytest.raises(AlertConfigError, match=problem) as err:
        parse_mqtt(value)
    assert str(err.value).startswith("--mqtt ") and "\n" not in str(err.value)


def test_a_bad_value_never_shows_its_password():
    with pytest.raises(AlertConfigError) as err:
        parse_mqtt("mqtt://u:hunter22@host:99999/t")
    assert "hunter22" not in str(err.value) and "mqtt://***@host:99999/t" in str(err.value)
    with pytest.raises(AlertConfigError) as err:
        parse_webhook("gopher://u:hunter22@host/x")
    assert "hunter22" not in str(err.value)


def test_checking_the_values_imports_neither_paho_nor_http_client():
    code = (
        "import sys; from vidcv.alerts import parse_mqtt, parse_webhook; parse_mqtt('h/t'); parse_webhook('http://h/');"
        "print([m for m in ('paho.mqtt.client', 'http.client') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
