"""The BGR conversion of a decoded frame (``vidcv.media.decode.bgr``): one swscale context kept across the
frames of a video, converting in the calling thread, gives the same pixels as PyAV's own ``to_ndarray``
(a new context, and its own conversion threads, for every frame), on textured H.264 and MPEG-4 Part 2 and
when the size changes under a kept context."""

import av
import numpy as np
import pytest
from av.video.reformatter import VideoReformatter

from media import write_textured_video
from vidcv.media.decode import VideoReader, bgr


@pytest.fixture(scope="module", params=["h264", "mpeg4"])
def clip(request, tmp_path_factory):
    path = str(tmp_path_factory.mktemp(request.param) / f"texture_{request.param}.mp4")
    return write_textured_video(path, 6, request.param, (320, 240))


def test_a_kept_context_converts_as_pyav_does_frame_by_frame(clip):
    reformatter = VideoReformatter()
    with av.open(clip) as inp:
        for frame in inp.decode(video=0):
            expected = frame.to_ndarray(format="bgr24")
            got = bgr(frame, reformatter)
            assert got.shape == expected.shape == (240, 320, 3)
            assert np.array_equal(got, expected)
            assert np.array_equal(bgr(frame), expected)  # without a kept context too


def test_a_kept_context_follows_a_change_of_size(clip, tmp_path):
    small = write_textured_video(str(tmp_path / "small.mp4"), 3, "h264", (160, 96), seed=1)
    reformatter = VideoReformatter()
    for path in (clip, small, clip):
        with av.open(path) as inp:
            for frame in inp.decode(video=0):
                assert np.array_equal(bgr(frame, reformatter), frame.to_ndarray(format="bgr24"))


def test_the_reader_delivers_the_same_pixels(clip):
    reader = VideoReader(clip, threads=1)
    with av.open(clip) as inp:
        for frame in inp.decode(video=0):
            decoded = reader.read()
            assert decoded is not None and np.array_equal(decoded.image, frame.to_ndarray(format="bgr24"))
    assert reader.read() is None
    reader.close()
