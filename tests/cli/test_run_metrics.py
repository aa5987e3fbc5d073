"""`vidcv run --metrics`: the endpoint answers during a real run with figures that parse and grow toward the
stats JSON's, says where it is, and a taken port is one line before the source opens."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from media import run_cli, vidcv_cmd
from vidcv.bundled import sample_video


def samples(text: str) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}


def test_a_scrape_during_a_run_parses_and_stays_within_the_final_counts(tmp_path):
    stats = tmp_path / "stats.json"
    proc = subprocess.Popen(
        [*vidcv_cmd(), "run", sample_video(), "-p", "track_shapes", "--realtime", "--max-frames", "120",
         "--metrics", "127.0.0.1:0", "--stats-json", str(stats), "--events-dir", str(tmp_path / "ev"), "--no-clips"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            if m := re.search(r"metrics at (http://\S+)", line):
                url = m.group(1)
                break
        assert url, "no metrics address said"
        during: dict[str, float] = {}
        while proc.poll() is None and not during.get("vidcv_frames_processed_total"):  # until frames went through
            during = samples(urllib.request.urlopen(url, timeout=10).read().decode())
            time.sleep(0.05)
        proc.stderr.read()
        assert proc.wait(120) == 0
    finally:
        proc.kill()
    final = json.loads(stats.read_text())
    assert during["vidcv_running"] == 1
    assert 0 < during["vidcv_frames_processed_total"] <= final["frames"] == 120
    assert final["events"]["line_cross"] == len((tmp_path / "ev" / "events.jsonl").read_text().splitlines())


def test_a_taken_port_is_one_line_before_the_source_opens(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_cli("run", "no-such-video.mp4", "--metrics", f":{port}")
    assert r.returncode == 1
    assert f"port {port} is in use" in r.stderr and "no-such-video" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
