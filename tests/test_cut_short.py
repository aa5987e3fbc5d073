"""What a run killed outright leaves, where the user looks: a recording grows as NAME.partial.mp4 and a detection
log as NAME.partial.jsonl beside the final names (not hidden), playable and in whole lines after a SIGKILL,
never taken for complete; `vidcv run` names what it finds in its output's folder (vidcv/sinks/leftovers.py).
The window's side is tests/ui/test_window_cut_short.py."""

import json
import os
import shutil
import signal
import struct
import subprocess

import av
import numpy as np
import pytest

from media import decode_index, encode_index, run_cli, vidcv_cmd, wait_for_fragments, write_video
from vidcv.fileio import in_use, is_partial, is_visible_partial, partial_name, visible_partial_name
from vidcv.frame import Frame
from vidcv.media.mp4 import _children, cut_to_playable, playable_prefix, top_level_boxes
from vidcv.sinks import DetectionsLogSink, VideoSink
from vidcv.sinks.leftovers import find_leftovers, leftovers_line


def test_visible_partial_names_are_beside_not_hidden_and_apart_from_the_hidden_ones():
    assert visible_partial_name("out/clip.mp4") == os.path.join("out", "clip.partial.mp4")
    assert visible_partial_name("/a/d.jsonl") == "/a/d.partial.jsonl"
    assert visible_partial_name("clip.mp4") == "clip.partial.mp4"
    assert is_visible_partial("clip.partial.mp4") and is_visible_partial("d.partial.jsonl")
    assert not is_visible_partial("clip.mp4") and not is_visible_partial(".clip.partial.mp4")
    assert not is_visible_partial(".partial.mp4") and not is_visible_partial("clip.partial.faststart.mp4")
    # the hidden names of vidcv's internal atomic writes keep their meaning
    assert partial_name("out/clip.mp4") == os.path.join("out", ".clip.partial.mp4")
    assert not is_partial("clip.partial.mp4") and is_partial(".clip.partial.mp4")


def frames(n, size=(160, 120)):
    return [Frame(encode_index(i, *size), i, i * 40.0) for i in range(n)]


def test_a_recording_and_a_log_in_progress_are_in_use_and_grow_under_their_visible_names(tmp_path):
    video, log = VideoSink(str(tmp_path / "rec.mp4"), 25), DetectionsLogSink(str(tmp_path / "d.jsonl"))
    for f in frames(30):
        video.write(f)
        log.write(f)
    growing = sorted(os.listdir(tmp_path))
    assert growing == ["d.partial.jsonl", "rec.partial.mp4"]
    assert all(in_use(str(tmp_path / name)) for name in growing)
    assert find_leftovers(str(tmp_path)) == []  # being written: not cut short
    video.close()
    log.close()
    assert sorted(os.listdir(tmp_path)) == ["d.jsonl", "rec.mp4"]  # the final names only at a clean end
    assert not in_use(str(tmp_path / "rec.mp4"))


def whole_fragment_samples(path: str) -> int:
    """Frames in the whole fragments of a fragmented MP4 (each moof's trun sample counts)."""
    end, _ = playable_prefix(path)
    count = 0
    with open(path, "rb") as fh:
        data = fh.read(end)
    for box in top_level_boxes(path)[0]:
        if box.kind != "moof" or box.offset + box.size > end:
            continue
        for kind, start, stop in _children(data, box.offset + 8, box.offset + box.size):
            if kind == "traf":
                for inner, s, _ in _children(data, start, stop):
                    if inner == "trun":
                        count += struct.unpack_from(">I", data, s + 4)[0]
    return count


def decoded(path: str) -> list[np.ndarray]:
    out = []
    with av.open(path) as inp:
        try:
            for frame in inp.decode(video=0):
                out.append(frame.to_ndarray(format="bgr24"))
        except av.InvalidDataError:  # the fragment the kill cut
            pass
    return out


def recording_run(clip, rec, log) -> subprocess.Popen:
    """`vidcv run` of ``clip`` in real time, recording to ``rec`` and logging to ``log`` (stderr kept)."""
    return subprocess.Popen(
        [*vidcv_cmd(), "run", clip, "--realtime", "-q", "-o", str(rec), "--detections-jsonl", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_sigkill_leaves_a_visible_playable_recording_and_log_and_the_next_run_names_them(tmp_path):
    clip = write_video(str(tmp_path / "clip.mp4"), 300)  # 10 s, read in real time
    out = tmp_path / "out"
    out.mkdir()
    rec, log = out / "rec.mp4", out / "d.jsonl"
    growing = tmp_path / "out" / "rec.partial.mp4"
    proc = recording_run(clip, rec, log)
    try:
        wait_for_fragments(proc, str(growing), 2)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.stderr.close()
    # visible, beside where the outputs would be, never under their final names
    assert sorted(os.listdir(out)) == ["d.partial.jsonl", "rec.partial.mp4"]
    video, lines_file = out / "rec.partial.mp4", out / "d.partial.jsonl"
    assert not in_use(str(video)) and not in_use(str(lines_file))
    # the recording plays, every whole fragment of it, in order
    got = [decode_index(img) for img in decoded(str(video))]
    assert got == list(range(len(got))) and len(got) >= 30
    whole = whole_fragment_samples(str(video))
    assert len(got) >= whole >= 30
    copy = tmp_path / "copy.mp4"
    shutil.copy(video, copy)
    cut_to_playable(str(copy))
    assert len(decoded(str(copy))) == whole  # what plays is the whole fragments
    # the log holds every frame logged, in whole lines (a last line cut by the kill aside)
    raw = lines_file.read_bytes()
    whole_lines = raw[: raw.rfind(b"\n") + 1].decode().splitlines()
    logged = [json.loads(line)["frame"] for line in whole_lines]
    assert logged == list(range(len(logged))) and len(logged) >= len(got) - 2  # the encoder lags the log
    # a run writing into that folder names both in one line and leaves them as they are
    before = video.read_bytes()
    res = run_cli("run", "pattern:160x120", "--max-frames", "2", "-o", str(out / "other.mp4"), "-q")
    assert res.returncode == 0, res.stderr
    seconds = find_leftovers(str(out))[1].seconds
    assert 1.0 <= seconds <= 10.0
    assert res.stderr == (
        f"vidcv: WARNING: 2 outputs cut short are in {out}: d.partial.jsonl ({len(whole_lines)} whole lines), "
        f"rec.partial.mp4 ({seconds:.0f} s, playable)\n"
    )
    assert video.read_bytes() == before and lines_file.read_bytes() == raw
    # the next run of the same outputs keeps them as NAME.recovered.EXT, as before they were visible
    res = run_cli("run", clip, "--max-frames", "3", "-o", str(rec), "--detections-jsonl", str(log), "-q")
    assert res.returncode == 0, res.stderr
    assert f"kept {out / 'rec.recovered.mp4'}" in res.stderr and f"kept {out / 'd.recovered.jsonl'}" in res.stderr
    assert "cut short" not in res.stderr
    assert sorted(os.listdir(out)) == ["d.jsonl", "d.recovered.jsonl", "other.mp4", "rec.mp4", "rec.recovered.mp4"]
    assert len(decoded(str(out / "rec.recovered.mp4"))) == whole


def test_leftovers_are_said_in_one_line(tmp_path):
    assert leftovers_line([]) == "" and find_leftovers(str(tmp_path / "none")) == []
    (tmp_path / "a.partial.jsonl").write_text('{"frame":0}\n{"fra')
    (tmp_path / ".b.partial.jsonl").write_text('{"frame":0}\n{"frame":1}\n')  # left by an earlier vidcv
    (tmp_path / "c.partial.mp4").write_bytes(b"\0" * 44)
    (tmp_path / "notes.partial.txt").write_text("not ours")
    (tmp_path / "d.jsonl").write_text("{}\n")
    found = find_leftovers(str(tmp_path))
    assert [(os.path.basename(f.path), f.kind, f.lines, f.playable) for f in found] == [
        (".b.partial.jsonl", "log", 2, False),
        ("a.partial.jsonl", "log", 1, False),
        ("c.partial.mp4", "recording", 0, False),
    ]
    assert (
        leftovers_line(found[1:2]) == f"a detection log cut short is in {tmp_path / 'a.partial.jsonl'} (1 whole line)"
    )
    assert leftovers_line(found) == (
        f"3 outputs cut short are in {tmp_path}: .b.partial.jsonl (2 whole lines), a.partial.jsonl (1 whole line), "
        "c.partial.mp4 (nothing playable)"
    )


@pytest.mark.parametrize("name", ["x.partial.mkv", "x.partial.mp4"])
def test_a_killed_recording_of_either_kind_is_kept_by_the_next_run(tmp_path, name):
    from vidcv.sinks.video import keep_killed_recording

    sink = VideoSink(str(tmp_path / "x.mp4"), 25)
    for f in frames(60):
        sink.write(f)
    sink._encoder.finish()  # the frames on disk, the file never renamed: as a kill after its last fragment
    sink._release()
    sink._closed = True
    os.replace(tmp_path / "x.partial.mp4", tmp_path / name)
    target = str(tmp_path / ("x" + os.path.splitext(name)[1]))
    if name.endswith(".mkv"):  # an MKV as it grows: remuxed here from the fragmented file
        with av.open(str(tmp_path / name)) as inp, av.open(str(tmp_path / "m.mkv"), "w") as mkv:
            stream = mkv.add_stream_from_template(inp.streams.video[0])
            for packet in inp.demux(inp.streams.video[0]):
                if packet.dts is not None:
                    packet.stream = stream
                    mkv.mux(packet)
        os.replace(tmp_path / "m.mkv", tmp_path / name)
    kept = keep_killed_recording(target)
    assert kept == str(tmp_path / ("x.recovered" + os.path.splitext(name)[1]))
    assert [decode_index(img) for img in decoded(kept)] == list(range(60))


def test_a_second_run_writing_the_same_outputs_is_refused_and_the_first_loses_nothing(tmp_path):
    clip = write_video(str(tmp_path / "clip.mp4"), 90)  # 3 s, read in real time
    out = tmp_path / "out"
    out.mkdir()
    rec, log = out / "rec.mp4", out / "d.jsonl"
    first = recording_run(clip, rec, log)
    try:
        wait_for_fragments(first, str(out / "rec.partial.mp4"), 1)
        assert first.poll() is None, first.stderr.read()
        for args in (["-o", str(rec)], ["--detections-jsonl", str(log)]):
            second = run_cli("run", clip, "-q", *args)
            target = args[1]
            assert second.returncode != 0
            assert second.stderr.strip().splitlines() == [
                f"vidcv: error: cannot write {target}: another vidcv is writing it now (as "
                f"{os.path.basename(visible_partial_name(target))}); wait until that run ends, or write elsewhere"
            ]
            assert in_use(visible_partial_name(target))  # the first run's file, left where it was
        assert first.wait(60) == 0, first.stderr.read()
    finally:
        first.kill()
        first.stderr.close()
    assert sorted(os.listdir(out)) == ["d.jsonl", "rec.mp4"]
    assert [decode_index(img) for img in decoded(str(rec))] == list(range(90))
    assert len((out / "d.jsonl").read_text().splitlines()) == 90
