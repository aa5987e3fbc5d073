"""vidcv/proctitle.py: a password on the command line does not stay in ``ps`` (Linux), checked on real processes
through their real /proc/PID/cmdline."""

from __future__ import annotations

import ast
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from media import vidcv_cmd
from vidcv.proctitle import argv_span, redacted_command_line

SECRET = "s3cretPw"
linux_proc = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.path.exists("/proc/self/stat")),
    reason="rewrites the command line through Linux's /proc",
)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections (the kernel's backlog) and never answers: a stream there keeps
    vidcv opening and retrying until it is stopped."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def cmdline_args(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return [os.fsdecode(arg) for arg in fh.read().split(b"\0") if arg]


def wait_for_redacted(proc: subprocess.Popen, timeout: float = 60.0) -> list[str]:
    """The process's arguments once it has masked its URL (it does so as it starts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        args = cmdline_args(proc.pid)
        if any("***@" in arg for arg in args):
            return args
        time.sleep(0.05)
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"the command line was not masked (exit {proc.returncode}): {out!r} {err!r}")


def test_argv_span_counts_fields_after_the_last_parenthesis_of_the_name():
    fields = [str(n) for n in range(3, 53)]  # proc(5)'s fields 3 to 52
    fields[48 - 3], fields[49 - 3] = "140733000000000", "140733000000077"
    stat = b"4242 (we (ird) ) name) " + " ".join(fields).encode()
    assert argv_span(stat) == (140733000000000, 140733000000077)
    assert argv_span(b"4242 (short) S 1 2 3") is None  # an old kernel without the fields
    assert argv_span(b"no name at all") is None


@linux_proc
def test_argv_span_of_this_process_bounds_its_command_line():
    with open("/proc/self/stat", "rb") as fh:
        span = argv_span(fh.read())
    with open("/proc/self/cmdline", "rb") as fh:
        assert span is not None and span[1] - span[0] == len(fh.read())


def test_redacted_command_line_keeps_the_length_and_every_other_argument():
    cmdline = f"/usr/bin/python\0vidcv\0run\0rtsp://admin:{SECRET}@cam.local:554/live\0-q\0".encode()
    new = redacted_command_line(cmdline)
    assert new is not None and len(new) == len(cmdline) and new.endswith(b"\0")
    assert [a for a in new.split(b"\0") if a] == [
        b"/usr/bin/python",
        b"vidcv",
        b"run",
        b"rtsp://***@cam.local:554/live",
        b"-q",
    ]
    assert redacted_command_line(b"vidcv\0run\0rtsp://cam.local/live\0") is None  # nothing to hide
    assert redacted_command_line(b"vidcv\0run\0title set past its end") is None  # no final NUL: leave it


def test_a_mask_longer_than_the_secret_is_cut_never_past_the_arguments_end():
    cmdline = b"vidcv\0run\0rtsp://u@h/x?pwd=1\0"  # *** is longer than u and than 1
    new = redacted_command_line(cmdline)
    assert new is not None and len(new) == len(cmdline) and new.endswith(b"\0")
    assert b"u@" not in new and b"pwd=1" not in new
    assert new == b"vidcv\0run\0rtsp://***@h/x?pwd\0"  # cut to the original 29 bytes


@linux_proc
def test_a_process_masks_its_own_command_line_and_keeps_the_real_url_in_sys_argv():
    url = f"rtsp://admin:{SECRET}@127.0.0.1:9/cam?password={SECRET}"
    code = (
        "import sys; from vidcv.proctitle import redact_command_line; done = redact_command_line(); "
        "print(done, sys.argv[1] == " + repr(url) + "); "
        "print([a.decode() for a in open('/proc/self/cmdline', 'rb').read().split(b'\\0') if a])"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, url, "--other", "arg"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    first, cmdline = res.stdout.splitlines()
    assert first == "True True"
    assert ast.literal_eval(cmdline)[-3:] == ["rtsp://***@127.0.0.1:9/cam?password=***", "--other", "arg"]


@linux_proc
def test_a_command_line_without_credentials_is_left_as_it_is():
    code = "from vidcv.proctitle import redact_command_line; print(redact_command_line())"
    res = subprocess.run(
        [sys.executable, "-c", code, "rtsp://cam.local/live"], capture_output=True, text=True, timeout=60
    )
    assert res.stdout.strip() == "False", res.stderr


@linux_proc
def test_vidcv_run_hides_the_stream_password_from_ps_for_the_run(silent_port, tmp_path):
    url = f"rtsp://admin:{SECRET}@127.0.0.1:{silent_port}/cam"
    proc = subprocess.Popen(
        [*vidcv_cmd(), "run", url, "-p", "edges", "-q", "--stats-json", str(tmp_path / "s.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        args = wait_for_redacted(proc)
        assert not any(SECRET in arg for arg in args)
        assert args[-7:] == [
            "run",
            f"rtsp://***@127.0.0.1:{silent_port}/cam",
            "-p",
            "edges",
            "-q",
            "--stats-json",
            str(tmp_path / "s.json"),
        ]
        time.sleep(1.0)  # still so while it connects and retries
        assert proc.poll() is None and not any(SECRET in arg for arg in cmdline_args(proc.pid))
        ps = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(proc.pid)], capture_output=True, text=True)
        assert SECRET not in ps.stdout and (ps.returncode != 0 or "***@" in ps.stdout)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert SECRET not in out + err
    assert SECRET not in (tmp_path / "s.json").read_text()


@linux_proc
@pytest.mark.skipif(
    shutil.which("vidcv-gui", path=os.path.dirname(sys.executable)) is None,
    reason="the vidcv-gui script is not installed",
)
def test_vidcv_gui_hides_the_stream_password_from_ps(silent_port, tmp_path):
    url = f"rtsp://admin:{SECRET}@127.0.0.1:{silent_port}/cam"
    gui = shutil.which("vidcv-gui", path=os.path.dirname(sys.executable))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    # --screenshot: the saved settings are read, none written; it waits for its frame until killed
    proc = subprocess.Popen(
        [gui, url, "--frames", "1", "--screenshot", str(tmp_path / "shot.png")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        args = wait_for_redacted(proc)
        assert not any(SECRET in arg for arg in args)
        assert f"rtsp://***@127.0.0.1:{silent_port}/cam" in args
    finally:
        proc.kill()
        out, err = proc.communicate(timeout=60)
    assert SECRET not in out + err
