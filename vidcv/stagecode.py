"""How a plugin is written as code in an exported script (``Plugin.to_code``; ``vidcv.codegen`` writes it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CodeContext:
    """What the script's frames are: ``vidcv_frame`` when the script runs some stages through vidcv (its
    frames are ``vidcv.frame.Frame``, which track geometry and detections), else the script's own small
    Frame (image, colour space, original, stage outputs)."""

    vidcv_frame: bool = False


@dataclass(frozen=True)
class StageCode:
    """How one stage is written as code.

    ``body``: the statements of ``def STAGE(frame: Frame) -> Frame`` (they return the frame), written with
    ``cv2``, ``np``, the uppercase names of ``constants`` and ``state`` (the script prefixes them with the
    stage's name), and top-level names of the plugin's module or of ``vidcv.imageops`` (copied into the
    script with what they use). ``doc``: what the stage does with these values, one line. ``state``:
    objects made once at the top of the script (NAME -> expression), for stages that keep state.
    """

    body: str
    doc: str
    constants: Mapping[str, Any] = field(default_factory=dict)
    state: Mapping[str, str] = field(default_factory=dict)
