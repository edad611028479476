"""Producing: alerts and dead letters go out through here, each acknowledged before offsets move.

All alerts leave through `KafkaAlertSink`, so making delivery transactional later changes one class.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from confluent_kafka import KafkaError, Producer

from anpr_engine.alerts import OutgoingAlert
from anpr_engine.config import Settings
from anpr_engine.io.client_logs import client_conf
from anpr_engine.pipeline import Message

Headers = list[tuple[str, str | bytes | None]]


class DeliveryFailed(RuntimeError):
    """The broker did not acknowledge some messages; the batch must not be committed."""


def new_producer(settings: Settings, **overrides: str | int | float | bool) -> Producer:
    """An idempotent, fully-acknowledged producer (acks=all, no duplicates from retries)."""
    conf: dict[str, object] = {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "compression.type": "lz4",
        "queue.buffering.max.messages": 1_000_000,
        **client_conf(settings),
        **overrides,
    }
    return Producer(conf)


class AckedProducer:
    """A producer that remembers delivery failures until `flush` reports them."""

    def __init__(self, producer: Producer, flush_timeout_s: float = 30.0) -> None:
        self.producer = producer
        self.flush_timeout_s = flush_timeout_s
        self._errors: list[KafkaError] = []

    def _on_delivery(self, err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            self._errors.append(err)

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Headers | None = None,
    ) -> None:
        """Queue one message, serving delivery reports while the local queue is full; raise
        DeliveryFailed if it stays full for flush_timeout_s (the broker takes nothing)."""
        deadline = None
        while True:
            try:
                self.producer.produce(topic, value, key, headers=headers, on_delivery=self._on_delivery)
                return
            except BufferError as e:
                now = time.monotonic()
                deadline = deadline or now + self.flush_timeout_s
                if now >= deadline:
                    raise DeliveryFailed(
                        f"local producer queue full for {self.flush_timeout_s}s: the broker acknowledges nothing"
                    ) from e
                self.producer.poll(0.05)

    def flush(self) -> None:
        left = self.producer.flush(self.flush_timeout_s)
        if left:
            raise DeliveryFailed(f"{left} messages not acknowledged within {self.flush_timeout_s}s")
        self.raise_failures()

    def raise_failures(self) -> None:
        """Raise DeliveryFailed if any message delivered since the last call failed."""
        if self._errors:
            errors, self._errors = self._errors, []
            raise DeliveryFailed(f"{len(errors)} messages failed: {errors[0]}")


class Outbox(Protocol):
    """Where the sinks produce: an AckedProducer, or in exactly-once mode a TransactionalProducer."""

    def produce(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers | None = None
    ) -> None: ...
    def flush(self) -> None: ...


class KafkaAlertSink:
    """Alerts as JSON on the alerts topic (those of covert lists on the covert alerts topic only),
    keyed by camera id, with filterable headers."""

    def __init__(self, out: Outbox, topic: str, covert_topic: str) -> None:
        self.out = out
        self.topic = topic
        self.covert_topic = covert_topic

    def send(self, alerts: Sequence[OutgoingAlert]) -> None:
        for a in alerts:
            headers: Headers = [
                ("cross_border", b"1" if a.cross_border else b"0"),
                ("agency_country", a.agency_country.encode()),
                ("list_name", a.list_name.encode()),
            ]
            self.out.produce(self.covert_topic if a.covert else self.topic, a.value, a.key, headers)

    def flush(self) -> None:
        self.out.flush()


class KafkaDeadLetterSink:
    """Unreadable messages, unchanged, with the reason and their source position in headers."""

    def __init__(self, out: Outbox, topic: str) -> None:
        self.out = out
        self.topic = topic

    def send(self, message: Message, reason: str) -> None:
        headers: Headers = [
            ("dlq.reason", reason.encode()),
            ("dlq.source.topic", message.topic.encode()),
            ("dlq.source.partition", str(message.partition).encode()),
            ("dlq.source.offset", str(message.offset).encode()),
        ]
        if message.row is not None:
            headers.append(("dlq.source.row", str(message.row).encode()))
        self.out.produce(self.topic, message.value, message.key, headers)

    def flush(self) -> None:
        self.out.flush()


def alert_sinks(settings: Settings, out: Outbox | None = None) -> tuple[Outbox, KafkaAlertSink, KafkaDeadLetterSink]:
    """One producer shared by the alert and dead-letter sinks (an acknowledged one unless given)."""
    out = out or AckedProducer(new_producer(settings), settings.flush_timeout_s)
    t = settings.topics
    return out, KafkaAlertSink(out, t.alerts, t.alerts_covert), KafkaDeadLetterSink(out, t.dlq)
