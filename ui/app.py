"""Entry point of ``vidcv-gui``. The desktop application is built in its own issue; until then this
entry point says so instead of failing with an import error."""

from __future__ import annotations

import sys


def main() -> int:
    print("vidcv-gui: the desktop application is not part of this release yet; use `vidcv run` "
          "(see `vidcv run --help`).", file=sys.stderr)
    return 1
