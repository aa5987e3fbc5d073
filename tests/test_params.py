import threading
import time

import pytest

from vidcv.errors import ParamError
from vidcv.frame import Frame
from vidcv.params import Bool, Choice, Color, FilePath, Float, Int, Ints, Text
from vidcv.plugin import Plugin


@pytest.mark.parametrize("param, good, bad, words", [
    (Int("k", 3, 1, 9), [1, 9], [0, 10, 2.5, "3", True], "an integer from 1 to 9"),
    (Int("k", 3, 1, 9, odd=True), [1, 3, 9], [2, 4], "an odd integer from 1 to 9"),
    (Float("s", 0.5, 0.0, 1.0), [0, 0.25, 1], [-0.1, 1.5, "x", float("nan"), False], "a number from 0 to 1"),
    (Bool("b", False), [True, False], [0, 1, "yes"], "true or false"),
    (Choice("c", "a", ("a", "b")), ["a", "b"], ["c", 1, None], "one of a, b"),
    (Text("t"), ["", "x"], [1, None], "a text"),
    (FilePath("f"), ["x.xml"], [3], "a file path"),
    (Color("rgb", (0, 0, 255)), [[1, 2, 3]], [[1, 2], [0, 0, 256], "red"], "three integers 0..255"),
    (Ints("lo", (0, 0, 0), 0, 255), [[0, 10, 255]], [[0, 0, 0, 0], [0, -1, 0], [0, 0.5, 0]], "a list of 3 integers"),
])
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
    assert d == {"name": "ksize", "type": "int", "default": 5, "help": "kernel", "minimum": 1, "maximum": 99,
                 "step": 2, "odd": True}


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
