"""Credentials never leave vidcv: the redaction function, and a real stream on loopback that needs a user name
and password, read by `vidcv run -v` and `vidcv extract`, with nothing they print or write holding either."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from media import run_cli
from vidcv.dataset.extract import source_stem
from vidcv.errors import SourceError
from vidcv.redact import redact
from vidcv.sources import parse_source

USER, PASSWORD = "vidcvuser", "s3cretpw"


@pytest.mark.parametrize(
    "text, shown",
    [
        ("http://user:secret@127.0.0.1:8080/live", "http://***@127.0.0.1:8080/live"),
        ("foo://user:secret@host/x", "foo://***@host/x"),
        ("rtsp://user@cam/x", "rtsp://***@cam/x"),
        ("rtsp://u:p@[::1:9/x", "rtsp://***@[::1:9/x"),  # no URL parser involved: malformed is fine
        ("rtsp://admin:p@ss@cam/x", "rtsp://***@cam/x"),  # the last @ of the authority ends the user info
        ("rtsp://admin:pa/ss@cam/x", "rtsp://***@cam/x"),  # a / in the password cuts the authority short
        ("rtsp://admin:my secret@cam/x", "rtsp://***@cam/x"),  # a SOURCE is one URL, blanks included
        ("http://cam/video.cgi?user=admin&pwd=s3&fps=5", "http://cam/video.cgi?user=***&pwd=***&fps=5"),
        ("rtsp://admin:pa#ss@cam/x", "rtsp://***@cam/x"),  # a # or ? in the password ends the authority
        ("mqtt://user:pa?ss@broker:1883/t", "mqtt://***@broker:1883/t"),
        ("rtsp://us#er@cam/x", "rtsp://***@cam/x"),
        # any query name that holds pass, secret, token, key, auth, sig or cred
        ("srt://cam:9000?passphrase=s3&latency=20", "srt://cam:9000?passphrase=***&latency=20"),
        (
            "http://h/x?client_secret=a&auth_token=b&passkey=c&fps=5",
            "http://h/x?client_secret=***&auth_token=***&passkey=***&fps=5",
        ),
        ("stream http://h/x?token=abc: connection refused", "stream http://h/x?token=***: connection refused"),
        (
            "cannot open 'http://a:b@h/x': 401; and rtsp://c:d@e/f.",
            "cannot open 'http://***@h/x': 401; and rtsp://***@e/f.",
        ),
        # left alone: no credentials, or an @ in a path
        ("rtsp://cam.local:554/stream", "rtsp://cam.local:554/stream"),
        ("http://host:80/a@b/c", "http://host:80/a@b/c"),
        ("rtsp://[::1]:554/a@b", "rtsp://[::1]:554/a@b"),
        ("/data/me@work/clip.mp4", "/data/me@work/clip.mp4"),
        ('camera:"HD Pro Webcam C920"', 'camera:"HD Pro Webcam C920"'),
    ],
)
def test_redact_masks_user_info_and_secret_query_values(text, shown):
    assert redact(text) == shown
    assert redact(shown) == shown  # idempotent


_secret = st.text(
    st.characters(blacklist_characters="/@", blacklist_categories=("Cs", "Cc", "Z")), min_size=1, max_size=20
).map(lambda s: "Zq" + s)  # never a substring of the rest of the URL


@given(
    scheme=st.sampled_from(["rtsp", "http", "https", "foo", "srt", "x-y.z"]),
    user=_secret,
    password=_secret,
    host=st.sampled_from(["cam", "127.0.0.1:8554", "[::1]:554", "[::1:9", "h:abc"]),
    tail=st.sampled_from(["", "/", "/live/ch1", "/x?a=1#f"]),
)
def test_redact_never_shows_a_user_or_password(scheme, user, password, host, tail):
    url = f"{scheme}://{user}:{password}@{host}{tail}"
    for text in (url, f"stream {url} dropped", f"'{url}'"):
        shown = redact(text)
        assert user not in shown and password not in shown, shown


@given(st.text(max_size=200))
def test_redact_takes_any_text(text):
    assert isinstance(redact(text), str)


def test_log_records_that_quote_a_url_are_redacted():
    import logging

    from vidcv.redact import redact_log_record

    record = logging.LogRecord(
        "libav.http",
        logging.WARNING,
        __file__,
        1,
        "Opening '%s' for reading: %d",
        (f"http://{USER}:{PASSWORD}@cam/x", 3),
        None,
    )
    assert redact_log_record(record) is True
    assert record.getMessage() == "Opening 'http://***@cam/x' for reading: 3"
    plain = logging.LogRecord("vidcv", logging.INFO, __file__, 1, "%d frames", (5,), None)
    assert redact_log_record(plain) and plain.args == (5,)  # left as it was


def test_every_source_label_and_file_stem_is_redacted():
    for spec in (f"http://{USER}:{PASSWORD}@127.0.0.1:9/", f"rtsp://{USER}:{PASSWORD}@cam/live.sdp"):
        source = parse_source(spec)
        assert USER not in source.label and PASSWORD not in source.label and "***@" in source.label
        assert USER not in source.describe() and PASSWORD not in source.describe()
        assert USER not in source_stem(spec) and PASSWORD not in source_stem(spec)


@pytest.mark.parametrize(
    "spec, words",
    [
        (f"foo://{USER}:{PASSWORD}@host/x", r"unsupported URL scheme 'foo' in foo://\*\*\*@host/x"),
        (f"rtsp://{USER}:{PASSWORD}@[::1:9/x", r"bad URL rtsp://\*\*\*@\[::1:9/x: its host cannot be read"),
        (f"rtsp://{USER}:pa/ss@cam/x", "its port is not a number"),  # Python's own message would quote 'pa'
        (f"rtsp://{USER}:{PASSWORD}@cam:99999/x", "its port is not a number from 1 to 65535"),
    ],
)
def test_bad_urls_are_one_line_without_the_credentials(spec, words):
    with pytest.raises(SourceError, match=words) as caught:
        parse_source(spec)
    message = str(caught.value)
    assert USER not in message and PASSWORD not in message and "pa/ss" not in message and "\n" not in message


class MjpegServer:
    """An MJPEG stream over HTTP on loopback that answers only with Basic auth USER:PASSWORD (401 otherwise).
    ``authorized`` counts the requests that brought the right credentials: proof that vidcv used them. Each
    connection ends after ``frames`` frames, in the middle of the next one: the stream drops, vidcv reconnects
    and says so."""

    def __init__(self, frames: int = 400) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        server = self
        self.authorized = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="cam"')
                    self.end_headers()
                    return
                server.authorized += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                rng = np.random.default_rng(0)
                try:
                    for i in range(frames + 1):
                        jpg = cv2.imencode(".jpg", rng.integers(0, 255, (96, 128, 3), np.uint8))[1].tobytes()
                        part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpg)
                        self.wfile.write(part + (jpg + b"\r\n" if i < frames else jpg[: len(jpg) // 2]))
                except OSError:  # the client went
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def camera():
    server = MjpegServer(frames=8)
    yield server
    server.close()


def leaks(*texts: str) -> list[str]:
    return [t for t in texts if USER in t or PASSWORD in t]


def everything_under(folder: Path) -> list[str]:
    """Every file's relative path and text content under ``folder`` (images read as bytes, decoded loosely)."""
    out = []
    for path in folder.rglob("*"):
        out.append(str(path.relative_to(folder)))
        if path.is_file():
            out.append(path.read_bytes().decode("latin-1"))
    return out


def test_run_over_a_stream_with_credentials_prints_and_writes_none(camera, tmp_path):
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{camera.port}/video.mjpg"
    stats, dets = tmp_path / "stats.json", tmp_path / "dets.jsonl"
    result = run_cli(
        "run",
        "-v",
        url,
        "-p",
        "edges",
        "--max-frames",
        "20",
        "--stats-json",
        str(stats),
        "--detections-jsonl",
        str(dets),
        "-o",
        str(tmp_path / "out.mp4"),
    )
    assert result.returncode == 0, result.stderr
    assert camera.authorized >= 2  # the credentials reached the server, again after a drop
    shown = f"http://***@127.0.0.1:{camera.port}/video.mjpg"
    assert f"source: {shown}" in result.stderr  # -v names the source, masked
    assert f"stream {shown}: the stream dropped" in result.stderr and "reconnected" in result.stderr
    json.loads(stats.read_text())
    assert not leaks(result.stdout, result.stderr, *everything_under(tmp_path))


def test_extract_from_a_stream_with_credentials_names_and_records_none(camera, tmp_path):
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{camera.port}/"  # no path: the host part names the files
    out = tmp_path / "ds"
    result = run_cli(
        "extract", "-v", url, "-p", "edges", "--negatives-only", "--out", str(out), "--max-frames", "6", "-q"
    )
    assert result.returncode == 0, result.stderr
    assert camera.authorized >= 1
    images = list(out.rglob("*.jpg"))
    assert images, result.stderr
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert manifest and all(line["source"] == f"http://***@127.0.0.1:{camera.port}/" for line in manifest)
    assert not leaks(result.stdout, result.stderr, *everything_under(out))


def test_an_unknown_scheme_is_refused_without_echoing_the_credentials():
    result = run_cli("run", f"foo://{USER}:{PASSWORD}@host/x", "-p", "edges")
    assert result.returncode == 1
    assert "unsupported URL scheme 'foo' in foo://***@host/x" in result.stderr
    assert not leaks(result.stdout, result.stderr)


def test_an_unclosed_ipv6_bracket_is_one_clear_line():
    result = run_cli("run", "rtsp://u:p@[::1:9/x")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        (
            "vidcv: error: bad URL rtsp://***@[::1:9/x: its host cannot be read (an IPv6 address goes in closed "
            "brackets, e.g. rtsp://[::1]:554/path; characters such as @ / [ in a password are written %40 %2F %5B)"
        )
    ]


def test_a_refused_password_is_not_echoed_either(camera):
    result = run_cli(
        "run",
        "-v",
        f"http://{USER}:wrongpw@127.0.0.1:{camera.port}/video.mjpg",
        "-p",
        "edges",
        "--reconnect-attempts",
        "0",
    )
    assert result.returncode == 1 and camera.authorized == 0
    assert "check the path and the credentials" in result.stderr
    assert not leaks(result.stdout, result.stderr) and "wrongpw" not in result.stderr
