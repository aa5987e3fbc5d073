"""What the command line prints: text that may hold names from files (class names, file names, camera and plugin
names, model metadata) goes out with its control characters escaped (``vidcv.printable``)."""

from __future__ import annotations

import sys
from typing import TextIO

from vidcv.printable import printable


def say(line: object = "", file: TextIO | None = None, flush: bool = False) -> None:
    """Print one line, every control character in it escaped (a newline in a name cannot split it)."""
    print(printable(str(line)), file=file or sys.stdout, flush=flush)


def say_block(text: str, file: TextIO | None = None) -> None:
    """Print several lines (a table, a summary), each escaped as ``say`` does."""
    print("\n".join(printable(line) for line in text.split("\n")), file=file or sys.stdout)
