import json
import os
import shutil
import signal
import subprocess
import sys

import av
import numpy as np
import pytest

from media import decode_index, encode_index, read_all, record_then_kill, vidcv_cmd, wait_for_fragments
from vidcv.detections import Detections
from vidcv.errors import OutputError
from vidcv.frame import Frame
from vidcv.media.encode import CONTAINERS
from vidcv.sinks import (
    VIDEO_CODECS,
    DetectionsLogSink,
    ImageSequenceSink,
    VideoSink,
    check_output,
    check_writable,
    make_output_sink,
)


def frames(n=12, gray=False):
    for i in range(n):
        img = encode_index(i, 160, 120)
        yield Frame(img[:, :, 0].copy() if gray else img, i, i * 40.0)


@pytest.mark.parametrize("ext", sorted(VIDEO_CODECS))
def test_every_video_extension_writes_and_reads_back(tmp_path, ext):
    path = str(tmp_path / f"out{ext}")
    sink = make_output_sink(path, 25)
    assert isinstance(sink, VideoSink)
    for f in frames():
        sink.write(f)
    assert not os.path.exists(path)  # only the temporary name exists until the end
    sink.close()
    back = read_all(path)
    assert [decode_index(img) for img in back] == list(range(12))
    assert back[0].shape == (120, 160, 3)
    assert os.listdir(tmp_path) == [f"out{ext}"]


def test_gray_frames_are_written_as_colour_video(tmp_path):
    path = str(tmp_path / "gray.avi")
    sink = VideoSink(path, 25)
    for f in frames(gray=True):
        sink.write(f)
    sink.close()
    assert len(read_all(path)) == 12


def test_frames_of_another_size_are_resized_to_fit(tmp_path, caplog):
    path = str(tmp_path / "mixed.avi")
    sink = VideoSink(path, 25)
    sink.write(Frame(np.zeros((120, 160, 3), np.uint8), 0, 0))
    sink.write(Frame(np.zeros((60, 80, 3), np.uint8), 1, 40))
    sink.close()
    assert [img.shape for img in read_all(path)] == [(120, 160, 3)] * 2
    assert "frame size changed" in caplog.text


def av_frames(path: str) -> list[np.ndarray]:
    """Every frame of ``path`` decoded by FFmpeg (PyAV), as BGR, up to damaged data as a player would."""
    out = []
    with av.open(path) as inp:
        try:
            for frame in inp.decode(video=0):
                out.append(frame.to_ndarray(format="bgr24"))
        except av.InvalidDataError:  # a fragment cut short by a kill
            pass
    return out


def top_boxes(path: str) -> list[str]:
    from vidcv.media.mp4 import top_level_boxes

    return [b.kind for b in top_level_boxes(path)[0]]


needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe (apt-get install ffmpeg)")


@needs_ffprobe
@pytest.mark.parametrize("ext", [".mp4", ".mov", ".mkv", ".m4v"])
def test_h264_is_the_default_and_an_mp4_ends_plain_with_its_index_first(tmp_path, ext):
    path = str(tmp_path / f"out{ext}")
    sink = VideoSink(path, 25)
    for f in frames(30):
        sink.write(f)
    sink.close()
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,pix_fmt,color_space,width,height",
            "-of",
            "json",
            path,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream == {
        "codec_name": "h264",
        "pix_fmt": "yuv420p",
        "color_space": "smpte170m",
        "width": 160,
        "height": 120,
    }
    assert sink.encoder_name in ("libx264", "h264_nvenc")
    if ext != ".mkv":  # written fragmented, rewritten at the end as a plain MP4: index (moov) before the media
        kinds = top_boxes(path)
        assert "moof" not in kinds and kinds.index("moov") < kinds.index("mdat")
    assert [decode_index(img) for img in av_frames(path)] == list(range(30))
    assert os.listdir(tmp_path) == [f"out{ext}"]


CODEC_CASES = [(codec, ext) for ext, (_, _, codecs) in CONTAINERS.items() for codec in codecs if ext != ".m4v"]


@pytest.mark.parametrize("codec, ext", CODEC_CASES)
def test_every_codec_in_every_container_that_takes_it(tmp_path, codec, ext):
    path = str(tmp_path / f"out{ext}")
    sink = make_output_sink(path, 25, codec=codec, quality="high")
    for f in frames(8):
        sink.write(f)
    sink.close()
    with av.open(path) as inp:
        name = inp.streams.video[0].codec_context.name
    assert (
        name
        in {"h264": ("h264",), "hevc": ("hevc",), "av1": ("libdav1d", "av1"), "mpeg4": ("mpeg4",), "mjpeg": ("mjpeg",)}[
            codec
        ]
    )
    assert [decode_index(img) for img in av_frames(path)] == list(range(8))


@pytest.mark.parametrize(
    "codec, ext, words",
    [
        (
            "av1",
            ".mov",
            ("a .mov file cannot hold av1; use h264, hevc, mpeg4, mjpeg in .mov, or write av1 to .mp4 or .m4v or .mkv"),
        ),
        ("hevc", ".avi", "a .avi file cannot hold hevc"),
        ("vp9", ".mkv", "unknown codec 'vp9'; use one of h264, hevc, av1, mpeg4, mjpeg"),
    ],
)
def test_a_codec_the_container_cannot_hold_is_refused_before_any_frame(tmp_path, codec, ext, words):
    with pytest.raises(OutputError, match="cannot write video .*out") as info:
        make_output_sink(str(tmp_path / f"out{ext}"), 25, codec=codec)
    assert words in str(info.value) and "images" not in str(info.value)  # only what fits this file
    assert os.listdir(tmp_path) == []


def test_codec_for_an_image_sequence_is_refused(tmp_path):
    with pytest.raises(OutputError, match="--codec h264 is for video outputs"):
        make_output_sink(str(tmp_path / "f_%05d.png"), 25, codec="h264")


def test_higher_quality_means_a_bigger_closer_file(tmp_path):
    sizes, errors = [], []
    originals = [f.image for f in frames(10)]
    for quality in ("low", "medium", "high"):
        path = str(tmp_path / f"{quality}.mp4")
        sink = VideoSink(path, 25, quality=quality, hardware="cpu")
        for f in frames(10):
            sink.write(f)
        sink.close()
        sizes.append(os.path.getsize(path))
        errors.append(np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(av_frames(path), originals)]))
    assert sizes[0] < sizes[1] < sizes[2]
    assert errors[0] > errors[1] > errors[2]


def test_odd_sizes_lose_their_last_row_and_column(tmp_path):
    path = str(tmp_path / "odd.mp4")
    sink = VideoSink(path, 25)
    for i in range(3):
        sink.write(Frame(encode_index(i, 161, 121), i, i * 40.0))
    sink.close()
    assert [img.shape for img in av_frames(path)] == [(120, 160, 3)] * 3


def test_a_live_recording_keeps_its_timing_across_dropped_frames(tmp_path):
    path = str(tmp_path / "live.mp4")
    sink = VideoSink(path, 25)
    for i in (0, 1, 2, 6, 7):  # frames 3 to 5 were dropped by the live hand-off
        sink.write(Frame(encode_index(i, 160, 120), i, i * 40.0))
    sink.close()
    with av.open(path) as inp:
        times = [round(f.time * 1000) for f in inp.decode(video=0)]
    assert times == [0, 40, 80, 240, 280]


def test_no_frame_means_no_file(tmp_path):
    sink = VideoSink(str(tmp_path / "none.mp4"), 25)
    sink.close()
    assert os.listdir(tmp_path) == []


def test_image_sequence_from_pattern_and_folder(tmp_path):
    for target, names in (
        (str(tmp_path / "seq" / "f_%03d.png"), ["f_000.png", "f_001.png", "f_002.png"]),
        (str(tmp_path / "folder") + "/", ["frame_000000.png", "frame_000001.png", "frame_000002.png"]),
    ):
        sink = make_output_sink(target, 25)
        assert isinstance(sink, ImageSequenceSink)
        for f in frames(3):
            sink.write(f)
        sink.close()
        folder = os.path.dirname(target)
        assert sorted(os.listdir(folder)) == names


@pytest.mark.parametrize(
    "target, words",
    [
        ("out.xyz", "unknown extension '.xyz'"),
        ("out.png", "single image name; for an image sequence give a pattern such as out_%05d.png"),
        ("seq/f_%s_%d.png", "bad image pattern"),
        ("seq/f_%05d.gif", "unknown image extension"),
    ],
)
def test_bad_output_names_are_clear_errors(tmp_path, target, words):
    with pytest.raises(OutputError) as info:
        make_output_sink(str(tmp_path / target), 25)
    assert words in str(info.value).replace(str(tmp_path) + "/", "")


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        VideoSink(str(blocker / "sub" / "o.mp4"), 25)


needs_sysfs = pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux sysfs")


@needs_sysfs
@pytest.mark.parametrize(
    "make, shown",
    [
        (lambda: VideoSink("/sys/o.mp4", 25), "/sys/o.mp4"),
        (lambda: ImageSequenceSink("/sys/f_%05d.png"), "/sys/f_%05d.png"),
        (lambda: DetectionsLogSink("/sys/d.jsonl"), "/sys/d.jsonl"),
        (lambda: check_output("/sys/o.mp4"), "/sys/o.mp4"),
        (lambda: check_output("/sys/f_%05d.png"), "/sys/f_%05d.png"),
        (lambda: check_writable("/sys/stats.json"), "/sys/stats.json"),
    ],
)
def test_a_folder_where_no_file_can_be_made_is_refused_before_any_frame(make, shown):
    # sysfs: the folder exists and looks writable to root, yet no file can be created in it
    with pytest.raises(OutputError) as info:
        make()
    message = str(info.value)  # sysfs refuses a new file (EACCES): the one wording of a read-only place
    assert message == f"cannot write to {shown}: it is read-only (permission denied): choose another output path"


def test_an_output_file_made_read_only_is_refused_not_replaced(tmp_path, monkeypatch):
    """vidcv replaces an output by a rename, which a read-only file's permissions do not forbid: such a file
    is refused before the run, in the wording of a read-only folder, and stays as it was."""
    kept = tmp_path / "kept.json"
    kept.write_text("mine")
    kept.chmod(0o444)
    real_access = os.access  # root may write anything: the refusal a user gets, simulated
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(kept) else real_access(p, mode))
    for check in (lambda: check_writable(str(kept)), lambda: DetectionsLogSink(str(kept))):
        with pytest.raises(OutputError) as info:
            check()
        assert (
            str(info.value)
            == f"cannot write to {kept}: it is read-only (permission denied): choose another output path"
        )
    assert kept.read_text() == "mine" and os.listdir(tmp_path) == ["kept.json"]


def test_checking_an_output_makes_its_folder_and_leaves_no_file(tmp_path):
    for target in ("a/o.mp4", "b/f_%05d.png", "c/", "d/stats.json"):
        path = str(tmp_path / target)
        check_output(path) if not target.startswith("d") else check_writable(path)
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "c", "d"]
    assert [os.listdir(tmp_path / d) for d in "abcd"] == [[], [], [], []]


def test_a_folder_is_no_file_name(tmp_path):
    with pytest.raises(OutputError, match="it is a folder"):
        check_writable(str(tmp_path))


def test_detection_log_has_one_line_per_frame(tmp_path):
    path = str(tmp_path / "det.jsonl")
    sink = DetectionsLogSink(path)
    f0 = Frame(np.zeros((4, 4, 3), np.uint8), 0, 0.0)
    f1 = Frame(np.zeros((4, 4, 3), np.uint8), 1, 33.333)
    f1.detections = Detections([[1, 2, 3, 4]], [0.5], [1], {1: "dog"}, tracker_id=[9])
    sink.write(f0)
    sink.write(f1)
    assert not os.path.exists(path)
    sink.close()
    lines = [json.loads(line) for line in open(path)]
    assert lines[0] == {"frame": 0, "pts_ms": 0.0, "detections": []}
    assert lines[1] == {
        "frame": 1,
        "pts_ms": 33.333,
        "detections": [
            {"xyxy": [1.0, 2.0, 3.0, 4.0], "confidence": 0.5, "class_id": 1, "class_name": "dog", "track_id": 9}
        ],
    }


# --- recordings cut short: SIGKILL, a full disk --------------------------------------------------------------

LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from vidcv.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_recording_killed_with_sigkill_plays_up_to_its_last_fragment(tmp_path, make_video):
    clip = make_video("long.mp4", frames=300)  # 10 s, read in real time
    out = tmp_path / "rec.mp4"
    partial = tmp_path / "rec.partial.mp4"  # the documented name of a recording in progress
    record_then_kill([clip, "--realtime", "-q", "-o", str(out)], str(partial))
    assert not out.exists()  # never a half-written file under the final name
    got = [decode_index(img) for img in av_frames(str(partial))]
    assert len(got) >= 30 and got == list(range(len(got)))  # whole fragments (about 1 s each), in order
    assert len(got) < 300
    # the next run writing the same output keeps it beside, whole fragments only, instead of deleting it
    again = subprocess.run(
        [*vidcv_cmd(), "run", clip, "-q", "--max-frames", "5", "-o", str(out)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    recovered = tmp_path / "rec.recovered.mp4"
    assert f"kept {recovered}: the recording of an earlier run that was killed" in again.stderr
    kept = [decode_index(img) for img in av_frames(str(recovered))]
    assert kept == got[: len(kept)] and len(kept) >= 30
    assert len(av_frames(str(out))) == 5 and not partial.exists()


def test_a_full_disk_stops_the_run_keeps_what_plays_and_says_how_much_was_written(tmp_path, make_video):
    clip = make_video("noisy.mp4", frames=200, size=(320, 240))  # noise: about 30 kB a frame at high quality
    out = tmp_path / "out.mp4"
    limit = 600_000
    run = subprocess.run(
        [sys.executable, "-c", LIMITED, str(limit), "run", clip, "-q", "-o", str(out), "--quality", "high"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("vidcv: error:")]
    assert len(errors) == 1, run.stderr
    message = errors[0]
    assert message.startswith(f"vidcv: error: writing {out} failed: File too large, after ")
    kept = av_frames(str(out))
    assert 0 < len(kept) < 200
    assert f"(0.6 MB); kept the first {len(kept)} frames (" in message and message.endswith(
        "(free some space or write elsewhere)"
    )
    assert [decode_index(img) for img in kept] == list(range(len(kept)))
    assert os.path.getsize(out) <= limit and sorted(os.listdir(tmp_path)) == ["noisy.mp4", "out.mp4"]


def test_a_plain_copy_that_cannot_be_written_keeps_the_fragmented_recording(tmp_path, caplog):
    from vidcv.sinks.video import faststart_name

    out = str(tmp_path / "rec.mp4")
    sink = VideoSink(out, 25)
    for f in frames(40):
        sink.write(f)
    os.mkdir(faststart_name(out))  # where the plain copy goes, something that cannot be written over
    sink.close()
    assert "could not rewrite" in caplog.text and "kept it as written, fragmented" in caplog.text
    assert "moof" in top_boxes(out)
    assert [decode_index(img) for img in av_frames(out)] == list(range(40))
    os.rmdir(faststart_name(out))
    assert sorted(os.listdir(tmp_path)) == ["rec.mp4"]


def test_a_write_whose_end_is_lost_is_not_taken_for_a_whole_file(tmp_path):
    # x264 holds the last frames until the end: with the file limit reached by then, FFmpeg writes nothing
    # more and reports nothing; the sink must find out by itself and say so.
    out = tmp_path / "rec.mp4"
    script = f"""
import resource, signal, sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
from media import encode_index
from vidcv.errors import OutputError
from vidcv.frame import Frame
from vidcv.sinks import VideoSink
sink = VideoSink({str(out)!r}, 25)
for i in range(20):
    sink.write(Frame(encode_index(i, 160, 120), i, i * 40.0))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
try:
    sink.close()
except OutputError as exc:
    print(exc)
"""
    run = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(
        f"writing {out} failed: its last part could not be written (disk full?), after 20 frames ("
    )
    assert run.stdout.rstrip().endswith("nothing playable was kept (free some space or write elsewhere)")
    assert os.listdir(tmp_path) == []


def test_ctrl_c_during_a_recording_ends_in_a_plain_seekable_mp4(tmp_path):
    from vidcv.media.mp4 import sample_count

    out = tmp_path / "live.mp4"
    partial = tmp_path / "live.partial.mp4"
    proc = subprocess.Popen(
        [*vidcv_cmd(), "run", "pattern:320x240@30", "-q", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_fragments(proc, str(partial), 1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    kinds = top_boxes(str(out))
    assert "moof" not in kinds and kinds.index("moov") < kinds.index("mdat")  # plain, index first
    frames = av_frames(str(out))
    assert len(frames) == sample_count(str(out)) >= 30 and frames[0].shape == (240, 320, 3)
    with av.open(str(out)) as inp:  # seekable: straight to the middle
        stream = inp.streams.video[0]
        inp.seek(int(len(frames) / 2 / 30 / stream.time_base), stream=stream)
        assert next(inp.decode(stream)) is not None
    assert sorted(os.listdir(tmp_path)) == ["live.mp4"]


@pytest.mark.parametrize("size_wh", [(1, 1), (1, 6), (5, 1)])
def test_a_video_with_a_side_of_one_pixel_is_written(tmp_path, size_wh):
    """4:2:0 needs even sides: a 1-pixel side is doubled (it was a raw OpenCV assertion, shown as 'error: error:')."""
    from vidcv.media.encode import probe
    from vidcv.sinks.video import VideoSink

    w, h = size_wh
    path = str(tmp_path / "tiny.mp4")
    sink = VideoSink(path, 10)
    for i in range(5):
        sink.write(Frame(np.full((h, w, 3), 40 * i, np.uint8), index=i, pts_ms=100.0 * i))
    sink.close()
    assert probe(path).frames == 5
