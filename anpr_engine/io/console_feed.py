"""The console's Kafka edge: it follows both alerts topics and the feedback topic from their
beginning (every partition assigned, no group, read committed), and produces verdicts and the
audit of covert views."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from pydantic import ValidationError

from anpr_engine.config import Settings
from anpr_engine.io.client_config import follower_conf
from anpr_engine.io.kafka_errors import at_boundary, raise_if_fatal
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.io.topic_readers import Closing, closed_on_error, topic_partitions, watermarks
from anpr_engine.models import Alert, AlertFeedback, CovertView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertRecord:
    alert: Alert
    covert: bool
    kafka_ts_ms: int


@dataclass(frozen=True)
class VerdictRecord:
    alert_id: str
    verdict: AlertFeedback | None  # None: a tombstone


FeedRecord = AlertRecord | VerdictRecord


class ConsoleFeed:
    """Reads the three topics in a thread and hands each fetch's records, parsed, to `deliver`.
    Records that are no alert or no verdict are counted and skipped: the console only reads these
    topics. `caught_up` is set once every partition's end as it stood at start has been read.
    Raises the BrokerError of what keeps it from starting (anpr_engine.errors); as a context
    manager (`with ConsoleFeed(...) as feed:`) it is stopped at the end of the block."""

    @at_boundary
    def __init__(self, settings: Settings, deliver: Callable[[list[FeedRecord]], None]) -> None:
        self.settings = settings
        self.deliver = deliver
        self.skipped = 0
        self.caught_up = threading.Event()
        self.failed: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console-feed", daemon=True)
        t = settings.topics
        self._covert_topic, self._feedback_topic = t.alerts_covert, t.feedback
        assigned: list[TopicPartition] = []
        self._ends: dict[tuple[str, int], int] = {}
        with closed_on_error(Consumer(follower_conf(settings))) as self.consumer:
            for topic in (t.alerts, t.alerts_covert, t.feedback):
                for p in topic_partitions(self.consumer, topic, settings.flush_timeout_s):
                    tp = TopicPartition(topic, p, OFFSET_BEGINNING)
                    low, high = watermarks(self.consumer, tp, settings.flush_timeout_s)
                    if high > low:
                        self._ends[topic, p] = high
                    assigned.append(tp)
            self.consumer.assign(assigned)
        if not self._ends:
            self.caught_up.set()

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        with self.consumer:  # closed when the thread ends
            try:
                while not self._stop.is_set():
                    records = self._fetch()
                    if records:
                        self.deliver(records)
            except BaseException as e:  # shown by /readyz (503); the console goes on serving what it has
                log.error("console feed stopped: %s", e)
                self.failed = e

    def _fetch(self) -> list[FeedRecord]:
        out: list[FeedRecord] = []
        for m in self.consumer.consume(2000, 0.01):
            err = m.error()
            if err is not None:
                raise_if_fatal(err)
                continue
            topic, value = m.topic(), m.value()
            try:
                if topic == self._feedback_topic:
                    key = (m.key() or b"").decode("utf-8")
                    verdict = None if value is None else AlertFeedback.model_validate_json(value)
                    if not key or (verdict is not None and verdict.alert_id != key):
                        raise ValueError("key is not the verdict's alert id")
                    out.append(VerdictRecord(key, verdict))
                elif value is not None:
                    ts = m.timestamp()[1]
                    out.append(AlertRecord(Alert.model_validate_json(value), topic == self._covert_topic, ts))
            except (ValidationError, ValueError, RecursionError):
                self.skipped += 1
        if not self.caught_up.is_set():
            self._check_caught_up()
        return out

    def _check_caught_up(self) -> None:
        """By position, not by the last message's offset: a transaction's commit marker takes an offset."""
        at = self.consumer.position([TopicPartition(t, p) for t, p in self._ends])
        for tp in at:
            if tp.offset >= self._ends[tp.topic, tp.partition]:
                del self._ends[tp.topic, tp.partition]
        if not self._ends:
            self.caught_up.set()

    def stop(self) -> None:
        """Stop reading; the consumer is closed by the thread (or here, if it never started)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        elif self._thread.ident is None:
            self.consumer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class ConsoleOut(Closing):
    """Verdicts (waited for: an operator's click is done when the broker has it) and audit records
    (sent at once, flushed on close); a context manager (`with ConsoleOut(...) as out:`) closes it."""

    def __init__(self, settings: Settings) -> None:
        self.topics = settings.topics
        self.out = AckedProducer(new_producer(settings), settings.flush_timeout_s)

    def verdict(self, v: AlertFeedback) -> None:
        self.out.produce(self.topics.feedback, v.model_dump_json().encode(), v.alert_id.encode())
        self.out.flush()

    def audit(self, views: list[CovertView]) -> None:
        for v in views:
            self.out.produce(self.topics.audit, v.model_dump_json().encode(), v.user.encode())
        self.out.producer.poll(0)

    def close(self) -> None:
        self.out.flush()
