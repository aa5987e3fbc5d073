"""Writing files so that a reader never sees half of one: a temporary name, then a rename."""

from __future__ import annotations

import os


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path.partial`` and rename it to ``path`` (creating the folder)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.partial"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
