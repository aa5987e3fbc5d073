import threading
import time

import pytest

from vidcv.errors import ParamError
from vidcv.frame import Frame
from vidcv.params import Bool, Choice, Color, FilePath, Float, Int, Ints, Text
from vidcv.plugin import Plugin


@pytest.mark.parametrize(
    "param, good, bad, words",
    [
        (Int("k", 3, 1, 9), [1, 9], [0, 10, 2.5, "3", True], "an integer from 1 to 9"),
        (Int("k", 3, 1, 9, odd=True), [1, 3, 9], [2, 4], "an odd integer from 1 to 9"),
        (Float("s", 0.5, 0.0, 1.0), [0, 0.25, 1], [-0.1, 1.5, "x", float("nan"), False], "a number from 0 to 1"),
        (Bool("b", False), [True, False], [0, 1, "yes"], "true or false"),
        (Choice("c", "a", ("a", "b")), ["a", "b"], ["c", 1, None], "one of a, b"),
        (Text("t"), ["", "x"], [1, None], "a text"),
        (FilePath("f"), ["x.xml"], [3], "a file path"),
        (Color("rgb", (0, 0, 255)), [[1, 2, 3]], [[1, 2], [0, 0, 256], "red"], "three integers 0..255"),
        (
            Ints("lo", (0, 0, 0), 0, 255),
            [[0, 10, 255]],
            [[0, 0, 0, 0], [0, -1, 0], [0, 0.5, 0]],
            "a list of 3 integers",
        ),
    ],
)
def test_validation_accepts_and_rejects_with_clear_message(param, good, bad, words):
    for value in good:
        param.validate(value)
    for value in bad:
        with pytest.raises(ParamError) as info:
            param.validate(value)
        assert f"'{param.name}'" in str(info.value) and words in str(info.value)


def test_float_accepts_ints_and_canonicalises():
    assert Float("s", 1, 0, 10).validate(3) == 3.0 and isinstance(Float("s", 1).validate(3), float)


def test_bad_defaults_and_kinds_are_programming_errors():
    with pytest.raises(ValueError, match="default"):
        Int("k", 4, 1, 9, odd=True)
    with pytest.raises(ValueError, match="unknown kind"):
        from vidcv.params import Param

        Param("x", "weird", 1)


def test_declaration_to_dict():
    d = Int("ksize", 5, 1, 99, odd=True, help="kernel").to_dict()
    assert d == {
        "name": "ksize",
        "type": "int",
        "default": 5,
        "help": "kernel",
        "minimum": 1,
        "maximum": 99,
        "step": 2,
        "odd": True,
    }


class Pair(Plugin):
    """Records the values it saw at the start and the end of each frame."""

    name = "pair"
    params = (Int("a", 0, 0, 10**9), Int("b", 0, 0, 10**9))

    def setup(self):
        self.seen = []

    def on_params_changed(self, changed):
        pass

    def process(self, frame):
        first = (self.p.a, self.p.b)
        time.sleep(0.0005)
        self.seen.append((first, (self.p.a, self.p.b)))
        return frame


def test_plugin_rejects_unknown_parameters():
    with pytest.raises(ParamError, match="no parameter 'c'.*a, b"):
        Pair(c=1)
    with pytest.raises(ParamError, match="no parameter 'zz'"):
        Pair().set_param("zz", 1)
    with pytest.raises(ParamError, match="'a'"):
        Pair().set_param("a", -1)


def test_edits_from_another_thread_apply_between_frames():
    import numpy as np

    plugin = Pair()
    stop = threading.Event()

    def editor():
        i = 0
        while not stop.is_set():
            i += 1
            plugin.set_param("a", i)
            plugin.set_param("b", i)

    thread = threading.Thread(target=editor)
    thread.start()
    frame = Frame(np.zeros((4, 4, 3), np.uint8), 0, 0.0)
    try:
        for _ in range(300):
            plugin.apply_pending()
            plugin.process(frame)
    finally:
        stop.set()
        thread.join()
    assert all(start == end for start, end in plugin.seen)  # one consistent set per frame
    assert len({s for s, _ in plugin.seen}) > 1  # and the edits did arrive
    plugin.set_param("a", 7)
    assert plugin.p.a != 7 and plugin.values()["a"] == 7  # queued until the next frame
    plugin.apply_pending()
    assert plugin.p.a == 7


def test_shown_values_stay_short_whatever_their_size():
    from vidcv.params import shown

    assert shown(10**400) == "<an integer of 401 digits>"
    assert shown(-(10**5000)) == "<an integer of 5001 digits>"  # str() would refuse over 4300 digits
    assert shown(12345) == "12345"
    nested: list = []
    for _ in range(2000):
        nested = [nested]
    for value in ("a" * 200_000, list(range(100_000)), nested, dict.fromkeys(range(1000), "x" * 1000)):
        assert len(shown(value)) <= 80


@pytest.mark.parametrize(
    "param, value, words",
    [
        (
            Int("n", 1, 0),
            10**400,
            (
                "'n' = <an integer of 401 digits> is not allowed: expected an integer >= 0 "
                "(integers go from -2147483648 to 2147483647)"
            ),
        ),
        (Int("n", 1, 0), 2**31, "(integers go from -2147483648 to 2147483647)"),
        (Int("k", 3, 1, 9), 10**400, "expected an integer from 1 to 9"),
        (Float("x", 1.0), 10**400, "'x' = <an integer of 401 digits> is not allowed: expected a number"),
        (Float("x", 1.0, 0.0, 1.0), -(10**400), "expected a number from 0 to 1"),
        (Ints("r", (0, 0)), [1, 10**30], "expected a list of 2 integers (integers go from"),
        (Text("t"), ["x" * 100_000], "'t' = ['xxxxxxxx"),
    ],
)
def test_huge_values_are_refused_in_one_short_line(param, value, words):
    with pytest.raises(ParamError) as info:  # not OverflowError, not a 400-digit echo
        param.validate(value)
    message = str(info.value)
    assert words in message and len(message) < 200, message
