import logging

import numpy as np
import pytest

from vidcv.frame import Frame
from vidcv.params import Int
from vidcv.pipeline import Pipeline
from vidcv.plugin import Plugin


class AddOne(Plugin):
    name = "add_one"
    params = (Int("by", 1, 0, 100),)

    def process(self, frame):
        return frame.with_image(frame.image + self.p.by)


class FailOnOdd(Plugin):
    name = "fail_on_odd"

    def process(self, frame):
        if frame.index % 2:
            raise RuntimeError(f"odd frame {frame.index}")
        return frame


class ReturnsNone(Plugin):
    name = "returns_none"

    def process(self, frame):
        return None


def frame(index=0, value=0):
    return Frame(np.full((4, 4, 3), value, np.uint8), index, index * 33.3)


def test_stages_run_in_order_and_disabled_ones_are_bypassed():
    p = Pipeline([AddOne(by=1), AddOne(by=10)])
    assert int(p.process(frame()).image[0, 0, 0]) == 11
    p.set_enabled(1, False)
    assert int(p.process(frame()).image[0, 0, 0]) == 1
    p.move(1, 0)
    p.set_enabled(0, True)
    p.remove(1)
    assert int(p.process(frame()).image[0, 0, 0]) == 10
    p.set_param(0, "by", 3)
    assert int(p.process(frame()).image[0, 0, 0]) == 3


def test_a_failing_stage_is_reported_and_bypassed(caplog):
    p = Pipeline([AddOne(by=1), FailOnOdd(), AddOne(by=2)])
    seen = []
    with caplog.at_level(logging.WARNING):
        outs = [p.process(frame(i), seen.append) for i in range(6)]
    assert [int(o.image[0, 0, 0]) for o in outs] == [3] * 6  # the stages around it still ran
    assert [e.frame_index for e in seen] == [1, 3, 5]
    err = seen[0]
    assert err.stage_index == 1 and err.stage_name == "fail_on_odd" and "odd frame 1" in err.message
    assert "stage 1 'fail_on_odd' failed on frame 1: RuntimeError: odd frame 1" in str(err)
    summary = p.summaries()[1]
    assert summary.errors == 3 and summary.frames_in == 6 and summary.frames_out == 3
    assert "odd frame 5" in summary.last_error
    # one line for the three failures: the same error on another frame is counted, not shown again
    logged = [r.getMessage() for r in caplog.records if "fail_on_odd" in r.getMessage()]
    assert logged == [
        (
            "stage 1 'fail_on_odd' failed on frame 1: RuntimeError: odd frame 1 (bypassed for that "
            "frame); more failures like it are counted, not shown"
        )
    ]


class FailTwoWays(Plugin):
    name = "fail_two_ways"

    def process(self, frame):
        if frame.index % 2:
            raise IndexError(f"index {frame.index} is out of bounds for axis 0 with size 3")
        raise ValueError(f"bad value {frame.index * 0.5} at 0x{id(frame):x}")


def test_each_kind_of_error_of_each_stage_is_logged_once(caplog):
    p = Pipeline([FailTwoWays(), FailTwoWays()])
    with caplog.at_level(logging.WARNING):
        for i in range(40):
            p.process(frame(i))
    logged = sorted((r.getMessage().split(":")[0], r.getMessage().split(": ")[1]) for r in caplog.records)
    assert logged == [
        ("stage 0 'fail_two_ways#1' failed on frame 0", "ValueError"),
        ("stage 0 'fail_two_ways#1' failed on frame 1", "IndexError"),
        ("stage 1 'fail_two_ways#2' failed on frame 0", "ValueError"),
        ("stage 1 'fail_two_ways#2' failed on frame 1", "IndexError"),
    ]
    assert [s.errors for s in p.summaries()] == [40, 40]  # every failure is counted


def test_a_stage_returning_garbage_is_an_error_not_a_crash():
    p = Pipeline([ReturnsNone(), AddOne()])
    out = p.process(frame())
    assert int(out.image[0, 0, 0]) == 1
    assert "returned NoneType" in p.summaries()[0].last_error


def test_repeated_plugins_get_numbered_names():
    p = Pipeline([AddOne(), FailOnOdd(), AddOne()])
    assert [p.stage_name(i) for i in range(3)] == ["add_one#1", "fail_on_odd", "add_one#2"]


def test_stats_are_recorded_per_stage():
    p = Pipeline([AddOne()])
    for i in range(20):
        p.process(frame(i))
    s = p.summaries()[0]
    assert s.frames_in == 20 and s.ms_mean > 0 and s.ms_p95 >= s.ms_mean * 0.5 and s.fps > 0


def test_the_source_image_is_kept_untouched():
    f = frame(value=7)
    out = Pipeline([AddOne(by=5)]).process(f)
    assert int(out.image[0, 0, 0]) == 12 and int(out.source_image[0, 0, 0]) == 7


@pytest.mark.parametrize("bad", [-1, 101])
def test_param_edits_are_validated_at_once(bad):
    from vidcv.errors import ParamError

    with pytest.raises(ParamError):
        Pipeline([AddOne()]).set_param(0, "by", bad)


class Model(Plugin):
    """A stage whose set-up loads something that may fail: ``model`` 13 cannot be loaded."""

    name = "model_like"
    params = (Int("model", 1, 0, 100), Int("conf", 0, 0, 100))

    def setup(self):
        if self.p.model == 13:
            raise RuntimeError("model 13 cannot be loaded")
        self.loaded = self.p.model

    def process(self, frame):
        return frame.with_image(frame.image + self.loaded)


def test_a_stage_whose_set_up_failed_passes_frames_through_untouched_never_with_the_earlier_values():
    """A bad model entered while the video runs: every frame after it fails (and passes through untouched)
    until an edit sets the stage up again; the earlier model's results never come back meanwhile."""
    p = Pipeline([Model(model=1)])
    seen = []
    assert int(p.process(frame(0), seen.append).image[0, 0, 0]) == 1
    p.set_param(0, "model", 13)
    outs = [int(p.process(frame(i), seen.append).image[0, 0, 0]) for i in range(1, 4)]
    assert outs == [0, 0, 0]  # untouched, not processed with model 1
    assert [e.frame_index for e in seen] == [1, 2, 3] and "model 13 cannot be loaded" in seen[0].message
    p.set_param(0, "conf", 5)  # an edit that leaves the model as it is sets it up again: still failing
    assert int(p.process(frame(4), seen.append).image[0, 0, 0]) == 0
    p.set_param(0, "model", 2)  # a good model: working again
    assert int(p.process(frame(5), seen.append).image[0, 0, 0]) == 2 and len(seen) == 4
