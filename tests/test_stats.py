import numpy as np
import pytest

from vidcv.stats import DurationStats, OutageSummary, RateMeter, RunSummary, StageSummary, format_table, percentile


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
    s = RunSummary(
        10,
        12,
        0.5,
        20.0,
        2,
        24.0,
        3.0,
        5.0,
        [
            StageSummary("blur", "blur", True, 10, 10, 0, 1.5, 2.0, 666.7),
            StageSummary("canny", "canny", False, 0, 0, 0, 0.0, 0.0, 0.0),
        ],
    )
    table = format_table(s)
    assert "blur" in table and "canny (off)" in table and "10 frames in 0.50 s = 20.0 fps, 2 dropped" in table
    assert "frame age 3.0 ms mean / 5.0 ms p95" in table
    doc = s.to_dict()
    assert doc["frames"] == 10 and doc["dropped"] == 2 and doc["stages"][0]["ms_p95"] == 2.0
    assert doc["frame_age_ms_mean"] == 3.0
    assert "no stages" in format_table(RunSummary(1, 1, 1.0, 1.0, 0, 1.0, None, None))


def test_a_long_run_keeps_its_timings_in_bounded_memory():
    import tracemalloc

    d = DurationStats(window=120, exact_limit=4096)
    values = np.random.default_rng(1).lognormal(1.0, 0.6, 200_000)
    tracemalloc.start()
    try:
        for ms in values[:20_000]:
            d.add(float(ms))
        before = tracemalloc.get_traced_memory()[0]
        for ms in values[20_000:]:
            d.add(float(ms))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert d.count() == 200_000 and not d.exact
    assert grown < 1024  # 180,000 more values: nothing more is kept (it was 8 bytes a value: 1.4 MB)


def test_the_whole_run_p95_from_the_histogram_is_within_half_a_percent():
    rng = np.random.default_rng(7)
    for values in (
        rng.lognormal(1.0, 0.8, 50_000),
        rng.exponential(3.0, 50_000) + 0.01,
        np.concatenate([np.full(47_000, 2.0), np.full(3_000, 40.0)]),
    ):
        d = DurationStats(exact_limit=1000)
        for ms in values:
            d.add(float(ms))
        mean, p95 = d.summary()
        assert mean == pytest.approx(values.mean(), rel=1e-9)  # the mean is exact: a running sum
        assert p95 == pytest.approx(np.percentile(values, 95), rel=0.005)
        assert d.summary(recent=True)[0] == pytest.approx(values[-120:].mean())


def test_a_short_run_p95_is_exact_and_odd_values_have_a_bucket():
    d = DurationStats(exact_limit=4096)
    for ms in (0.0, -1.0, 1e-9, 3.0, 1e12):
        d.add(ms)
    assert d.exact and d.summary()[1] == pytest.approx(np.percentile([0.0, -1.0, 1e-9, 3.0, 1e12], 95))
    assert DurationStats.bucket(0.0) == DurationStats.bucket(-1.0) == 0
    assert DurationStats.bucket(1e12) == DurationStats.BUCKETS - 1
    assert DurationStats.bucket(float("nan")) == 0
    for ms in (0.002, 1.0, 33.3, 9e6):
        low = DurationStats.bucket_value(DurationStats.bucket(ms))
        assert low == pytest.approx(ms, rel=0.005)


def test_outages_are_counted_with_the_current_one_included():
    from vidcv.stats import OutageMeter

    m = OutageMeter()
    m.back(now=1.0)  # a first OPEN: no outage
    assert m.summary(now=1.0) == OutageSummary(0, 0, 0.0, 0.0, False, 0.0)
    m.away(now=10.0)
    m.away(now=11.0)  # the next attempt of the same outage
    assert m.summary(now=12.0) == OutageSummary(1, 0, 2.0, 2.0, True, 2.0)
    m.back(now=14.0)
    m.away(now=20.0)
    m.ended(now=21.0)  # gave up: not a reconnection
    assert m.summary(now=30.0) == OutageSummary(2, 1, 5.0, 4.0, False, 0.0)


def test_outages_go_into_the_json_and_the_table():
    s = RunSummary(10, 12, 0.5, 20.0, 2, 24.0, 3.0, 5.0, [], OutageSummary(3, 2, 41.25, 20.0, True, 1.5))
    doc = s.to_dict()
    assert (doc["outages"], doc["reconnects"], doc["outage_s_total"], doc["outage_s_longest"]) == (3, 2, 41.25, 20.0)
    assert "source away 3 times for 41.2 s (longest 20.0 s), 2 reconnected" in format_table(s)
    quiet = RunSummary(1, 1, 1.0, 1.0, 0, 1.0, 2.0, 3.0, [], OutageSummary(0, 0, 0.0, 0.0))
    assert quiet.to_dict()["outages"] == 0 and "away" not in format_table(quiet)
    assert "outages" not in RunSummary(1, 1, 1.0, 1.0, 0, 1.0, None, None).to_dict()  # a file: none
