"""The readout's source row: a live source's outages (how often it went away, for how long, how often it came
back), live from the run's statistics; nothing of the kind for a file."""

import re
import threading

import numpy as np
import pytest

from vidcv.events import SourceState
from vidcv.frame import Frame
from vidcv.sources.base import Source
from vidcv.stats import OutageSummary

pytestmark = pytest.mark.timeout(60)


class FlakyStream(Source):
    """A live source that goes away as a stream does, reporting it: after frame 3 it is back after 50 ms;
    after frame 6 it stays away until ``release`` is set; then it delivers until stopped."""

    live = True

    def __init__(self, spec):
        super().__init__(spec)
        self.fps, self.size_wh = 30.0, (64, 48)
        self.i = 0
        self.away = threading.Event()
        self.release = threading.Event()

    def _open(self):
        pass

    def read(self):
        if self.stopping:
            return None
        if self.i in (3, 6):
            self._set_state(SourceState.RECONNECTING, "dropped; attempt 1 in 0.0 s")
            if self.i == 3:
                self.wait(0.05)
            else:
                self.away.set()
                while not self.release.is_set() and not self.stopping:
                    self.wait(0.01)
            self._set_state(SourceState.OPEN, "reconnected")
        self.wait(1 / 30)
        self.i += 1
        return Frame(np.full((48, 64, 3), self.i % 255, np.uint8), self.i - 1, (self.i - 1) * 1000 / 30)


def test_the_source_row_shows_outages_while_they_last_and_after(qtbot, window, monkeypatch):
    made = []

    def parse_source(spec):
        made.append(FlakyStream(spec))
        return made[-1]

    monkeypatch.setattr("vidcv.ui.session.parse_source", parse_source)
    assert window.open_source("rtsp://cam.local/live")
    source_row = window.readout.labels["source"]
    qtbot.waitUntil(lambda: made[0].away.is_set(), timeout=10000)
    qtbot.waitUntil(lambda: "reconnecting" in source_row.text(), timeout=10000)
    assert " · away 2× " in source_row.text() and "1 reconnected" in source_row.text()
    assert source_row.styleSheet() == "color: #d33;"
    made[0].release.set()
    qtbot.waitUntil(lambda: "2 reconnected" in source_row.text(), timeout=10000)
    assert "reconnecting" not in source_row.text() and source_row.styleSheet() == ""
    assert re.fullmatch(r"\d+\.\d fps · away 2× \d+\.\d s \(longest \d+\.\d s\), 2 reconnected", source_row.text())
    assert "how often it came back" in source_row.toolTip()


def test_the_outage_text():
    from vidcv.ui.readout import outage_text

    assert outage_text(None) == "" and outage_text(OutageSummary(0, 0, 0.0, 0.0)) == ""
    assert (
        outage_text(OutageSummary(2, 1, 9.3, 5.0, True, 4.2))
        == "reconnecting 4 s · away 2× 9.3 s (longest 5.0 s), 1 reconnected"
    )
    assert outage_text(OutageSummary(1, 1, 0.25, 0.25)) == "away 1× 0.2 s (longest 0.2 s), 1 reconnected"


def test_a_file_shows_no_outage_figures(qtbot, window):
    from vidcv.bundled import sample_video

    assert window.open_source(sample_video())
    qtbot.waitUntil(lambda: window.readout.labels["source"].text().endswith(" fps"), timeout=10000)
    assert "away" not in window.readout.labels["source"].text()
