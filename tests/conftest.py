"""Shared fixtures: synthetic media made on the fly (helpers in media.py)."""

from __future__ import annotations

import os

import pytest

from media import write_video

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def video_file(tmp_path):
    """A 60-frame 320x240 mp4 at 30 fps with indices in its pixels."""
    return write_video(str(tmp_path / "input.mp4"), 60)


@pytest.fixture
def make_video(tmp_path):
    def make(name: str = "clip.mp4", frames: int = 30, **kw) -> str:
        return write_video(str(tmp_path / name), frames, **kw)

    return make


@pytest.fixture
def registry():
    """A registry with the installed plugins; tests may register extra classes on it."""
    from vidcv.registry import Registry

    return Registry()
