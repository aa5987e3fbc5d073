"""The one place that takes credentials out of a source before vidcv shows or writes it.

Every writer and printer of a source (its ``label``, logs, stats, dataset manifests and file names, error
messages, the GUI's title and recent list) goes through :func:`redact`. It works on a bare SOURCE and on any
text that contains one, whatever the scheme (``foo://user:secret@host/x`` too) and however malformed the URL
(``rtsp://u:p@[::1:9/x``): it never parses the URL, so it cannot fail on one.
"""

from __future__ import annotations

import logging
import re

from vidcv.printable import printable

#: what stands in for the user info and for secret query values
MASK = "***"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# In a text, a URL runs from its scheme to the first blank or quote; its user info, up to the last "@" before
# a blank or /, may hold quotes, ? and #.
_URL = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?:[^\s/]*@)?[^\s'\"<>`]*")
# Query parameters that carry a secret (cameras often take ?user=admin&password=...).
# Any name holding one of the words below counts (passphrase, client_secret, auth_token, passkey, ...):
# masking a value that was no secret costs less than printing one that was.
_SECRET_QUERY = re.compile(
    r"([?&;](?:user(?:name)?|login|[\w.-]*(?:pass|pwd|secret|token|auth|key|sig|cred)[\w.-]*)=)"
    r"[^&#;\s'\"]*?(?=[&#;\s'\"]|:\s|:$|$)",  # up to the ": " of a message that quotes the URL
    re.IGNORECASE,
)


def _strip_userinfo(url: str) -> str:
    """``url`` (which starts with its scheme) with everything before the last "@" of its authority masked."""
    scheme = _SCHEME.match(url)
    if scheme is None:
        return url
    rest = url[scheme.end() :]
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    at = rest.rfind("@", 0, end)
    if at < 0 and not rest.startswith("["):
        # A password holding "/" (rtsp://admin:pa/ss@cam/x) ends the authority early, at a "port" that is no
        # number: mask up to the "@" that follows, before the query. One holding "?" or "#" (rtsp://admin:pa#ss@
        # cam/x) ends it at that: mask up to the "@" before the path.
        port = rest[:end].partition(":")[2]
        if (port and not port.isdigit()) or rest[end : end + 1] in ("?", "#"):
            query = next((i for i, c in enumerate(rest) if c in "?#"), len(rest))
            at = rest.rfind("@", 0, query)
            if at < 0:
                slash = rest.find("/")
                at = rest.rfind("@", 0, slash if slash >= 0 else len(rest))
    if at < 0:
        return url
    return f"{scheme[0]}{MASK}@{rest[at + 1 :]}"


def _redact_url(match: re.Match[str]) -> str:
    return _SECRET_QUERY.sub(rf"\1{MASK}", _strip_userinfo(match[0]))


def redact(text: str) -> str:
    """``text`` with the user info (name and password) of every URL in it replaced by ``***``, and secret
    query values (``password=``, ``token=``, ...) too: ``http://user:secret@host/x?pwd=1`` becomes
    ``http://***@host/x?pwd=***``. Text without a URL comes back unchanged."""
    if "://" not in text:
        return text
    # A SOURCE that is a URL is one URL to its end, blanks included (a password may hold one).
    return _URL.sub(_redact_url, _strip_userinfo(text))


def redact_log_record(record: logging.LogRecord) -> bool:
    """A logging filter (``handler.addFilter(redact_log_record)``): the record's message, redacted and with its
    control characters escaped (a name from a file in it cannot drive the terminal); left as it was otherwise."""
    message = record.getMessage()
    clean = printable(redact(message))
    if clean != message:
        record.msg, record.args = clean, None
    return True
