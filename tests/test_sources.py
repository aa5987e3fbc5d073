import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from media import decode_index, encode_index, run_cli, write_video
from vidcv.errors import SourceError, TruncatedVideoError
from vidcv.sources import (
    CameraSource,
    FileSource,
    ImageFolderSource,
    PatternSource,
    StreamSource,
    list_cameras,
    open_source,
    parse_source,
)
from vidcv.sources import camera as camera_mod


def test_source_strings_choose_the_right_source(tmp_path, video_file):
    (tmp_path / "imgs").mkdir()
    cv2.imwrite(str(tmp_path / "imgs" / "a.png"), np.zeros((4, 4, 3), np.uint8))
    cases = {
        video_file: FileSource,
        "0": CameraSource,
        "camera:2": CameraSource,
        "/dev/video0": CameraSource,
        "rtsp://cam.local/stream": StreamSource,
        "http://127.0.0.1:8000/x.ts": StreamSource,
        "udp://127.0.0.1:1234": StreamSource,
        str(tmp_path / "imgs"): ImageFolderSource,
        str(tmp_path / "imgs" / "*.png"): ImageFolderSource,
        str(tmp_path / "imgs" / "a.png"): ImageFolderSource,
        "pattern:": PatternSource,
        f"file://{video_file}": FileSource,
    }
    for spec, cls in cases.items():
        assert type(parse_source(spec)) is cls, spec
    assert parse_source("camera:2").device == 2
    pattern = parse_source("pattern:1280x720@25")
    assert pattern.size_wh == (1280, 720) and pattern.fps == 25 and pattern.live


@pytest.mark.parametrize(
    "spec, words",
    [
        ("", "empty SOURCE"),
        ("missing.mp4", "no such file or folder: missing.mp4"),
        ("pattern:big", "bad test pattern"),
        ("pattern:10x10", "size must be"),
        ("gopher://x/y", "unsupported URL scheme 'gopher'"),
    ],
)
def test_bad_source_strings_say_what_is_accepted(spec, words):
    with pytest.raises(SourceError, match=words):
        parse_source(spec)


def test_bad_url_is_rejected_before_connecting():
    with pytest.raises(SourceError, match="names no host"):
        open_source("rtsp:///nohost")


def test_pattern_source_is_live_bgr_and_moving():
    with open_source("pattern:96x64@200") as src:
        frames = [src.read() for _ in range(3)]
    assert all(f.image.shape == (64, 96, 3) and f.image.dtype == np.uint8 for f in frames)
    assert [f.index for f in frames] == [0, 1, 2] and frames[1].pts_ms == pytest.approx(5.0)
    assert not np.array_equal(frames[0].image, frames[2].image)


def test_file_source_reads_every_frame_with_timestamps(video_file):
    with open_source(video_file) as src:
        assert src.fps == pytest.approx(30) and src.frame_count == 60 and src.size_wh == (320, 240)
        assert not src.live and src.seekable
        frames = list(src)
    assert [decode_index(f.image) for f in frames] == list(range(60))
    assert frames[30].pts_ms == pytest.approx(1000.0)


def test_file_source_seeks(video_file):
    with open_source(video_file) as src:
        src.seek(40)
        frame = src.read()
    assert frame.index == 40 and decode_index(frame.image) == 40


def h264_clip(path: str, frames: int, size=(320, 240), fps: float = 30.0) -> str:
    """An H.264 clip (B-frames, a keyframe every second) with indices in its pixels, written by vidcv's sink."""
    from vidcv.frame import Frame
    from vidcv.sinks import VideoSink

    sink = VideoSink(path, fps, hardware="cpu")
    for i in range(frames):
        sink.write(Frame(encode_index(i, *size), i, i * 1000.0 / fps))
    sink.close()
    return path


@pytest.mark.parametrize("codec", ["h264", "mp4v"])
def test_pyav_decodes_the_same_pixels_as_opencv(tmp_path, codec):
    path = h264_clip(str(tmp_path / "c.mp4"), 20) if codec == "h264" else write_video(str(tmp_path / "c.mp4"), 20)
    got = {}
    for backend in ("pyav", "opencv"):
        with FileSource(path, backend=backend) as src:
            assert src.decoder == backend
            got[backend] = [f.image for f in src]
    assert len(got["pyav"]) == len(got["opencv"]) == 20
    # the same swscale conversion (BT.601, bicubic chroma) on both sides: equal bit for bit, no tolerance
    assert all(np.array_equal(a, b) for a, b in zip(got["pyav"], got["opencv"]))


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_rotated_video_comes_upright_from_both_decoders(tmp_path, degrees):
    import av

    plain = h264_clip(str(tmp_path / "plain.mp4"), 5)
    turned = str(tmp_path / "turned.mp4")  # as a phone records portrait: the pixels as shot, a display matrix
    with av.open(plain) as inp, av.open(turned, "w") as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist, opaque=True)
        ost.set_display_rotation(degrees)
        for packet in inp.demux(ist):
            if packet.dts is not None:
                packet.stream = ost
                out.mux(packet)
    got = {}
    for backend in ("pyav", "opencv"):
        with FileSource(turned, backend=backend) as src:
            got[backend] = [f.image for f in src]
            assert src.size_wh == ((240, 320) if degrees != 180 else (320, 240))
    assert all(np.array_equal(a, b) for a, b in zip(got["pyav"], got["opencv"], strict=True))


def test_the_faster_decoder_is_chosen_by_frame_size(tmp_path):
    from vidcv.sources.file import choose_backend

    assert choose_backend((1280, 720)) == "pyav" and choose_backend((1920, 1080)) == "pyav"
    assert choose_backend((640, 360)) == "opencv"  # as fast as PyAV, and no PyAV import at start-up
    small_mp4v = write_video(str(tmp_path / "small.mp4"), 3)
    small_h264 = h264_clip(str(tmp_path / "small_h264.mp4"), 3)
    with FileSource(small_mp4v) as a, FileSource(small_h264) as b:
        assert (a.decoder, b.decoder) == ("opencv", "opencv")
    with FileSource(h264_clip(str(tmp_path / "720p.mp4"), 3, size=(1280, 720))) as c:
        assert c.decoder == "pyav"


@pytest.mark.parametrize("cores, small, large", [(1, 1, 1), (2, 1, 3), (4, 3, 3), (16, 8, 8)])
def test_frames_below_720p_decode_with_one_ffmpeg_thread_on_two_cores(monkeypatch, cores, small, large):
    from vidcv.sources.file import default_decode_threads

    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert default_decode_threads((640, 360)) == default_decode_threads((1279, 719)) == small
    assert default_decode_threads((1280, 720)) == default_decode_threads((1920, 1080)) == large
    assert default_decode_threads(None) == large  # the size not known yet: as for large frames


@pytest.mark.parametrize("ext", [".mp4", ".avi"])  # the size from the MP4 index, or from PyAV's probe
def test_a_small_file_opencv_decodes_opens_with_the_threads_for_its_size(tmp_path, monkeypatch, ext):
    from vidcv.sources import file as file_mod

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    threads = []
    real_init = file_mod._OpenCVReader.__init__
    monkeypatch.setattr(
        file_mod._OpenCVReader, "__init__", lambda self, path, n: threads.append(n) or real_init(self, path, n)
    )
    path = write_video(str(tmp_path / f"small{ext}"), 4)
    with FileSource(path) as src:
        assert src.decoder == "opencv"
        assert [decode_index(f.image) for f in src] == list(range(4))
    with FileSource(path, decode_threads=2) as asked:  # threads asked (a batch worker's share) are kept
        assert asked.decoder == "opencv"
    assert threads == [1, 2]


def test_an_mp4_index_names_its_video_track_without_decoding(tmp_path):
    from vidcv.media.mp4 import video_track

    assert video_track(write_video(str(tmp_path / "a.mp4"), 3)) == ("mp4v", 320, 240)
    assert video_track(h264_clip(str(tmp_path / "b.mp4"), 3, size=(640, 360))) == ("avc1", 640, 360)
    not_mp4 = tmp_path / "c.txt"
    not_mp4.write_text("pipeline: []\n")
    assert video_track(str(not_mp4)) is None
    assert video_track(write_video(str(tmp_path / "d.avi"), 3)) is None  # another container: PyAV probes it


def test_a_file_opencv_decodes_opens_without_importing_pyav(tmp_path):
    """A small MPEG-4 file in an MP4 (OpenCV's to decode): picked from its index, PyAV never imported (its
    import is a fifth of a short run's start-up); frames, fps and count as before."""
    path = write_video(str(tmp_path / "small.mp4"), 12)
    code = (
        "import sys\n"
        "from vidcv.sources.file import FileSource\n"
        f"src = FileSource({path!r}); src.open()\n"
        "n = sum(1 for _ in iter(src.read, None))\n"
        "print(src.decoder, n, src.fps, src.frame_count, 'av' in sys.modules)\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["opencv", "12", "30.0", "12", "False"]


def test_a_file_opencv_cannot_decode_falls_back_to_pyav(tmp_path, monkeypatch):
    from vidcv.sources import file as file_mod

    path = write_video(str(tmp_path / "small.mp4"), 5)
    opened = []
    real_init = file_mod._OpenCVReader.__init__
    monkeypatch.setattr(file_mod._OpenCVReader, "__init__", lambda self, *a: opened.append(a) or real_init(self, *a))
    monkeypatch.setattr(file_mod._OpenCVReader, "read", lambda self, fallback_pts_ms=0.0: None)
    with FileSource(path) as src:
        frames = list(src)
        assert src.decoder == "pyav"  # the index said OpenCV; its first read failed; PyAV probed and decoded
    assert len(opened) == 1  # OpenCV tried once, not again after PyAV's probe chose it too
    assert [decode_index(f.image) for f in frames] == list(range(5))


def test_pyav_gives_each_frame_its_own_timestamp(tmp_path):
    import av

    path = str(tmp_path / "vfr.mkv")
    times_ms = [0, 40, 100, 110, 300, 1000]  # variable frame rate, as a phone or a screen recorder writes
    with av.open(path, "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        for i, t in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(encode_index(i), format="bgr24")
            frame.pts = t
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with FileSource(path, backend="pyav") as src:
        frames = list(src)
    assert [decode_index(f.image) for f in frames] == list(range(6))
    assert [f.pts_ms for f in frames] == times_ms


def test_pyav_seeks_to_the_exact_frame_between_keyframes(tmp_path):
    path = h264_clip(str(tmp_path / "gop.mkv"), 75)  # keyframes at 0, 30, 60; B-frames between
    with FileSource(path, backend="pyav") as src:
        assert src.frame_count == 75  # estimated from the duration (a .mkv header has no count)
        for index in (45, 1, 30, 29, 74, 0, 59, 60, 31, 12):
            src.seek(index)
            frame = src.read()
            assert (frame.index, decode_index(frame.image)) == (index, index)
            assert frame.pts_ms == pytest.approx(index * 1000 / 30, abs=1)
        following = [decode_index(src.read().image) for _ in range(3)]
        assert following == [13, 14, 15]  # reading goes on from there
        assert src.frame_count == 75  # exact now: seeking counted the packets
        src.seek(75)
        assert src.read() is None and src.state.value == "ended"


@pytest.mark.parametrize("ext", ["avi", "mkv"])
def test_truncated_video_with_pyav_stops_at_the_last_good_frame(tmp_path, ext):
    full = write_video(str(tmp_path / f"full.{ext}"), 60)
    cut = tmp_path / f"cut.{ext}"
    data = Path(full).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    src = FileSource(str(cut), backend="pyav")
    src.open()
    got = []
    with pytest.raises(TruncatedVideoError, match="looks truncated or damaged"):
        while (frame := src.read()) is not None:
            got.append(decode_index(frame.image))
    src.close()
    assert 10 < len(got) < 60 and got == list(range(len(got)))


def test_empty_and_non_video_files_are_clear_errors(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "notes.mp4").write_text("hello")
    with pytest.raises(SourceError, match="the file is empty"):
        open_source(str(tmp_path / "empty.mp4"))
    with pytest.raises(SourceError, match="cannot read .*notes.mp4 as a video"):
        open_source(str(tmp_path / "notes.mp4"))


@pytest.mark.parametrize("ext", ["avi", "mkv"])
def test_truncated_video_stops_at_the_last_good_frame_and_says_so(tmp_path, ext):
    full = write_video(str(tmp_path / f"full.{ext}"), 60)
    cut = tmp_path / f"cut.{ext}"
    data = open(full, "rb").read()
    cut.write_bytes(data[: len(data) // 2])
    src = open_source(str(cut))
    got = []
    with pytest.raises(TruncatedVideoError, match="looks truncated or damaged") as info:
        while (frame := src.read()) is not None:
            got.append(decode_index(frame.image))
    src.close()
    assert 10 < len(got) < 60 and got == list(range(len(got)))
    assert f"ended after frame {len(got) - 1}" in str(info.value) and "announces 60 frames" in str(info.value)


def test_truncated_mp4_without_index_is_unreadable(tmp_path):
    full = write_video(str(tmp_path / "full.mp4"), 30)
    data = open(full, "rb").read()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="is it a video file, and complete"):
        open_source(str(tmp_path / "cut.mp4"))


def test_image_folder_in_natural_order_normalised_to_bgr(tmp_path, caplog):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "f10.png"), np.full((8, 8), 200, np.uint8))  # gray
    cv2.imwrite(str(folder / "f2.png"), np.full((8, 8, 4), 100, np.uint8))  # BGRA
    cv2.imwrite(str(folder / "f1.png"), np.full((8, 8, 3), 50, np.uint16) * 256)  # 16-bit
    (folder / "f3.png").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("ignored")
    with open_source(str(folder)) as src:
        assert src.frame_count == 4
        frames = list(src)
    assert [os.path.basename(f.path) for f in frames] == ["f1.png", "f2.png", "f10.png"]
    assert all(f.image.dtype == np.uint8 and f.image.shape == (8, 8, 3) for f in frames)
    assert [int(f.image[0, 0, 0]) for f in frames] == [50, 100, 200]
    assert "f3.png" in caplog.text


def test_empty_image_folder_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="no images found"):
        open_source(str(tmp_path))


def test_an_unreadable_image_as_source_is_an_error_not_zero_frames(tmp_path):
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(SourceError, match=r"photo.png is not a readable image: the file is damaged"):
        open_source(str(bad))
    (tmp_path / "b.jpg").write_bytes(b"")
    with pytest.raises(SourceError, match=r"none of the 2 images in .* is readable \(the first is .*b.jpg\)"):
        open_source(str(tmp_path))
    result = run_cli("run", str(bad), "-p", "edges", "-o", str(tmp_path / "out.png"))
    assert result.returncode == 1 and not (tmp_path / "out.png").exists()
    assert result.stderr.strip().splitlines() == [
        (
            f"vidcv: error: {bad} is not a readable image: the file is "
            "damaged, empty or not the image its name says (check that it "
            "opens in an image viewer)"
        )
    ]


def test_an_image_folder_knows_its_size_at_open_and_reads_the_first_image_again_after_a_seek(tmp_path):
    (tmp_path / "a.png").write_bytes(b"broken")
    cv2.imwrite(str(tmp_path / "b.png"), np.full((6, 10, 3), 7, np.uint8))
    cv2.imwrite(str(tmp_path / "c.png"), np.full((6, 10, 3), 9, np.uint8))
    with open_source(str(tmp_path)) as src:
        assert src.size_wh == (10, 6)
        first = [int(f.image[0, 0, 0]) for f in src]
        src.seek(0)
        again = [int(f.image[0, 0, 0]) for f in src]
    assert first == again == [7, 9]


def test_list_cameras_reads_names_from_sysfs(tmp_path):
    sysfs = tmp_path / "sys"
    for index, name in ((0, "Integrated Camera"), (2, "USB Webcam")):
        (sysfs / f"video{index}").mkdir(parents=True)
        (sysfs / f"video{index}" / "name").write_text(name + "\n")
    cams = list_cameras(str(sysfs), str(tmp_path / "dev"))
    assert [(c.index, c.name, c.path) for c in cams] == [
        (0, "Integrated Camera", str(tmp_path / "dev" / "video0")),
        (2, "USB Webcam", str(tmp_path / "dev" / "video2")),
    ]
    assert list_cameras(str(tmp_path / "nothing")) == []


def test_absent_camera_index_is_a_clear_error():
    with pytest.raises(SourceError, match=r"camera 57 could not be opened.*vidcv sources"):
        open_source("57")
    with pytest.raises(SourceError, match="/dev/video99 does not exist"):
        open_source("/dev/video99")


class FakeCapture:
    """Stands in for cv2.VideoCapture: opens, then serves ``good`` frames, then fails."""

    good = 3

    def __init__(self, *args):
        self.n = 0

    def isOpened(self):
        return True

    def set(self, *args):
        return True

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        self.n += 1
        if self.n > self.good:
            return False, None
        return True, np.full((6, 8, 3), self.n, np.uint8)

    def release(self):
        pass


def test_busy_camera_is_a_clear_error(monkeypatch):
    class Busy(FakeCapture):
        good = 0

    monkeypatch.setattr(camera_mod.cv2, "VideoCapture", Busy)
    with pytest.raises(SourceError, match="delivered no frame: it is probably busy"):
        CameraSource(0).open()


def test_camera_that_stops_delivering_raises_after_its_stall_timeout(monkeypatch):
    monkeypatch.setattr(camera_mod.cv2, "VideoCapture", FakeCapture)
    src = CameraSource(0, stall_timeout_s=0.2)
    src.open()
    assert src.live and src.fps == 30.0 and src.size_wh == (8, 6)
    assert [int(src.read().image[0, 0, 0]) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(SourceError, match="stopped delivering frames"):
        src.read()
    src.close()


def test_both_decoders_give_each_frame_its_own_timestamp_at_a_variable_frame_rate(tmp_path):
    """A clip whose frames come 33 and 100 ms apart: OpenCV's frames carry the stream's timestamps as PyAV's do,
    not their place at the nominal rate (speeds, dwell times and clip times follow the video's own clock)."""
    import av

    path = str(tmp_path / "vfr.mp4")
    stamps, t = [], 0
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), i * 10, np.uint8), format="bgr24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            stamps.append(float(t))
            t += 33 if i % 3 else 100
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    got = {}
    for backend in ("pyav", "opencv"):
        with FileSource(path, backend=backend) as src:
            got[backend] = [f.pts_ms for f in src]
    assert got["pyav"] == pytest.approx(stamps) and got["opencv"] == pytest.approx(stamps)
