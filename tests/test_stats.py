import numpy as np
import pytest

from vidcv.stats import DurationStats, RateMeter, RunSummary, StageSummary, format_table, percentile


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
def test_percentile_matches_numpy(n):
    values = np.random.default_rng(n).exponential(3.0, n)
    for q in (0, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q), abs=1e-12)


def test_duration_stats_whole_run_and_recent_window():
    d = DurationStats(window=10)
    for ms in range(1, 101):
        d.add(float(ms))
    assert d.count() == 100
    assert d.summary() == (pytest.approx(50.5), pytest.approx(np.percentile(np.arange(1, 101), 95)))
    assert d.summary(recent=True)[0] == pytest.approx(95.5)
    assert DurationStats().summary() == (0.0, 0.0)


def test_rate_meter_counts_events_per_second_in_its_window():
    r = RateMeter(window_s=2.0)
    for i in range(31):
        r.tick(100.0 + i / 30)
    assert r.rate(101.0) == pytest.approx(30.0, rel=0.01)
    assert r.rate(110.0) == 0.0  # old events age out


def test_table_and_json():
    s = RunSummary(10, 12, 0.5, 20.0, 2, 24.0, 3.0, 5.0,
                   [StageSummary("blur", "blur", True, 10, 10, 0, 1.5, 2.0, 666.7),
                    StageSummary("canny", "canny", False, 0, 0, 0, 0.0, 0.0, 0.0)])
    table = format_table(s)
    assert "blur" in table and "canny (off)" in table and "10 frames in 0.50 s = 20.0 fps, 2 dropped" in table
    assert "frame age 3.0 ms mean / 5.0 ms p95" in table
    doc = s.to_dict()
    assert doc["frames"] == 10 and doc["dropped"] == 2 and doc["stages"][0]["ms_p95"] == 2.0
    assert doc["frame_age_ms_mean"] == 3.0
    assert "no stages" in format_table(RunSummary(1, 1, 1.0, 1.0, 0, 1.0, None, None))
