"""What a decoder hands the file and stream sources, apart from the decoders themselves (which import PyAV)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Decoded(NamedTuple):
    """One decoded frame: BGR pixels and the presentation time, in ms from the start of the video; with
    ``VideoReader.luma_beside``, the gray of its luma plane too (None otherwise)."""

    image: np.ndarray
    pts_ms: float
    luma: np.ndarray | None = None
