"""Fixtures of the batch tests (helpers in batch_helpers.py)."""

from __future__ import annotations

import pytest
from batch_helpers import sample_frames, write_clip


@pytest.fixture
def make_clips(tmp_path):
    """make_clips({"a/clip.mp4": (start, frames), ...}) -> paths under tmp_path/videos, in that order."""

    def make(spec: dict[str, tuple[int, int]], root: str = "videos") -> list[str]:
        return [
            write_clip(str(tmp_path / root / name), sample_frames(count, start))
            for name, (start, count) in spec.items()
        ]

    return make
