"""Stage status (vidcv/status.py): the value type, its helpers, and how the pipeline collects it."""

import dataclasses

import numpy as np
import pytest

from vidcv.frame import Frame
from vidcv.params import Int
from vidcv.pipeline import Pipeline
from vidcv.plugin import Plugin
from vidcv.stats import RunSummary, format_table
from vidcv.status import StageStatus, merged_counts, providers

# --- StageStatus ----------------------------------------------------------------------------------------


def test_counts_are_normalised_to_int_and_keys_to_str():
    s = StageStatus(counts={"in": 3.0, 5: "7", "out": np.int64(2)}, figures={1: 0.5})
    assert s.counts == {"in": 3, "5": 7, "out": 2}
    assert all(type(v) is int for v in s.counts.values())
    assert s.figures == {"1": 0.5}


def test_a_bad_count_is_refused():
    with pytest.raises(ValueError):
        StageStatus(counts={"in": "many"})


def test_status_is_frozen_and_does_not_share_the_callers_dict():
    counts = {"in": 1}
    s = StageStatus(counts=counts)
    counts["in"] = 99
    assert s.counts == {"in": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.state = "x"


def test_bool_is_false_when_empty_and_true_when_any_part_is_set():
    assert not StageStatus()
    assert not StageStatus(counts={}, figures={})
    assert StageStatus(provider="CPU")
    assert StageStatus(counts={"in": 0})  # a zero count is still a count
    assert StageStatus(figures={"keypoints": 0.0})
    assert StageStatus(state="lost")


def test_to_dict_only_includes_set_parts():
    assert StageStatus().to_dict() == {}
    assert StageStatus(state="tracking").to_dict() == {"state": "tracking"}
    assert StageStatus(provider="CUDA", counts={"in": 2}).to_dict() == {"provider": "CUDA", "counts": {"in": 2}}
    full = StageStatus("CPU", {"in": 1, "out": 2}, {"contours": 4.0}, "ok").to_dict()
    assert full == {"provider": "CPU", "counts": {"in": 1, "out": 2}, "figures": {"contours": 4.0}, "state": "ok"}
    full["counts"]["in"] = 100  # a copy, not the status's own mapping
    assert StageStatus("CPU", {"in": 1}).to_dict()["counts"] == {"in": 1}


def test_merged_counts_later_stage_wins():
    a = StageStatus(counts={"in": 1, "out": 2})
    b = StageStatus(state="ok")
    c = StageStatus(counts={"out": 5, "total": 9})
    assert merged_counts([a, b, c]) == {"in": 1, "out": 5, "total": 9}
    assert merged_counts([c, a]) == {"in": 1, "out": 2, "total": 9}
    assert merged_counts([]) == {}


def test_providers_dedupes_in_order_from_a_mapping_or_an_iterable():
    statuses = {
        "yolo#1": StageStatus(provider="CUDA"),
        "count": StageStatus(counts={"in": 1}),
        "haar": StageStatus(provider="CPU"),
        "yolo#2": StageStatus(provider="CUDA"),
    }
    assert providers(statuses) == "CUDA, CPU"
    assert providers(list(statuses.values())) == "CUDA, CPU"
    assert providers(s for s in reversed(list(statuses.values()))) == "CUDA, CPU"
    assert providers([StageStatus(provider="CPU"), StageStatus(provider="TENSORRT")]) == "CPU, TENSORRT"
    assert providers({}) == "" and providers([StageStatus()]) == ""


# --- through a pipeline ---------------------------------------------------------------------------------


class Tally(Plugin):
    """Counts the frames it saw; reports the running count, the last index and a state."""

    name = "tally"
    params = (Int("step", 1, 1, 10),)

    def setup(self):
        self.seen = getattr(self, "seen", 0)

    def process(self, frame):
        self.seen += self.p.step
        self.last = frame.index
        return frame.with_image(frame.image)

    def status(self):
        return StageStatus(
            provider="CPU", counts={"seen": self.seen}, figures={"last_index": self.last}, state="counting"
        )


class Quiet(Plugin):
    name = "quiet"

    def process(self, frame):
        return frame

    def status(self):
        return StageStatus()  # empty: reports nothing


class Broken(Plugin):
    name = "broken"

    def process(self, frame):
        raise RuntimeError("nope")

    def status(self):  # never read: the stage failed
        return StageStatus(state="should not appear")


def make_frame(index=0):
    return Frame(np.zeros((4, 4, 3), np.uint8), index, index * 33.3)


def test_the_pipeline_files_each_status_under_the_stage_display_name():
    p = Pipeline([Tally(), Quiet(), Tally(step=10)])
    assert [p.stage_name(i) for i in range(3)] == ["tally#1", "quiet", "tally#2"]
    out = p.process(make_frame(0))
    assert set(out.statuses) == {"tally#1", "tally#2"}  # the empty status reports nothing
    assert out.statuses["tally#1"].counts == {"seen": 1}
    assert out.statuses["tally#2"].counts == {"seen": 10}
    assert out.statuses["tally#2"].figures == {"last_index": 0}
    assert merged_counts(out.statuses.values()) == {"seen": 10}
    assert providers(out.statuses) == "CPU"
    out = p.process(make_frame(1))
    assert out.statuses["tally#1"].counts == {"seen": 2}
    assert out.statuses["tally#2"].counts == {"seen": 20}
    assert out.statuses["tally#1"].figures == {"last_index": 1}


def test_a_single_stage_goes_by_its_plain_name():
    out = Pipeline([Tally()]).process(make_frame())
    assert list(out.statuses) == ["tally"]


def test_a_bypassed_or_failing_stage_reports_nothing_on_that_frame():
    p = Pipeline([Tally(), Tally(step=10), Broken()])
    p.process(make_frame(0))
    p.set_enabled(1, False)
    out = p.process(make_frame(1))
    assert set(out.statuses) == {"tally#1"}
    assert out.statuses["tally#1"].counts == {"seen": 2}
    assert p.stages[1].plugin.seen == 10  # it did not run
    # its last status is still the one from the frame it processed
    assert p.summaries()[1].status.counts == {"seen": 10}
    assert p.summaries()[2].status is None and p.summaries()[2].errors == 2


def test_statuses_of_one_frame_do_not_leak_into_another():
    p = Pipeline([Tally()])
    first = p.process(make_frame(0))
    second = p.process(make_frame(1))
    assert first.statuses["tally"].counts == {"seen": 1}
    assert second.statuses["tally"].counts == {"seen": 2}


def test_summaries_carry_the_last_status_and_the_run_summary_writes_it():
    p = Pipeline([Tally(), Quiet(), Tally(step=3)])
    for i in range(4):
        p.process(make_frame(i))
    summaries = p.summaries()
    assert summaries[0].status == StageStatus("CPU", {"seen": 4}, {"last_index": 3}, "counting")
    assert summaries[0].provider == "CPU"
    assert summaries[1].status is None and summaries[1].provider == ""
    assert summaries[2].status.counts == {"seen": 12}
    run = RunSummary(
        frames=4,
        frames_read=4,
        wall_s=1.0,
        fps=4.0,
        dropped=0,
        source_fps=30.0,
        frame_age_ms_mean=None,
        frame_age_ms_p95=None,
        stages=summaries,
    )
    doc = run.to_dict()
    first, quiet, third = doc["stages"]
    assert first["name"] == "tally#1" and first["plugin"] == "tally"
    assert first["counts"] == {"seen": 4}
    assert first["figures"] == {"last_index": 3}
    assert first["state"] == "counting"
    assert first["provider"] == "CPU"
    assert third["name"] == "tally#2" and third["counts"] == {"seen": 12}
    assert quiet["name"] == "quiet"
    assert not {"counts", "figures", "state", "provider"} & set(quiet)
    assert "tally#1 [CPU]" in format_table(run)
