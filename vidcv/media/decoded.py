"""What a decoder hands the file and stream sources, apart from the decoders themselves (which import PyAV)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Decoded(NamedTuple):
    """One decoded frame: BGR pixels and the presentation time, in ms from the start of the video; with
    ``VideoReader.luma_beside``, the gray of its luma plane too (None otherwise)."""

    image: np.ndarray
    pts_ms: float
    luma: np.ndarray | None = None


class Unconverted(NamedTuple):
    """One frame decoded but not converted yet (``VideoReader.read_unconverted``): ``convert()`` makes its image
    (what ``Decoded.image`` would be) in whichever thread calls it, once; the presentation time as in
    ``Decoded``."""

    convert: Callable[[], np.ndarray]
    pts_ms: float
