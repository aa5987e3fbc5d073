"""``--mqtt HOST:PORT/TOPIC``: each event published as JSON to a broker through paho-mqtt, QoS 1 by default.

paho's network thread connects, and reconnects with backoff after the broker goes; this sender's thread
publishes in order while connected, with at most ``window`` messages unacknowledged. While the broker is
away events wait in the bounded queue; when it is full they are dropped and counted. ``close`` waits, within
its timeout, for a connected broker's acknowledgements (or for the first connection), not for a broker that is
away; what was not acknowledged by then counts as missed.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from vidcv.alerts.base import QUEUE_SIZE, QueuedNotifier, encode
from vidcv.alerts.targets import MqttTarget, parse_mqtt

log = logging.getLogger(__name__)


class _Client(mqtt.Client):
    """paho's client, keeping why its last connection attempt failed (paho's callback only says that it did)."""

    connect_error: OSError | None = None

    def reconnect(self) -> MQTTErrorCode:
        try:
            rc = super().reconnect()
        except OSError as exc:
            self.connect_error = exc
            raise
        self.connect_error = None
        return rc


def connect_failure(exc: OSError | None, timeout: float) -> str:
    """Why a connection to the broker failed, in a user's words."""
    if isinstance(exc, ConnectionRefusedError):
        return "broker down: connection refused"
    if isinstance(exc, TimeoutError):
        return f"broker not answering: no connection within {timeout:g} s"
    if exc is None:
        return "broker unreachable"
    return f"broker unreachable: {exc.strerror or exc}"


class MqttNotifier(QueuedNotifier):
    """Publishes each payload to ``target``'s topic (a ``--mqtt`` value or a parsed :class:`MqttTarget`).

    ``qos``: 0 (at most once), 1 (at least once: a message not acknowledged before the connection dropped is
    sent again, so a subscriber may see it twice) or 2. ``window``: messages published and not yet
    acknowledged, at most. ``reconnect_min``/``reconnect_max``: paho's reconnection backoff, in seconds.
    """

    kind = "mqtt"

    def __init__(
        self,
        target: str | MqttTarget,
        *,
        qos: int = 1,
        window: int = 20,
        queue_size: int = QUEUE_SIZE,
        keepalive: int = 30,
        connect_timeout: float = 5.0,
        reconnect_min: int = 1,
        reconnect_max: int = 30,
    ) -> None:
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
        self.target = parse_mqtt(target) if isinstance(target, str) else target
        super().__init__(self.target.label, queue_size)
        self.qos, self.window, self.connect_timeout = qos, window, connect_timeout
        self._connected = False
        self._failing = False  #: the broker is away (told once, until it is back): close does not wait for it
        client = _Client(
            CallbackAPIVersion.VERSION2, client_id=f"vidcv-{os.getpid()}-{secrets.token_hex(4)}", clean_session=True
        )
        if self.target.username or self.target.password:
            client.username_pw_set(self.target.username, self.target.password or None)
        client.max_inflight_messages_set(window)
        client.reconnect_delay_set(reconnect_min, reconnect_max)
        client.connect_timeout = connect_timeout
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._client = client
        client.connect_async(self.target.host, self.target.port, keepalive)
        client.loop_start()
        self.start()

    # --- the delivery thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._queue and self._connected and self._taken < self.window):
                    if self._closing and (not self._queue or self._past_deadline() or self._failing):
                        return  # a broker away at close gets nothing more: what waits is counted
                    self._cond.wait(self._remaining() if self._closing else None)
                payload = self._queue.popleft()
                self._taken += 1
            try:
                body = encode(payload)
            except (TypeError, ValueError) as exc:
                self._note_error(f"the event is not JSON: {exc}")
                self._count(failed=1, done=1)
                continue
            info = self._client.publish(self.target.topic, body, qos=self.qos)
            # Not connected (it dropped meanwhile): paho keeps a QoS 1 or 2 message and sends it once connected
            # again; on_publish counts it then. A QoS 0 message is lost.
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or (info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and self.qos):
                continue
            self._note_error(f"cannot publish: {mqtt.error_string(info.rc)}")
            self._count(failed=1, done=1)

    def _finish(self, timeout: float) -> None:
        """Wait for the broker's acknowledgements within ``timeout``, then disconnect and stop paho's thread."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._taken and not self._failing and time.monotonic() < end:
                self._cond.wait(end - time.monotonic())
        self._client.disconnect()
        stopper = threading.Thread(target=self._client.loop_stop, name="vidcv-mqtt-stop", daemon=True)
        stopper.start()  # paho joins its thread without a timeout: a connection attempt may take its own
        stopper.join(max(0.0, end - time.monotonic()))

    def _stuck(self) -> str:
        if self._connected and not self._failing:
            return f"broker had not acknowledged {self._taken} by the end"
        return ""

    # --- paho's network thread ----------------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if reason.is_failure:
            self._went_wrong(f"broker refused the connection: {reason}")
            return
        with self._cond:
            self._connected = True
            failing, self._failing = self._failing, False
            self._cond.notify_all()
        if failing:
            log.info("mqtt %s: connected again", self.label)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._went_wrong(connect_failure(self._client.connect_error, self.connect_timeout))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        with self._cond:
            was_connected, self._connected = self._connected, False
            closing = self._closing
        if was_connected and not closing:  # not after a refused CONNACK: its reason stands
            self._went_wrong(f"broker connection lost ({reason})")

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any) -> None:
        if reason.is_failure:
            self._note_error(f"broker refused the message: {reason}")
            self._count(failed=1, done=1)
        else:
            self._count(sent=1, done=1)

    def _went_wrong(self, why: str) -> None:
        self._note_error(why)
        with self._cond:
            failing, self._failing = self._failing, True
            self._cond.notify_all()  # a close waiting for the broker stops waiting
        if not failing:
            log.warning("mqtt %s: %s; reconnecting with backoff, new events wait", self.label, why)
