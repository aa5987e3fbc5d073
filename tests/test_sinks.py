import json
import os

import numpy as np
import pytest

from media import decode_index, encode_index, read_all
from vidcv.detections import Detections
from vidcv.errors import OutputError
from vidcv.frame import Frame
from vidcv.sinks import (VIDEO_CODECS, DetectionsLogSink, ImageSequenceSink, VideoSink, check_output, check_writable,
                         make_output_sink)


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


def test_no_frame_means_no_file(tmp_path):
    sink = VideoSink(str(tmp_path / "none.mp4"), 25)
    sink.close()
    assert os.listdir(tmp_path) == []


def test_image_sequence_from_pattern_and_folder(tmp_path):
    for target, names in ((str(tmp_path / "seq" / "f_%03d.png"), ["f_000.png", "f_001.png", "f_002.png"]),
                          (str(tmp_path / "folder") + "/", ["frame_000000.png", "frame_000001.png",
                                                            "frame_000002.png"])):
        sink = make_output_sink(target, 25)
        assert isinstance(sink, ImageSequenceSink)
        for f in frames(3):
            sink.write(f)
        sink.close()
        folder = os.path.dirname(target)
        assert sorted(os.listdir(folder)) == names


@pytest.mark.parametrize("target, words", [
    ("out.xyz", "unknown extension '.xyz'"),
    ("out.png", "single image name; for an image sequence give a pattern such as out_%05d.png"),
    ("seq/f_%s_%d.png", "bad image pattern"),
    ("seq/f_%05d.gif", "unknown image extension"),
])
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
@pytest.mark.parametrize("make, shown", [
    (lambda: VideoSink("/sys/o.mp4", 25), "/sys/o.mp4"),
    (lambda: ImageSequenceSink("/sys/f_%05d.png"), "/sys/f_%05d.png"),
    (lambda: DetectionsLogSink("/sys/d.jsonl"), "/sys/d.jsonl"),
    (lambda: check_output("/sys/o.mp4"), "/sys/o.mp4"),
    (lambda: check_output("/sys/f_%05d.png"), "/sys/f_%05d.png"),
    (lambda: check_writable("/sys/stats.json"), "/sys/stats.json"),
])
def test_a_folder_where_no_file_can_be_made_is_refused_before_any_frame(make, shown):
    # sysfs: the folder exists and looks writable to root, yet no file can be created in it
    with pytest.raises(OutputError) as info:
        make()
    message = str(info.value)
    assert message.startswith(f"cannot write {shown}: ") and message.endswith("(choose another output path)")


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
    assert lines[1] == {"frame": 1, "pts_ms": 33.333, "detections": [
        {"xyxy": [1.0, 2.0, 3.0, 4.0], "confidence": 0.5, "class_id": 1, "class_name": "dog", "track_id": 9}]}
