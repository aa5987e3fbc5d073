"""The live readout: source, processed and displayed fps (a live source's outages beside its fps), per-stage
milliseconds as bars and the counts a stage keeps (a zone's inside, in, out), drops, frame age, and the decode
when it is the opt-in luma path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from vidcv.stats import OutageSummary, RateMeter, RunSummary


def outage_text(o: OutageSummary | None) -> str:
    """A live source's outages for the source row: ``reconnecting 4 s · away 2× 9.3 s (longest 5.0 s),
    1 reconnected``; "" while it never went away (and for files)."""
    if o is None or not o.outages:
        return ""
    parts = [f"reconnecting {o.current_s:.0f} s"] if o.away else []
    parts.append(f"away {o.outages}× {o.total_s:.1f} s (longest {o.longest_s:.1f} s), {o.reconnects} reconnected")
    return " · ".join(parts)


#: a zone's counts as the readout words them
COUNT_WORDS = {"inside": "inside", "entered": "in", "exited": "out"}


def _group_text(counts: Mapping[str, Any]) -> str:
    """One group's plain counts, a zone's in its order: ``inside 2, in 5, out 3``."""
    keys = [k for k in COUNT_WORDS if k in counts] + [k for k in counts if k not in COUNT_WORDS]
    return ", ".join(f"{COUNT_WORDS.get(k, k)} {counts[k]}" for k in keys if not isinstance(counts[k], Mapping))


def counts_text(counts: Mapping[str, Any]) -> str:
    """A stage's running counts for its readout row: a zone's nested under its name read ``door: inside 2, in
    5, out 3`` (the per-class groups are the tooltip's), a counting line's flat ones ``in 4, out 6``."""
    parts = [_group_text({k: v for k, v in counts.items() if not isinstance(v, Mapping)})]
    for name, group in counts.items():
        if isinstance(group, Mapping):
            parts.append(f"{name}: {_group_text(group)}")
    return " · ".join(p for p in parts if p and not p.endswith(": "))


def counts_tooltip(counts: Mapping[str, Any]) -> str:
    """The per-class counts of each zone, a line each: ``door inside: car 1, person 2``."""
    lines = []
    for name, group in counts.items():
        if not isinstance(group, Mapping):
            continue
        for key, by_class in group.items():
            if isinstance(by_class, Mapping) and by_class:
                what = COUNT_WORDS.get(key.removesuffix("_by_class"), key.removesuffix("_by_class"))
                lines.append(f"{name} {what}: " + ", ".join(f"{c} {n}" for c, n in by_class.items()))
    return "\n".join(lines)


class Readout(QWidget):
    """Updated a few times a second by the window from ``Runner.summary(recent=True)``.

    Each stage row names the stage and what it reports as its state (a yolo stage's task, a region
    tracker's ``tracking``/``lost``). The readout is as tall as its rows: ``rows_changed`` tells the window
    when that height changed.
    """

    rows_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.shown_rows = 0
        self.display_rate = RateMeter()
        self.labels = {key: QLabel("–") for key in ("source", "processed", "displayed", "dropped", "age", "provider")}
        #: shown only while frames take gray from the luma plane (a preset's ``decode: luma``)
        self.decode_label = QLabel("<b>decode</b> luma")
        self.decode_label.setToolTip(
            "gray straight from the video's luma plane (the preset's decode: luma): faster, and not bit-equal "
            "to converting the colour decode, which vidcv does by default; vidcv run takes the same path with "
            "this preset"
        )
        self.decode_label.setVisible(False)
        top = QHBoxLayout()
        for key, title in (
            ("source", "source"),
            ("processed", "processed"),
            ("displayed", "displayed"),
            ("dropped", "dropped"),
            ("age", "frame age"),
            ("provider", "inference"),
        ):
            top.addWidget(QLabel(f"<b>{title}</b>"))
            top.addWidget(self.labels[key])
            top.addSpacing(12)
        top.addWidget(self.decode_label)
        top.addStretch(1)
        self.stage_grid = QGridLayout()
        #: per stage: its name (and state), its time as a bar, its time in ms, its counts
        self.stage_rows: list[tuple[QLabel, QProgressBar, QLabel, QLabel]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addLayout(top)
        layout.addLayout(self.stage_grid)
        self.setMaximumHeight(self.sizeHint().height())

    def frame_displayed(self) -> None:
        self.display_rate.tick()

    def _ensure_rows(self, n: int) -> None:
        while len(self.stage_rows) < n:
            row = len(self.stage_rows)
            name, bar, ms, counts = QLabel(), QProgressBar(), QLabel(), QLabel()
            bar.setTextVisible(False)
            bar.setMaximumHeight(10)
            bar.setRange(0, 1000)
            self.stage_grid.addWidget(name, row, 0)
            self.stage_grid.addWidget(bar, row, 1)
            self.stage_grid.addWidget(ms, row, 2)
            self.stage_grid.addWidget(counts, row, 3)
            self.stage_rows.append((name, bar, ms, counts))
        for i, widgets in enumerate(self.stage_rows):
            for w in widgets:
                w.setVisible(i < n)
        if n != self.shown_rows:
            self.shown_rows = n
            layout = self.layout()
            assert layout is not None  # set in __init__
            layout.activate()
            self.setMaximumHeight(self.sizeHint().height())  # no empty space under the rows
            self.rows_changed.emit()

    def update_from(self, summary: RunSummary | None, live: bool, provider: str = "") -> None:
        if summary is None:
            for label in self.labels.values():
                label.setText("–")
                label.setStyleSheet("")
            self.decode_label.setVisible(False)
            self._ensure_rows(0)
            return
        self.decode_label.setVisible(summary.decode == "luma")
        outages = outage_text(summary.source_outages)
        self.labels["source"].setText(f"{summary.source_fps:.1f} fps" + (f" · {outages}" if outages else ""))
        self.labels["source"].setToolTip(
            "frames per second the source delivers; a stream that went away: how often, for how long in all "
            "(the longest once), and how often it came back"
            if outages
            else "frames per second the source delivers"
        )
        away = summary.source_outages is not None and summary.source_outages.away
        self.labels["source"].setStyleSheet("color: #d33;" if away else "")
        self.labels["processed"].setText(f"{summary.fps:.1f} fps")
        self.labels["displayed"].setText(f"{self.display_rate.rate():.1f} fps")
        self.labels["dropped"].setText(str(summary.dropped) if live else "–")
        age = summary.frame_age_ms_mean
        self.labels["age"].setText(f"{age:.0f} ms" if live and age is not None else "–")
        self.labels["provider"].setText(provider or "–")
        stages = summary.stages
        self._ensure_rows(len(stages))
        slowest = max((s.ms_mean for s in stages if s.enabled), default=0.0) or 1.0
        for (name, bar, ms, counts), s in zip(self.stage_rows, stages):
            state = f" · {s.status.state}" if s.status and s.status.state else ""
            name.setText(f"{s.name}{state}" if s.enabled else f"{s.name} (off)")
            bar.setValue(int(1000 * s.ms_mean / slowest) if s.enabled else 0)
            errors = f"  ⚠ {s.errors}" if s.errors else ""
            ms.setText(f"{s.ms_mean:6.2f} ms  p95 {s.ms_p95:6.2f}{errors}" if s.enabled else "bypassed")
            kept = s.status.counts if s.status and s.enabled else {}
            counts.setText(counts_text(kept))
            counts.setToolTip(counts_tooltip(kept))
