"""`vidcv run` under real signals sent to a real process: Ctrl-C twice (as `timeout -s INT` sends it, to the
process and its group), SIGTERM, a signal after the grace period while a stage hangs, and SIGKILL."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
from terminal import frames_shown, read_until, spawn_on_terminal

from media import decode_index, read_all, run_cli, vidcv_cmd
from vidcv.fileio import visible_partial_name


def default_signals() -> None:
    """In the child before exec: SIGINT and SIGTERM at their defaults, as in a terminal, even when the tests
    themselves run with them ignored (a background job of a script); vidcv keeps a signal it found ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def wait_for_lines(path, n: int, proc: subprocess.Popen, timeout: float = 60.0) -> list[str]:
    """The lines of ``path`` once it has at least ``n`` (the detection log is written line by line)."""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(path):
            lines = open(path, encoding="utf-8").read().splitlines()
            if len(lines) >= n:
                return lines
        time.sleep(0.05)
    proc.kill()
    out, err = proc.communicate()
    pytest.fail(f"{path} did not reach {n} lines ({len(lines)}); the run said: {err}")


def assert_finalised(tmp_path, stderr: str) -> int:
    """Every output under its final name, complete and in agreement; returns the number of frames."""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl", "o.mp4", "s.json"], stderr
    frames = json.loads((tmp_path / "s.json").read_text())["frames"]
    lines = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    video = read_all(str(tmp_path / "o.mp4"))
    assert frames >= 10 and len(video) == len(lines) == frames
    indices = [line["frame"] for line in lines]
    assert indices == sorted(set(indices))  # in order, once each (a live source may drop frames while busy)
    return frames


def run_args(tmp_path, source: str = "pattern:320x240@30", preset: str = "edges") -> list[str]:
    return [
        "run",
        source,
        "-p",
        preset,
        "-o",
        str(tmp_path / "o.mp4"),
        "--detections-jsonl",
        str(tmp_path / "d.jsonl"),
        "--stats-json",
        str(tmp_path / "s.json"),
        "-q",
    ]


def assert_no_abort(stderr: str) -> None:
    for sign in ("terminate called", "Traceback", "Fatal Python error", "Aborted"):
        assert sign not in stderr, stderr


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout")
def test_ctrl_c_twice_as_timeout_sends_it_stops_cleanly_and_finalises_every_output(tmp_path):
    # timeout -s INT: at expiry it sends SIGINT to vidcv, then to its whole process group (vidcv again).
    # SIGALRM is how timeout's own timer tells it to expire: the same code path, at a moment the test picks.
    proc = subprocess.Popen(
        ["timeout", "--preserve-status", "-s", "INT", "600", *vidcv_cmd(), *run_args(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    wait_for_lines(visible_partial_name(str(tmp_path / "d.jsonl")), 10, proc)
    proc.send_signal(signal.SIGALRM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert_no_abort(err)
    frames = assert_finalised(tmp_path, err)
    assert err.strip().splitlines()[-1] == f"vidcv: interrupted after {frames} frames; outputs were finalised"


def test_sigterm_stops_like_ctrl_c_with_exit_status_143(tmp_path):
    proc = subprocess.Popen(
        [*vidcv_cmd(), *run_args(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    wait_for_lines(visible_partial_name(str(tmp_path / "d.jsonl")), 10, proc)
    proc.terminate()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert_no_abort(err)
    frames = assert_finalised(tmp_path, err)
    assert err.strip().splitlines()[-1] == (
        f"vidcv: terminated (SIGTERM) after {frames} frames; outputs were finalised"
    )


STAGES = '''
import threading
import time

from vidcv.plugin import Plugin


class Hang(Plugin):
    """Passes frames through, and never returns from frame 20 (a model call that hangs)."""

    name = "hang"

    def process(self, frame):
        if frame.index >= 20:
            threading.Event().wait()
        return frame


class Slow(Plugin):
    """Passes frames through, taking half a second for each from frame 20 (a heavy model)."""

    name = "slow"

    def process(self, frame):
        if frame.index >= 20:
            time.sleep(0.5)
        return frame
'''


@pytest.fixture
def stages(tmp_path):
    """A folder for PYTHONPATH that installs the stages 'hang' and 'slow' (an entry point, as a plugin package
    does), and presets for each: {"env": ..., "hang": preset path, "slow": preset path}."""
    site = tmp_path / "site"
    (site / "test_stages-0.dist-info").mkdir(parents=True)
    (site / "test_stages.py").write_text(STAGES)
    (site / "test_stages-0.dist-info" / "entry_points.txt").write_text(
        "[vidcv.plugins]\nhang = test_stages:Hang\nslow = test_stages:Slow\n"
    )
    presets = {}
    for name in ("hang", "slow"):
        presets[name] = str(site / f"{name}.yaml")
        (site / f"{name}.yaml").write_text(f"pipeline:\n  - plugin: {name}\n")
    path = os.pathsep.join(filter(None, (str(site), os.environ.get("PYTHONPATH"))))
    return {"env": {**os.environ, "PYTHONPATH": path}, **presets}


def test_a_second_ctrl_c_during_the_stop_is_absorbed(tmp_path, video_file, stages):
    out = tmp_path / "out"
    out.mkdir()
    # a session of its own, so that the group signal reaches vidcv only (as timeout's group is timeout + vidcv)
    proc = subprocess.Popen(
        [*vidcv_cmd(), *run_args(out, video_file, stages["slow"])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=stages["env"],
        start_new_session=True,
        preexec_fn=default_signals,
    )
    wait_for_lines(visible_partial_name(str(out / "d.jsonl")), 20, proc)
    proc.send_signal(signal.SIGINT)  # the stop waits for the frame in hand: half a second
    time.sleep(0.2)  # not an assertion: lands the second signal inside that stop
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert_no_abort(err)
    frames = assert_finalised(out, err)
    assert err.strip().splitlines()[-1] == f"vidcv: interrupted after {frames} frames; outputs were finalised"


def test_a_signal_after_the_grace_period_exits_at_once_keeping_the_frames_written(tmp_path, video_file, stages):
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [*vidcv_cmd(), *run_args(out, video_file, stages["hang"])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=stages["env"],
        preexec_fn=default_signals,
    )
    wait_for_lines(visible_partial_name(str(out / "d.jsonl")), 20, proc)
    proc.send_signal(signal.SIGINT)
    err = bytearray()
    told = read_until(proc.stderr.fileno(), err, lambda buf: b"Ctrl-C again" in buf, time.monotonic() + 60)
    assert told and b"still stopping: a stage is still busy with its frame" in err, err.decode()
    proc.send_signal(signal.SIGINT)  # after the grace period: exit now
    _, rest = proc.communicate(timeout=60)
    stderr = (err + rest).decode()
    assert proc.returncode == 130, stderr
    assert_no_abort(stderr)
    assert (
        "vidcv: interrupted again: exiting at once (a stage is still busy with its frame); outputs were "
        "finalised with the 20 frames written, no statistics"
    ) in stderr
    assert sorted(p.name for p in out.iterdir()) == ["d.jsonl", "o.mp4"]
    lines = [json.loads(x) for x in (out / "d.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(20))
    assert [decode_index(f) for f in read_all(str(out / "o.mp4"))] == list(range(20))


def test_sigkill_keeps_every_frame_logged_so_far_under_the_logs_temporary_name(tmp_path):
    log = tmp_path / "d.jsonl"
    # stderr on a terminal, so that the progress bar says how many frames were written before the kill
    proc, master = spawn_on_terminal(
        [*vidcv_cmd(), "run", "pattern:320x240@30", "--detections-jsonl", str(log)],
        stdout=subprocess.DEVNULL,
        preexec_fn=default_signals,
    )
    err = bytearray()
    try:
        drawn = read_until(master, err, lambda buf: frames_shown(buf) >= 10, time.monotonic() + 60)
        assert drawn and frames_shown(err) >= 10, f"the bar did not reach 10 frames: {err.decode()!r}"
        proc.kill()
        proc.wait(30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    kept = tmp_path / visible_partial_name(log.name)  # d.partial.jsonl, as the README says
    assert sorted(p.name for p in tmp_path.iterdir()) == [kept.name]
    text = kept.read_text()
    assert text.endswith("\n")  # whole lines only
    lines = [json.loads(x) for x in text.splitlines()]
    assert len(lines) >= frames_shown(err)  # every frame counted as written before the kill is in the log
    indices = [line["frame"] for line in lines]
    assert indices == sorted(set(indices))  # in order, once each (a live source may drop frames while busy)
    # the next run writing the same log keeps it beside, as NAME.recovered.EXT, instead of deleting it
    again = run_cli("run", "pattern:320x240@30", "--max-frames", "3", "--detections-jsonl", str(log), "-q")
    assert again.returncode == 0, again.stderr
    recovered = tmp_path / "d.recovered.jsonl"
    assert again.stderr == (
        f"vidcv: WARNING: kept {recovered}: the detection log of an earlier run that did not "
        f"finish ({len(lines)} frames)\n"
    )
    assert recovered.read_text() == text and len(log.read_text().splitlines()) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl", "d.recovered.jsonl"]


def test_a_signal_ignored_by_whoever_started_vidcv_stays_ignored():
    from vidcv.signals import StopSignals

    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as nohup, or `vidcv run ... &` in a script, leave it
    try:
        with StopSignals():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert callable(signal.getsignal(signal.SIGTERM))  # handled: a clean stop
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, saved)
