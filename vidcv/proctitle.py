"""Credentials out of the process's own command line, which every user of the machine reads (``ps``,
``/proc/PID/cmdline``).

``vidcv run rtsp://admin:secret@cam/x`` would show the password for the whole run. On Linux,
:func:`redact_command_line` overwrites the process's original argument strings (the memory that
``/proc/PID/cmdline`` reads, from ``arg_start`` to ``arg_end`` in ``/proc/self/stat``) with their redacted
form, ``rtsp://***@cam/x``. ``sys.argv`` is Python's own copy: the command still reads the real URL. It
runs once the interpreter has started, so for that first moment the password is visible; ``env:NAME`` and
``@FILE`` (``vidcv.sources.reference``) keep it off the command line altogether. Elsewhere (not Linux, no
``/proc``, a layout it does not recognise) it does nothing.
"""

from __future__ import annotations

import os
import sys

from vidcv.redact import redact

#: proc(5)'s numbers (from 1) of the fields of /proc/PID/stat that bound the argument strings
ARG_START_FIELD, ARG_END_FIELD = 48, 49


def argv_span(stat: bytes) -> tuple[int, int] | None:
    """(arg_start, arg_end) from the text of ``/proc/PID/stat``, or None when it has no such fields. Field 2,
    the command's name, may hold blanks and parentheses: the fields are counted after its last ")"."""
    close = stat.rfind(b")")
    if close < 0:
        return None
    fields = stat[close + 1 :].split()  # from field 3 on
    try:
        start, end = int(fields[ARG_START_FIELD - 3]), int(fields[ARG_END_FIELD - 3])
    except (IndexError, ValueError):
        return None
    return (start, end) if 0 < start < end else None


def redacted_command_line(cmdline: bytes) -> bytes | None:
    """``cmdline`` (NUL-terminated arguments, as ``/proc/PID/cmdline`` holds them) with every argument
    redacted, NUL-padded to the same length; None when no argument holds credentials or it is no such list.
    A result that would be longer (``rtsp://u@h`` -> ``rtsp://***@h``) is cut, its last byte NUL."""
    if not cmdline.endswith(b"\0"):
        return None  # rewritten already, past its end (setproctitle)
    args = [os.fsdecode(arg) for arg in cmdline[:-1].split(b"\0")]
    redacted = [redact(arg) for arg in args]
    if redacted == args:
        return None
    new = b"\0".join(os.fsencode(arg) for arg in redacted) + b"\0"
    if len(new) > len(cmdline):
        new = new[: len(cmdline) - 1] + b"\0"
    return new.ljust(len(cmdline), b"\0")


def redact_command_line() -> bool:
    """Overwrite this process's argument strings with their redacted form, so that ``ps`` and
    ``/proc/PID/cmdline`` show no credentials; True when it did. Only on Linux, and only when the memory
    between arg_start and arg_end holds exactly what ``/proc/self/cmdline`` reads; otherwise nothing."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/self/cmdline", "rb") as fh:
            cmdline = fh.read()
        with open("/proc/self/stat", "rb") as fh:
            span = argv_span(fh.read())
    except OSError:
        return False
    if span is None or span[1] - span[0] != len(cmdline):
        return False
    new = redacted_command_line(cmdline)
    if new is None:
        return False
    import ctypes  # here: only a command line with credentials pays for it at start-up

    start, end = span
    if ctypes.string_at(start, end - start) != cmdline:
        return False
    ctypes.memmove(start, new, end - start)
    return True
