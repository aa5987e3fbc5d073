"""A SOURCE given by reference, so that a stream's password never goes on the command line (``ps`` shows it).

========================  ==========================================================================
SOURCE                    is
========================  ==========================================================================
``env:NAME``              the value of the environment variable NAME (``/proc/PID/environ`` is readable
                          by the same user and root only)
``@FILE``                 the one line of FILE that is neither blank nor a ``#`` comment; the command
                          whose SOURCE it is reads that line (``vidcv batch`` and ``vidcv extract`` read
                          every line of an ``@list.txt``, one input each)
========================  ==========================================================================

The value is taken as it is (an ``env:`` value that starts with ``@`` is a file name, not a list). A FILE
that holds credentials and that its group or other users may read gets a one-line warning (as ssh warns of
a key), once per file, and is used all the same: a group may share a camera's file on purpose, and a
refusal would stop a recording a chmod can fix later. Messages never show the value's credentials.
"""

from __future__ import annotations

import logging
import os
import re
import stat

from vidcv.errors import SourceError
from vidcv.redact import redact

log = logging.getLogger(__name__)

ENV_PREFIX = "env:"
FILE_PREFIX = "@"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_warned: set[str] = set()


def env_value(spec: str) -> str:
    """The value of ``env:NAME``; SourceError, in one line, when NAME is no name, unset or empty."""
    name = spec.strip()[len(ENV_PREFIX) :].strip()
    if not _ENV_NAME.fullmatch(name):
        raise SourceError(
            f"'{spec.strip()}' names no environment variable: write env:NAME, e.g. env:VIDCV_SOURCE "
            "with the stream's URL in VIDCV_SOURCE"
        )
    value = os.environ.get(name)
    if value is None:
        raise SourceError(
            f"env:{name}: the environment variable {name} is not set (export it, holding the "
            "SOURCE, in the shell that runs vidcv)"
        )
    if not value.strip():
        raise SourceError(f"env:{name}: the environment variable {name} is empty")
    return value.strip()


def spec_lines(path: str) -> list[str]:
    """The lines of ``path`` that are neither blank nor ``#`` comments, stripped (OSError as ``open``'s). Warns
    once when the file holds credentials and its group or other users may read it."""
    expanded = os.path.expanduser(path)
    with open(expanded, encoding="utf-8-sig") as fh:
        lines = [line.strip() for line in fh.read().splitlines()]
        mode = os.fstat(fh.fileno()).st_mode
    lines = [line for line in lines if line and not line.startswith("#")]
    key = os.path.abspath(expanded)
    if mode & 0o077 and key not in _warned and any(redact(line) != line for line in lines):
        _warned.add(key)
        log.warning(
            "%s holds a password and other users may read it (mode %04o): chmod 600 %s", path, stat.S_IMODE(mode), path
        )
    return lines


def file_value(spec: str) -> str:
    """The one SOURCE that ``@FILE`` holds; SourceError, in one line, when FILE cannot be read, holds none, or
    holds several."""
    path = spec.strip()[len(FILE_PREFIX) :].strip()
    if not path:
        raise SourceError("'@' names no file: write @FILE, FILE holding the SOURCE on one line")
    try:
        lines = spec_lines(path)
    except OSError as exc:
        raise SourceError(
            f"@{path}: cannot read it ({exc.strerror or type(exc).__name__}); @FILE is a file "
            "that holds the SOURCE on one line"
        ) from None
    except UnicodeDecodeError:
        raise SourceError(f"@{path}: not a text file; @FILE is a file that holds the SOURCE on one line") from None
    if not lines:
        raise SourceError(f"@{path} holds no SOURCE (write it on one line; blank and # lines are skipped)")
    if len(lines) > 1:
        raise SourceError(
            f"@{path} holds {len(lines)} lines and one SOURCE is read here; several video files go "
            f"to vidcv batch @{path} (or vidcv extract)"
        )
    return lines[0]


def resolve_spec(spec: str) -> str:
    """The SOURCE that ``spec`` stands for: the value of ``env:NAME``, the line of ``@FILE``, otherwise
    ``spec`` itself. Never print the result: it may hold a password (``redact`` it)."""
    stripped = spec.strip()
    if stripped.startswith(ENV_PREFIX):
        return env_value(stripped)
    if stripped.startswith(FILE_PREFIX):
        return file_value(stripped)
    return spec


def shown(reference: str, value: str) -> str:
    """How a message names the SOURCE ``value`` read through ``reference``: the reference, with the value
    without its credentials when that can be told (a URL's are masked; text with an @ that is no URL, such as
    a mistyped ``rtsp:/user:pw@host``, is left out)."""
    if "://" in value or "@" not in value:
        return f"{reference} ({redact(value)})"
    return reference
