"""User-facing errors: each message says what was wrong and what to do about it."""

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
