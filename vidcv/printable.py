"""Text from files (class names, model metadata, file and plugin names) as vidcv prints it: control characters
escaped, so that a name can neither move the cursor, clear the screen, set the terminal's title, split a line nor
reverse its direction.
"""

from __future__ import annotations

import unicodedata

#: Unicode categories escaped: controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width
#: joiners, the soft hyphen), line and paragraph separators, and lone surrogates (a file name's undecodable bytes)
ESCAPED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(char: str) -> str:
    """One character as Python writes it in a string literal: ``\\n``, ``\\x1b``, ``\\u202e``, ``\\U000e0001``."""
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character of the ESCAPED categories escaped; letters of any script (accented, CJK),
    spaces and backslashes stay as they are, so text without such characters comes back unchanged."""
    if text.isprintable():  # nothing to escape (isprintable is False for every category of ESCAPED)
        return text
    return "".join(escape(c) if unicodedata.category(c) in ESCAPED else c for c in text)
