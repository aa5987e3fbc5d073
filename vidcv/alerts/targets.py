"""The values of ``--webhook URL`` and ``--mqtt HOST:PORT/TOPIC``, checked before a run starts.

A bad value raises :class:`AlertConfigError` with one line naming the problem and the fix. Credentials in a
value go to the receiver (HTTP basic auth, the MQTT CONNECT) and nowhere else: a target's ``label``, and every
message, shows them as ``***``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from vidcv.alerts.base import AlertConfigError
from vidcv.redact import redact

WEBHOOK_FORM = "give http://HOST[:PORT]/PATH or https://..."
MQTT_FORM = "give HOST[:PORT]/TOPIC or mqtt://[USER:PASSWORD@]HOST[:PORT]/TOPIC"
MQTT_PORT = 1883  #: MQTT's port without TLS


@dataclass(frozen=True)
class WebhookTarget:
    """Where events are posted. ``path`` holds the query too; ``label`` is the URL with credentials (and secret
    query values) masked."""

    scheme: str  #: ``http`` or ``https``
    host: str
    port: int
    path: str = field(repr=False)  #: a query may hold a token
    label: str
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    def authorization(self) -> str:
        """The ``Authorization`` header's value for the URL's credentials (HTTP basic), or ""."""
        if not self.username and not self.password:
            return ""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


@dataclass(frozen=True)
class MqttTarget:
    """A broker and the topic events are published to; ``label`` is ``mqtt://HOST:PORT/TOPIC``, credentials
    masked."""

    host: str
    port: int
    topic: str
    label: str
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)


def _has_blank_or_control(text: str) -> bool:
    return any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text)


def parse_webhook(url: str) -> WebhookTarget:
    """``--webhook URL``: an http:// or https:// URL, ``user:password@`` in it sent as HTTP basic auth."""
    label = redact(url)
    if _has_blank_or_control(url):
        raise AlertConfigError(
            f"--webhook {label!r}: a blank or control character is in the URL: percent-encode it (%20 for a blank)"
        )
    if "://" not in url:
        raise AlertConfigError(f"--webhook {label}: not a URL: {WEBHOOK_FORM}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AlertConfigError(
            f"--webhook {label}: the host or port is malformed (a port is a number from 1 to 65535): {WEBHOOK_FORM}"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise AlertConfigError(f"--webhook {label}: events are posted over HTTP only, not {scheme}://: {WEBHOOK_FORM}")
    if not parts.hostname:
        raise AlertConfigError(f"--webhook {label}: no host in the URL: {WEBHOOK_FORM}")
    if port is None:
        port = 443 if scheme == "https" else 80
    elif not 1 <= port <= 65535:
        raise AlertConfigError(f"--webhook {label}: port {port} is out of range (1 to 65535): {WEBHOOK_FORM}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookTarget(
        scheme,
        parts.hostname,
        port,
        path,
        label,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def parse_mqtt(value: str) -> MqttTarget:
    """``--mqtt HOST[:PORT]/TOPIC`` (port 1883 if left out), or ``mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC``;
    an IPv6 address in brackets (``[::1]:1883/events``). The topic is everything after the first ``/``."""
    url = value if "://" in value else f"mqtt://{value}"
    label = redact(url)
    if _has_blank_or_control(value.partition("/")[0]) or "\0" in value:
        raise AlertConfigError(f"--mqtt {label!r}: a blank or control character is in the host: {MQTT_FORM}")
    scheme, _, rest = url.partition("://")
    if scheme.lower() != "mqtt":
        raise AlertConfigError(f"--mqtt {label}: {scheme}:// is not supported (TLS neither): {MQTT_FORM}")
    netloc, slash, topic = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        userinfo, hostport = "", netloc
    user, _, password = userinfo.partition(":")
    if hostport.startswith("["):
        host, bracket, port_part = hostport[1:].partition("]")
        if not bracket or (port_part and not port_part.startswith(":")):
            raise AlertConfigError(f"--mqtt {label}: the IPv6 address is malformed: write it as [::1]:1883/TOPIC")
        port_text = port_part[1:]
        has_port = bool(port_part)
    else:
        host, colon, port_text = hostport.rpartition(":")
        has_port = bool(colon)
        if not colon:
            host = hostport
        elif ":" in host:
            raise AlertConfigError(f"--mqtt {label}: write an IPv6 address in brackets: [::1]:1883/TOPIC")
    if not host:
        raise AlertConfigError(f"--mqtt {label}: no host: {MQTT_FORM}")
    port = MQTT_PORT
    if has_port:
        if not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
            raise AlertConfigError(
                f"--mqtt {label}: the port must be a number from 1 to 65535, not {port_text!r}: {MQTT_FORM}"
            )
        port = int(port_text)
    if not slash or not topic:
        raise AlertConfigError(f"--mqtt {label}: no topic after the host: {MQTT_FORM} (events/cam1, say)")
    if "+" in topic or "#" in topic:
        raise AlertConfigError(
            f"--mqtt {label}: a topic to publish to cannot hold + or # (they are a subscriber's wildcards): "
            "name one topic, such as events/cam1"
        )
    if len(topic.encode()) > 65535:
        raise AlertConfigError(f"--mqtt {label}: the topic is longer than MQTT allows (65535 bytes): shorten it")
    return MqttTarget(host, port, topic, label, username=unquote(user), password=unquote(password))
