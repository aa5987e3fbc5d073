"""Strings from files are printed with control characters escaped (vidcv/printable.py): the function, the log
filter, and `vidcv plugins` on a plugin whose names and texts hold terminal escapes."""

from __future__ import annotations

import logging
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidcv.printable import ESCAPED, printable
from vidcv.redact import redact_log_record


@pytest.mark.parametrize(
    "text, shown",
    [
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),  # sets the terminal's title
        ("\x1b[2J", "\\x1b[2J"),  # clears the screen
        ("a\rb\nc\td", "a\\rb\\nc\\td"),
        ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),  # NUL, DEL, C1's CSI
        ("abc\u202edef", "abc\\u202edef"),  # right-to-left override
        ("\u2066x\u2069\u200b\u00ad\ufeff", "\\u2066x\\u2069\\u200b\\xad\\ufeff"),  # isolates, zero width, soft hyphen
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("\U000e0001tag", "\\U000e0001tag"),
        ("bad\udcffbyte", "bad\\udcffbyte"),  # a file name's undecodable byte (surrogateescape)
    ],
)
def test_controls_are_escaped(text, shown):
    assert printable(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "",
        "circle",
        "café crème",
        "東京タワー",
        "Ölçü ışık",
        "C:\\models\\x.onnx",
        "a\u00a0b\u3000c",
        "emoji 🚗",
        "שלום",
    ],
)
def test_ordinary_text_is_unchanged(text):
    assert printable(text) == text


@given(st.text())
def test_no_control_character_is_left(text):
    out = printable(text)
    assert not any(unicodedata.category(c) in ESCAPED for c in out)
    assert printable(out) == out


@given(st.text(st.characters(blacklist_categories=tuple(ESCAPED))))
def test_text_without_controls_comes_back_unchanged(text):
    assert printable(text) == text


def test_the_log_filter_escapes_and_redacts_the_message():
    record = logging.LogRecord(
        "vidcv",
        logging.WARNING,
        __file__,
        1,
        "cannot read %s from %s",
        ("na\x1b[2Jme\n", "rtsp://user:secret@cam/x"),
        None,
    )
    assert redact_log_record(record) is True
    assert record.getMessage() == "cannot read na\\x1b[2Jme\\n from rtsp://***@cam/x"
    plain = logging.LogRecord("vidcv", logging.INFO, __file__, 1, "%d frames", (5,), None)
    assert redact_log_record(plain) and plain.args == (5,)  # left as it was


def test_plugins_lists_names_from_installed_packages_escaped(registry, monkeypatch, capsys):
    from vidcv import registry as registry_module
    from vidcv.cli.main import main
    from vidcv.params import Text
    from vidcv.plugin import Plugin
    from vidcv.registry import PluginEntry

    class Evil(Plugin):
        name = "evil\x1b]0;pwned\x07"
        category = "point"
        summary = "clears\x1b[2J the screen\r\nreversed\u202e"
        params = (Text("label", "x", help="a\x1b[31m red help"),)

        def process(self, frame):
            return frame

    registry.register(Evil)
    registry._entries["broken\x1b[2J"] = PluginEntry("broken\x1b[2J", "no_such_module_\x1b[2J:Thing")
    monkeypatch.setattr(registry_module, "default_registry", lambda: registry)
    for argv in (["plugins"], ["plugins", "--markdown"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "evil\\x1b]0;pwned\\x07" in out and not any(c in out for c in "\x1b\x07\r\u202e"), (argv, out)
        assert "a\\x1b[31m red help" in out and "No module named 'no_such_module_\\x1b[2J'" in out
    main(["plugins"])
    out = capsys.readouterr().out
    assert "  evil\\x1b]0;pwned\\x07 clears\\x1b[2J the screen\\r\\nreversed\\u202e\n" in out
    assert "BROKEN broken\\x1b[2J (no_such_module_\\x1b[2J:Thing): ModuleNotFoundError" in out
