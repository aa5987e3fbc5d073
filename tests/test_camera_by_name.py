"""Cameras by the name `vidcv sources` shows (vidcv/sources/camera.py): `camera:"HD Pro Webcam C920"`.

There is no camera here, so the OS listing is faked where Linux keeps it: a sysfs tree with each device's
``name`` file, and device nodes that are links to a video file (OpenCV opens a path as it would a device),
so the camera found by name really opens and delivers frames.
"""

import os

import pytest

from media import decode_index, write_video
from vidcv.cli.main import main
from vidcv.errors import SourceError
from vidcv.sources import CameraSource, camera, list_cameras, open_source, parse_source


@pytest.fixture
def cameras(tmp_path, monkeypatch):
    """Two cameras, video0 "Integrated Camera" and video2 "HD Pro Webcam C920", each a link to its own clip
    (320x240 and 640x480, so that which one opened shows)."""
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    dev.mkdir()
    for index, name, size in ((0, "Integrated Camera", (320, 240)), (2, "HD Pro Webcam C920", (640, 480))):
        (sysfs / f"video{index}").mkdir(parents=True)
        (sysfs / f"video{index}" / "name").write_text(name + "\n")
        clip = write_video(str(tmp_path / f"clip{index}.mp4"), 10, size=size)
        os.symlink(clip, dev / f"video{index}")
    monkeypatch.setattr(camera, "SYSFS_ROOT", str(sysfs))
    monkeypatch.setattr(camera, "DEV_ROOT", str(dev))
    monkeypatch.setattr(camera.sys, "platform", "linux")
    return dev


def test_a_camera_opens_by_the_name_sources_shows(cameras, capsys):
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "HD Pro Webcam C920" in out and 'vidcv run camera:"Integrated Camera"' in out
    source = parse_source("camera:HD Pro Webcam C920")  # what the shell passes for camera:"HD Pro Webcam C920"
    assert isinstance(source, CameraSource) and source.name == "HD Pro Webcam C920"
    source.open()
    try:
        assert source.device == str(cameras / "video2")
        frames = [source.read() for _ in range(3)]
        assert [decode_index(f.image) for f in frames] == [0, 1, 2]
        assert frames[0].image.shape == (480, 640, 3) and source.size_wh == (640, 480)  # video2's, not video0's
    finally:
        source.close()


@pytest.mark.parametrize(
    "spec, device",
    [
        ('camera:"HD Pro Webcam C920"', "video2"),  # quotes kept (a GUI field, a script)
        ("camera:'integrated camera'", "video0"),  # case does not matter
        ("camera:  HD  Pro Webcam   C920 ", "video2"),  # nor spacing
        ("camera:C920", "video2"),  # a part of one camera's name
    ],
)
def test_names_match_whatever_the_quotes_case_and_spacing(cameras, spec, device):
    source = open_source(spec)
    try:
        assert source.device == str(cameras / device)
    finally:
        source.close()


def test_no_camera_or_several_by_that_name_are_clear_errors(cameras):
    with pytest.raises(
        SourceError,
        match=r"no camera named 'Logitech Brio' \(cameras found: 0 \(Integrated "
        r"Camera\), 2 \(HD Pro Webcam C920\); `vidcv sources` lists them\)",
    ):
        open_source("camera:Logitech Brio")
    with pytest.raises(SourceError, match=r"2 cameras match 'cam': .*give the index instead, e.g. camera:0"):
        open_source("camera:cam")
    with pytest.raises(SourceError, match="names no camera"):
        parse_source('camera:""')


def test_two_cameras_of_one_model_are_told_apart_by_index(cameras):
    (cameras.parent / "sys" / "video0" / "name").write_text("HD Pro Webcam C920\n")
    assert [c.name for c in list_cameras()] == ["HD Pro Webcam C920"] * 2
    with pytest.raises(
        SourceError,
        match=r"2 cameras match 'HD Pro Webcam C920': 0 \(HD Pro Webcam C920\), "
        r"2 \(HD Pro Webcam C920\); give the index instead",
    ):
        open_source('camera:"HD Pro Webcam C920"')


def test_a_camera_needs_something_to_find_it_by():
    with pytest.raises(SourceError, match="needs an index, a device path or a name"):
        CameraSource()
