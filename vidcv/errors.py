"""User-facing errors: each message says what was wrong and what to do about it."""

import errno

from vidcv.redact import redact


class VidcvError(Exception):
    """Base of every error vidcv reports to a user as one line, without a traceback. Its message never holds a
    source's credentials: a URL in it is shown as ``rtsp://***@host/path``."""

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (redact(args[0]), *args[1:])
        super().__init__(*args)


class SourceError(VidcvError):
    """A source could not be opened or stopped delivering frames."""


class TruncatedVideoError(SourceError):
    """A video ended before its header said it would: the frames before the damage were processed."""


class ParamError(VidcvError, ValueError):
    """A plugin parameter got a value of the wrong type or outside its allowed range."""


class PluginError(VidcvError):
    """A plugin is unknown, failed to import, or was declared wrongly."""


class PresetError(VidcvError):
    """A preset file is unreadable or does not match the plugin declarations."""


class OutputError(VidcvError):
    """An output cannot be written where or how it was asked for."""


#: the errors that mean a place cannot be written because it is read-only to vidcv, in the words a user reads
READ_ONLY = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
}
WRITE_FIX = "choose another output path"


def read_only(path: str, why: str, fix: str = WRITE_FIX) -> OutputError:
    """The one wording for a file or folder that cannot be written because it is read-only, whatever made it
    so: ``cannot write to PATH: it is read-only (permission denied): choose another output path`` (``why``:
    ``permission denied`` or ``read-only file system``)."""
    return OutputError(f"cannot write to {path}: it is read-only ({why}): {fix}")


def write_error(path: str, exc: OSError, fix: str = WRITE_FIX) -> OutputError:
    """The one line for ``exc``, raised writing ``path``: a read-only place (no permission: EACCES, EPERM; a
    read-only file system: EROFS) in the words of ``read_only``, anything else as ``cannot write PATH: REASON
    (FIX)``."""
    why = READ_ONLY.get(exc.errno or 0)
    if why is not None:
        return read_only(path, why, fix)
    return OutputError(f"cannot write {path}: {exc.strerror or exc} ({fix})")


def error_line(error: BaseException) -> str:
    """An exception as the one line a user reads, for every command and job: a vidcv error's own message; an
    OpenCV assertion as ``OpenCV: what failed, in which function`` (its message spans lines and its type is
    plain ``error``); anything else as its type and message. Credentials masked. A newline or another control
    character in it (a file name's) stays as it is: printing escapes it (``vidcv.cli.output.say``), so that
    the line stays one and says exactly which name."""
    text = str(error)
    if isinstance(error, VidcvError):
        return text
    if type(error).__module__ == "cv2" or (type(error).__name__ == "error" and "OpenCV" in text):
        what = next((line.split(" error: ", 1)[1] for line in text.splitlines() if " error: " in line), text)
        return redact(f"OpenCV: {what.strip()}")
    return redact(f"{type(error).__name__}: {text}" if text else type(error).__name__)
