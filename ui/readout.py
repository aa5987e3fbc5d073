"""The live readout: source, processed and displayed fps (a live source's outages beside its fps), per-stage
milliseconds as bars, drops, frame age, and the decode when it is the opt-in luma path."""

from __future__ import annotations

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
        self.stage_rows: list[tuple[QLabel, QProgressBar, QLabel]] = []
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
            name, bar, ms = QLabel(), QProgressBar(), QLabel()
            bar.setTextVisible(False)
            bar.setMaximumHeight(10)
            bar.setRange(0, 1000)
            self.stage_grid.addWidget(name, row, 0)
            self.stage_grid.addWidget(bar, row, 1)
            self.stage_grid.addWidget(ms, row, 2)
            self.stage_rows.append((name, bar, ms))
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
        for (name, bar, ms), s in zip(self.stage_rows, stages):
            state = f" · {s.status.state}" if s.status and s.status.state else ""
            name.setText(f"{s.name}{state}" if s.enabled else f"{s.name} (off)")
            bar.setValue(int(1000 * s.ms_mean / slowest) if s.enabled else 0)
            errors = f"  ⚠ {s.errors}" if s.errors else ""
            ms.setText(f"{s.ms_mean:6.2f} ms  p95 {s.ms_p95:6.2f}{errors}" if s.enabled else "bypassed")
