"""Producing: alerts and dead letters go out through here, each acknowledged before offsets move.

All alerts leave through `KafkaAlertSink`, so making delivery transactional later changes one class.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol, Self

from confluent_kafka import KafkaError, Producer

from anpr_engine.codec.alerts import OutgoingAlert
from anpr_engine.config import Settings
from anpr_engine.engine.ports import Message
from anpr_engine.errors import DeliveryFailed
from anpr_engine.io.client_config import producer_conf
from anpr_engine.io.kafka_errors import at_boundary

Headers = list[tuple[str, str | bytes | None]]
log = logging.getLogger(__name__)


STALL_STEP_S = 0.5  # how long one wait for acknowledgements lasts before the stall hook is called again
STALL_LOG_S = 60.0  # a stall that lasts is logged again this often


@at_boundary
def new_producer(settings: Settings, **overrides: str | int | float | bool) -> Producer:
    """An idempotent, fully-acknowledged producer (acks=all, no duplicates from retries): see
    io.client_config.producer_conf."""
    return Producer(producer_conf(settings, **overrides))


class Stall:
    """One wait for the broker to take what was produced. Without a hook (the tools) it is given up
    after timeout_s with DeliveryFailed; with one (the engine) it lasts as long as the broker takes,
    the hook called at each step (it pauses fetching), logged when it starts, every minute, and ends."""

    def __init__(self, what: str, timeout_s: float, on_stall: Callable[[], None] | None) -> None:
        self.what = what
        self.timeout_s = timeout_s
        self.on_stall = on_stall
        self.since: float | None = None
        self._logged = 0.0

    def step(self, cause: BaseException | None = None) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = self._logged = now
            if self.on_stall is not None:
                log.warning("%s: the broker acknowledges nothing; fetching paused until it does", self.what)
        if self.on_stall is None:
            if now - self.since >= self.timeout_s:
                raise DeliveryFailed(f"kafka: {self.what}: nothing acknowledged within {self.timeout_s:g} s") from cause
            return
        if now - self._logged >= STALL_LOG_S:
            self._logged = now
            log.warning("%s: still waiting for the broker after %.0f s", self.what, now - self.since)
        self.on_stall()

    def end(self) -> float:
        """End the wait; returns how long it stalled (s), 0 if it did not."""
        lasted = 0.0 if self.since is None else time.monotonic() - self.since
        if self.since is not None and self.on_stall is not None:
            log.warning("%s: the broker acknowledges again, after %.1f s", self.what, lasted)
        self.since = None
        return lasted


class AckedProducer:
    """A producer that remembers delivery failures until `flush` reports them.

    `on_stall` set (the engine's producer): a broker that takes nothing is waited for as long as it
    takes, with the hook called at each step; else (the tools) DeliveryFailed after flush_timeout_s.
    As a context manager (`with AckedProducer(...) as out:`), what was produced is flushed at the
    end of the block, unless it ends with an error."""

    def __init__(
        self, producer: Producer, flush_timeout_s: float = 30.0, on_stall: Callable[[], None] | None = None
    ) -> None:
        self.producer = producer
        self.flush_timeout_s = flush_timeout_s
        self.on_stall = on_stall
        self._errors: list[KafkaError] = []

    def _on_delivery(self, err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            self._errors.append(err)

    def stall(self, what: str) -> Stall:
        return Stall(what, self.flush_timeout_s, self.on_stall)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if error is None:
            self.flush()

    @at_boundary
    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Headers | None = None,
    ) -> None:
        """Queue one message, serving delivery reports while the local queue is full."""
        stall = self.stall("local producer queue full")
        while True:
            try:
                self.producer.produce(topic, value, key, headers=headers, on_delivery=self._on_delivery)
                stall.end()
                return
            except BufferError as e:
                stall.step(e)
                self.producer.poll(0.05)

    def flush(self) -> float:
        """Wait until everything produced is acknowledged (see `on_stall`); raise DeliveryFailed if any
        of it failed. Returns how long the broker stalled meanwhile (s)."""
        stall = self.stall("alerts not acknowledged")
        while self.producer.flush(STALL_STEP_S):
            stall.step()
        stalled = stall.end()
        self.raise_failures()
        return stalled

    def raise_failures(self) -> None:
        """Raise DeliveryFailed if any message delivered since the last call failed."""
        if self._errors:
            errors, self._errors = self._errors, []
            first = errors[0]
            raise DeliveryFailed(f"kafka: {len(errors)} messages failed: {first.name()}: {first.str()}", errors)


class Outbox(Protocol):
    """Where the sinks produce: an AckedProducer, or in exactly-once mode a TransactionalProducer."""

    def produce(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers | None = None
    ) -> None: ...
    def flush(self) -> float: ...


class KafkaAlertSink:
    """Alerts as JSON on the alerts topic (those of covert lists on the covert alerts topic only),
    keyed by camera id, with filterable headers. In a federation, an alert of a partner's entry goes
    to that partner's hits topic too (MirrorMaker carries it back); of a partner's covert entry,
    there only: no operator here sees it."""

    def __init__(self, out: Outbox, topic: str, covert_topic: str, hits_topic: Callable[[str, bool], str]) -> None:
        self.out = out
        self.topic = topic
        self.covert_topic = covert_topic
        self.hits_topic = hits_topic  # (partner, covert) -> topic

    def send(self, alerts: Sequence[OutgoingAlert]) -> None:
        for a in alerts:
            headers: Headers = [
                ("cross_border", b"1" if a.cross_border else b"0"),
                ("agency_country", a.agency_country.encode()),
                ("list_name", a.list_name.encode()),
            ]
            if a.partner is not None:
                headers.append(("listed_by", a.partner.encode()))
                self.out.produce(self.hits_topic(a.partner, a.covert), a.value, a.key, headers)
                if a.covert:
                    continue
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


def alert_sinks(out: Outbox, settings: Settings) -> tuple[KafkaAlertSink, KafkaDeadLetterSink]:
    """The alert and dead-letter sinks, sharing one producer."""
    t = settings.topics
    return KafkaAlertSink(out, t.alerts, t.alerts_covert, t.hits), KafkaDeadLetterSink(out, t.dlq)
