"""`vidcv run --events-dir`: a real run over a video with a known zone entry and exit writes events.jsonl, one
clip that plays and covers [t - pre, t + post] of both, the same counts as the stats; a SIGKILL during a
clip leaves it playable where the user looks."""

from __future__ import annotations

import json
import signal
import subprocess

import av
import pytest

from media import ZONE_FPS, ZONE_PRESET, decode_index, run_cli, square_video, vidcv_cmd, wait_for_fragments

FPS = ZONE_FPS


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("events")
    square_video(str(root / "square.mp4"), 150)
    (root / "zone.yaml").write_text(ZONE_PRESET)
    return root


def clip_indices(path: str) -> list[int]:
    with av.open(path) as c:
        return [decode_index(f.to_ndarray(format="bgr24")) for f in c.decode(video=0)]


def test_a_zone_entry_and_exit_give_lines_and_one_clip_that_covers_both(scene, tmp_path):
    out = tmp_path / "ev"
    r = run_cli(
        "run", str(scene / "square.mp4"), "-p", str(scene / "zone.yaml"), "--events-dir", str(out),
        "--pre", "1", "--post", "2", "--stats-json", str(tmp_path / "stats.json"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["zone_enter", "zone_exit"]
    enter, leave = lines
    # the anchor (bottom centre, x = 2 i + 15) passes 120 + 5 (hysteresis) and 200 + 5: truth, give or take the
    # track's confirmation
    assert 55 <= enter["frame"] <= 60 and 95 <= leave["frame"] <= 100
    assert leave["value"] == pytest.approx((leave["frame"] - enter["frame"]) / FPS, abs=2 / FPS)
    assert enter["clip"] == leave["clip"]  # 1.6 s apart with 2 s of post-roll: one clip
    got = clip_indices(str(out / enter["clip"]))
    assert got == list(range(got[0], got[0] + len(got)))  # every frame in order, plays
    assert enter["frame"] - 2 * FPS < got[0] <= enter["frame"] - FPS  # from t - pre, within one GOP
    assert enter["clip_from_t"] == pytest.approx(got[0] / FPS)
    assert got[-1] >= leave["frame"] + 2 * FPS  # to t + post of the later event
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["events"] == {"zone_enter": 1, "zone_exit": 1}
    assert "2 events, 1 clip in" in r.stdout


def test_a_sigkill_during_a_clip_leaves_it_playable_and_every_event_said(scene, tmp_path):
    out = tmp_path / "ev"
    proc = subprocess.Popen(
        [*vidcv_cmd(), "run", str(scene / "square.mp4"), "-p", str(scene / "zone.yaml"), "--realtime",
         "--events-dir", str(out), "--pre", "1", "--post", "30", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        log = out / "events.jsonl"
        said: list[dict] = []
        for _ in range(600):
            if log.exists() and log.read_text().count("\n") >= 1:
                said = [json.loads(x) for x in log.read_text().splitlines()]
                break
            if proc.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"])
        assert said, proc.stderr.read() if proc.poll() is not None else "no event line"
        partial = out / said[0]["clip"].replace(".mp4", ".partial.mp4")
        wait_for_fragments(proc, str(partial), 2)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    assert not (out / said[0]["clip"]).exists()  # never taken for complete
    got = clip_indices(str(partial))
    assert len(got) >= FPS and got == list(range(got[0], got[0] + len(got)))
    assert got[0] <= said[0]["frame"] - FPS
    assert all(json.loads(x)["kind"] for x in (out / "events.jsonl").read_text().splitlines())
