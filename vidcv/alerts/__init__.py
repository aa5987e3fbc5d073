"""Alerts: each scene event sent as JSON to webhooks (``--webhook URL``) and MQTT brokers (``--mqtt``).

A sender (:class:`Notifier`) never blocks the pipeline: ``send`` queues, one thread per sender delivers in
order, a full queue drops and counts. ``close`` returns an :class:`AlertSummary` whose ``line()`` is what a
user reads at the end of a run. Credentials in a URL are sent to the receiver and shown nowhere (``label``).
paho-mqtt and http.client are imported only when a sender of their kind is made.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from vidcv.alerts.base import QUEUE_SIZE, AlertConfigError, AlertSummary, Notifier
from vidcv.alerts.targets import MqttTarget, WebhookTarget, parse_mqtt, parse_webhook

__all__ = [
    "QUEUE_SIZE",
    "AlertConfigError",
    "AlertSummary",
    "MqttTarget",
    "Notifier",
    "WebhookTarget",
    "close_all",
    "make_notifiers",
    "parse_mqtt",
    "parse_webhook",
]


def make_notifiers(
    webhooks: Sequence[str] = (), mqtt: Sequence[str] = (), *, queue_size: int = QUEUE_SIZE
) -> list[Notifier]:
    """One sender per ``--webhook`` and ``--mqtt`` value, started. Every value is checked before any sender
    starts: a bad one raises :class:`AlertConfigError` and nothing is left running."""
    hooks = [parse_webhook(url) for url in webhooks]
    brokers = [parse_mqtt(value) for value in mqtt]
    notifiers: list[Notifier] = []
    if hooks:
        from vidcv.alerts.webhook import WebhookNotifier

        notifiers += [WebhookNotifier(target, queue_size=queue_size) for target in hooks]
    if brokers:
        from vidcv.alerts.mqtt import MqttNotifier

        notifiers += [MqttNotifier(target, queue_size=queue_size) for target in brokers]
    return notifiers


def close_all(notifiers: Iterable[Notifier], timeout: float = 5.0) -> list[AlertSummary]:
    """Close every sender side by side, within ``timeout`` seconds in all (a hung receiver does not eat the
    others' time); their summaries in the order given."""
    senders = list(notifiers)
    summaries: list[AlertSummary | None] = [None] * len(senders)

    def close(i: int) -> None:
        summaries[i] = senders[i].close(timeout)

    threads = [threading.Thread(target=close, args=(i,), name="vidcv-alerts-close") for i in range(len(senders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [s if s is not None else senders[i].snapshot() for i, s in enumerate(summaries)]
