"""A live stream that goes away and comes back, through the real command: its outage is counted in
--stats-json and in the table (the GUI's readout reads the same RunSummary.source_outages)."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from media import vidcv_cmd
from test_stream import Server, free_port
from vidcv.fileio import visible_partial_name

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (apt-get install ffmpeg)")


def lines_of(path: str) -> int:
    return len(open(path, encoding="utf-8").read().splitlines()) if os.path.exists(path) else 0


def wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"{what} did not happen; the run said: {err}")
        time.sleep(0.05)


def test_a_stream_outage_is_counted_in_the_stats_json_and_the_table(tmp_path):
    server = Server(free_port())
    server.start()
    log, stats = tmp_path / "d.jsonl", tmp_path / "s.json"
    proc = subprocess.Popen(
        [*vidcv_cmd(), "run", server.url, "--detections-jsonl", str(log), "--stats-json", str(stats)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = ""
    try:
        partial = visible_partial_name(str(log))
        wait_for(lambda: lines_of(partial) >= 10, proc, "10 frames before the outage")
        server.stop()  # the server goes away ...
        before = lines_of(partial)
        time.sleep(2.5)  # not an assertion: the server stays away a while
        server.start()  # ... and comes back
        wait_for(lambda: lines_of(partial) >= before + 10, proc, "10 frames after the outage")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        server.stop()
    assert proc.returncode == 130, err
    doc = json.loads(stats.read_text())
    # one outage (a loaded machine may see the stream stall once more as it comes back: each is counted)
    assert doc["reconnects"] == doc["outages"] >= 1, doc
    assert doc["outage_s_total"] >= doc["outage_s_longest"] > 0
    assert f"source away {doc['outages']} time" in out and f", {doc['reconnects']} reconnected" in out
