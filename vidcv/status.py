"""The output half of the plugin contract: what a stage reports to be shown and logged.

``params`` declares what a plugin takes in; ``Plugin.status()`` returns a ``StageStatus`` saying what it
gives out besides the frame: what a model runs on, running counts, a tracker's state. The pipeline reads
it after each frame into ``Frame.statuses``; the run statistics, the readout, the detection log and the
stats JSON read it from there, the same way for every plugin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

#: a running total, or a named group of them (a zone's ``{"inside": 2, "entered": 5, ...}`` under its name)
Count: TypeAlias = "int | Mapping[str, Count]"


@dataclass(frozen=True)
class StageStatus:
    """What one stage reports. Every part is optional; an empty status reports nothing.

    ``provider``: what a model stage runs on (CPU, CUDA, TENSORRT). ``counts``: running totals the stage
    keeps (a count stage's flat ``in``/``out``; a zone's nested under its name), written to every line of the detection log. ``figures``: numbers
    about the last frame (keypoints or contours found), for the readout and the statistics. ``state``: one
    word on the stage's condition (a region tracker's ``tracking``/``lost``/``no region``).
    """

    provider: str = ""
    counts: Mapping[str, Count] = field(default_factory=dict)
    figures: Mapping[str, float] = field(default_factory=dict)
    state: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", plain_counts(self.counts))
        object.__setattr__(self, "figures", {str(k): v for k, v in dict(self.figures).items()})

    def __bool__(self) -> bool:
        return bool(self.provider or self.counts or self.figures or self.state)

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


def providers(statuses: Mapping[str, StageStatus] | Iterable[StageStatus]) -> str:
    """What the model stages run on, for a readout: ``CPU`` or ``CUDA, CPU``."""
    values = statuses.values() if isinstance(statuses, Mapping) else statuses
    return ", ".join(dict.fromkeys(s.provider for s in values if s.provider))
