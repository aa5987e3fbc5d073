"""The output half of the plugin contract: what a stage reports to be shown and logged.

``params`` declares what a plugin takes in; ``Plugin.status()`` returns a ``StageStatus`` saying what it
gives out besides the frame: what a model runs on, running counts, a tracker's state. The pipeline reads
it after each frame into ``Frame.statuses``; the run statistics, the readout, the detection log and the
stats JSON read it from there, the same way for every plugin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, TypeAlias

#: a running total, or a named group of them (a zone's ``{"inside": 2, "entered": 5, ...}`` under its name)
Count: TypeAlias = "int | Mapping[str, Count]"


class EventKind(str, Enum):
    """What happened in the scene. A ``str`` so that it prints, compares and serialises as its word."""

    ZONE_ENTER = "zone_enter"  #: a track entered a zone (``zone``, ``class_name``, ``track_id``)
    ZONE_EXIT = "zone_exit"  #: a track left a zone (``value``: seconds it was inside)
    LINE_CROSS = "line_cross"  #: a track crossed a counting line (``direction``: ``in`` or ``out``)
    CLASS_APPEARED = "class_appeared"  #: a class seen on no frame for a while is on this one
    COUNT_ABOVE = "count_above"  #: a count rose above its threshold (``value``: the count)
    DWELL = "dwell"  #: a track has been in a zone longer than the threshold (``value``: seconds)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SceneEvent:
    """One thing that happened on one frame, reported by the stage that saw it (``StageStatus.events``).

    ``stage`` is filled in by the pipeline with the stage's display name. Optional parts stay empty (``""``,
    ``-1``, ``None``) where they do not apply.
    """

    kind: EventKind
    frame_index: int
    pts_ms: float
    stage: str = ""
    zone: str = ""  #: the zone's (or counting line's) name
    class_name: str = ""
    track_id: int = -1
    direction: str = ""  #: a line crossing's ``in``/``out``
    value: float | None = None  #: a count, seconds in a zone: what the kind says

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, only the parts that are set: ``{"kind": "zone_enter", "frame": 12, "t": 0.4, ...}``."""
        out: dict[str, Any] = {"kind": self.kind.value, "frame": self.frame_index, "t": round(self.pts_ms / 1000, 4)}
        if self.stage:
            out["stage"] = self.stage
        if self.zone:
            out["zone"] = self.zone
        if self.class_name:
            out["class"] = self.class_name
        if self.track_id >= 0:
            out["track_id"] = self.track_id
        if self.direction:
            out["direction"] = self.direction
        if self.value is not None:
            out["value"] = round(float(self.value), 4)
        return out

    def from_stage(self, stage: str) -> SceneEvent:
        """This event as reported by ``stage``."""
        return replace(self, stage=stage)


@dataclass(frozen=True)
class StageStatus:
    """What one stage reports. Every part is optional; an empty status reports nothing.

    ``provider``: what a model stage runs on (CPU, CUDA, TENSORRT). ``counts``: running totals the stage
    keeps (a count stage's flat ``in``/``out``; a zone's nested under its name), written to every line of the detection log. ``figures``: numbers
    about the last frame (keypoints or contours found), for the readout and the statistics. ``state``: one
    word on the stage's condition (a region tracker's ``tracking``/``lost``/``no region``). ``events``: what
    happened on the frame just processed (a stage that processes frames in batches tags each with its frame
    index; the pipeline gives each frame its own); they are not part of ``to_dict``, which says where a
    stage stands, not what happened.
    """

    provider: str = ""
    counts: Mapping[str, Count] = field(default_factory=dict)
    figures: Mapping[str, float] = field(default_factory=dict)
    state: str = ""
    events: tuple[SceneEvent, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", plain_counts(self.counts))
        object.__setattr__(self, "figures", {str(k): v for k, v in dict(self.figures).items()})
        object.__setattr__(self, "events", tuple(self.events))

    def __bool__(self) -> bool:
        return bool(self.provider or self.counts or self.figures or self.state or self.events)

    def for_frame(self, frame_index: int, stage: str) -> StageStatus:
        """This status as recorded on one frame: only that frame's events, each naming ``stage``."""
        if not self.events:
            return self
        return replace(self, events=tuple(e.from_stage(stage) for e in self.events if e.frame_index == frame_index))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: only the parts that are set."""
        out: dict[str, Any] = {}
        if self.provider:
            out["provider"] = self.provider
        if self.counts:
            out["counts"] = plain_counts(self.counts)
        if self.figures:
            out["figures"] = dict(self.figures)
        if self.state:
            out["state"] = self.state
        return out


def plain_counts(counts: Mapping[str, Any]) -> dict[str, Any]:
    """``counts`` as plain dicts of str to int, nested as given (a zone's counts under its name)."""
    return {str(k): plain_counts(v) if isinstance(v, Mapping) else int(v) for k, v in dict(counts).items()}


def merged_counts(statuses: Iterable[StageStatus]) -> dict[str, Any]:
    """The counts of several stages in pipeline order as one mapping (a later stage's name wins)."""
    out: dict[str, Any] = {}
    for status in statuses:
        out.update(plain_counts(status.counts))
    return out


def frame_events(statuses: Mapping[str, StageStatus]) -> list[SceneEvent]:
    """The events the stages reported on one frame (``Frame.statuses``), in pipeline order."""
    return [event for status in statuses.values() for event in status.events]


def providers(statuses: Mapping[str, StageStatus] | Iterable[StageStatus]) -> str:
    """What the model stages run on, for a readout: ``CPU`` or ``CUDA, CPU``."""
    values = statuses.values() if isinstance(statuses, Mapping) else statuses
    return ", ".join(dict.fromkeys(s.provider for s in values if s.provider))
