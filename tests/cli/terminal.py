"""Test helper: run the vidcv command with its stderr on a pseudo-terminal, so that its progress bar draws and
tells how many frames were written (an mp4 being written does not grow on disk until it is finalised)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable


def spawn_on_terminal(cmd: list[str], **kw) -> tuple[subprocess.Popen, int]:
    """Start ``cmd`` with stderr on a new pty (160 columns: a pty of 0 columns makes tqdm draw nothing);
    returns the process and the pty's master end, to read with ``read_until`` and close."""
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    proc = subprocess.Popen(cmd, stderr=terminal, **kw)
    os.close(terminal)
    return proc, master


def read_until(fd: int, buf: bytearray, done: Callable[[bytearray], bool], deadline: float) -> bool:
    """Append what ``fd`` gives to ``buf`` until ``done(buf)`` or end of file; False at the deadline."""
    while not done(buf):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if select.select([fd], [], [], left)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: every holder of the terminal's other end closed it (the process ended)
                chunk = b""
            if not chunk:
                return True
            buf += chunk
    return True


def frames_shown(buf: bytes) -> int:
    """The highest frame count the progress bar has drawn (``37frame [00:01, 30.1frame/s, ...]``)."""
    return max((int(n) for n in re.findall(rb"(?<![\d.])(\d+)frame \[", bytes(buf))), default=0)
