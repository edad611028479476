"""The console's Kafka edge: it follows its topics from their beginning (every partition assigned,
no group, read committed), and produces verdicts and the audit of covert views.

Which topics depend on the console's place in a federation (`followed_topics`): its own alerts,
covert alerts and feedback; at a party also the hits its partners made on its lists, as MirrorMaker
copies them here; at the joint centre only every partner's alerts and feedback, copied there. A
copied topic the mirror has not created yet is looked for again every REPLICA_CHECK_S and followed
from its beginning once it appears (the console is never held back by a partner)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from pydantic import ValidationError

from anpr_engine.config import Settings, replica
from anpr_engine.errors import InvariantBroken
from anpr_engine.io.client_config import follower_conf
from anpr_engine.io.kafka_errors import at_boundary, raise_if_fatal
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.io.topic_readers import Closing, closed_on_error, topic_partitions, watermarks
from anpr_engine.models import Alert, AlertFeedback, CovertView

log = logging.getLogger(__name__)

REPLICA_CHECK_S = 5.0  # how often a copied topic that is not there yet is looked for (MirrorMaker's refresh: 5 s)


@dataclass(frozen=True)
class Followed:
    """A topic the console follows, and what its records are."""

    topic: str
    kind: Literal["alerts", "feedback"]
    covert: bool = False
    origin: str | None = None  # the party whose cluster MirrorMaker copies it from; None: this cluster's own
    abroad: bool = False  # hits on this party's lists made by `origin`'s engines


def read_only(settings: Settings) -> bool:
    """The joint centre's console records nothing: it receives, and sends nothing back."""
    return settings.federation.role == "centre"


def followed_topics(settings: Settings) -> tuple[Followed, ...]:
    """The topics this console follows: outside a federation its own alerts, covert alerts and
    feedback; a party's console also `<partner>.<hits topic of this party>`, covert ones too, for
    each partner; the centre's console `<partner>.<alerts>` and `<partner>.<feedback>` only."""
    t, f = settings.topics, settings.federation
    if f.role == "centre":
        return tuple(
            x
            for p in f.partners
            for x in (
                Followed(replica(p, t.alerts), "alerts", origin=p),
                Followed(replica(p, t.feedback), "feedback", origin=p),
            )
        )
    own = (
        Followed(t.alerts, "alerts"),
        Followed(t.alerts_covert, "alerts", covert=True),
        Followed(t.feedback, "feedback"),
    )
    if f.party is None:
        return own
    return own + tuple(
        Followed(replica(p, t.hits(f.party, covert)), "alerts", covert=covert, origin=p, abroad=True)
        for p in f.partners
        for covert in (False, True)
    )


def created_topics(settings: Settings) -> tuple[str, ...]:
    """The topics the console creates when missing: its own (none at the centre); never a copied
    one, which is MirrorMaker's to create."""
    t = settings.topics
    return () if read_only(settings) else (t.alerts, t.alerts_covert, t.feedback, t.audit)


@dataclass(frozen=True)
class AlertRecord:
    alert: Alert
    covert: bool
    kafka_ts_ms: int
    origin: str | None = None  # see Followed
    abroad: bool = False


@dataclass(frozen=True)
class VerdictRecord:
    alert_id: str
    verdict: AlertFeedback | None  # None: a tombstone
    origin: str | None = None  # see Followed: whose operators recorded it (None: this console's)


FeedRecord = AlertRecord | VerdictRecord


class ConsoleFeed:
    """Reads the followed topics in a thread and hands each fetch's records, parsed, to `deliver`.
    Records that are no alert or no verdict are counted and skipped: the console only reads these
    topics. `caught_up` is set once every partition's end as it stood at start has been read.
    `missing` names the copied topics not there yet. Raises the BrokerError of what keeps it from
    starting (anpr_engine.errors); as a context manager (`with ConsoleFeed(...) as feed:`) it is
    stopped at the end of the block."""

    replica_check_s = REPLICA_CHECK_S

    @at_boundary
    def __init__(self, settings: Settings, deliver: Callable[[list[FeedRecord]], None]) -> None:
        self.settings = settings
        self.deliver = deliver
        self.skipped = 0
        self.caught_up = threading.Event()
        self.failed: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console-feed", daemon=True)
        self._followed = {f.topic: f for f in followed_topics(settings)}
        self._ends: dict[tuple[str, int], int] = {}
        self.missing: list[str] = []
        self._next_check = 0.0
        with closed_on_error(Consumer(follower_conf(settings))) as self.consumer:
            assigned: list[TopicPartition] = []
            copied = [f.topic for f in self._followed.values() if f.origin is not None]
            present = self._present(copied, settings.flush_timeout_s) if copied else {}
            for f in self._followed.values():
                if f.origin is None:
                    assigned += self._from_beginning(
                        f.topic, topic_partitions(self.consumer, f.topic, settings.flush_timeout_s)
                    )
                elif f.topic in present:
                    assigned += self._from_beginning(f.topic, present[f.topic])
                else:
                    self.missing.append(f.topic)
            self.consumer.assign(assigned)
        log.info("console: following %s", ", ".join(self._followed))
        for topic in self.missing:
            log.warning(
                "console: %s is not on the cluster yet (MirrorMaker creates it; or this principal may not see it): "
                "followed from its beginning once it appears, looked for every %g s",
                topic,
                self.replica_check_s,
            )
        self._next_check = time.monotonic() + self.replica_check_s
        if not self._ends:
            self.caught_up.set()

    def _present(self, topics: list[str], timeout_s: float) -> dict[str, list[int]]:
        """The partitions of those of `topics` the cluster has, each partition led (one metadata request)."""
        meta = self.consumer.list_topics(timeout=timeout_s).topics
        out = {}
        for name in topics:
            m = meta.get(name)
            if (
                m is not None
                and m.error is None
                and m.partitions
                and all(p.error is None and p.leader >= 0 for p in m.partitions.values())
            ):
                out[name] = sorted(m.partitions)
        return out

    def _from_beginning(self, topic: str, partitions: list[int]) -> list[TopicPartition]:
        """The partitions to assign from offset 0; while catching up, their ends are noted."""
        out = []
        for p in partitions:
            tp = TopicPartition(topic, p, OFFSET_BEGINNING)
            if not self.caught_up.is_set():
                low, high = watermarks(self.consumer, tp, self.settings.flush_timeout_s)
                if high > low:
                    self._ends[topic, p] = high
            out.append(tp)
        return out

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        with self.consumer:  # closed when the thread ends
            try:
                while not self._stop.is_set():
                    if self.missing and time.monotonic() >= self._next_check:
                        self._look_for_missing()
                    records = self._fetch()
                    if records:
                        self.deliver(records)
            except BaseException as e:  # shown by /readyz (503); the console goes on serving what it has
                log.error("console feed stopped: %s", e)
                self.failed = e

    def _look_for_missing(self) -> None:
        """Follow the copied topics that have appeared since the last look."""
        self._next_check = time.monotonic() + self.replica_check_s
        try:
            present = self._present(self.missing, min(5.0, self.settings.flush_timeout_s))
        except KafkaException as e:  # the broker away for a moment: looked for again next time
            log.debug("console: looking for %s: %s", ", ".join(self.missing), e)
            return
        if not present:
            return
        added = [tp for topic, parts in present.items() for tp in self._from_beginning(topic, parts)]
        self.consumer.incremental_assign(added)
        self.missing = [t for t in self.missing if t not in present]
        for topic in present:
            log.info("console: %s has appeared: followed from its beginning", topic)

    def _fetch(self) -> list[FeedRecord]:
        out: list[FeedRecord] = []
        for m in self.consumer.consume(2000, 0.01):
            err = m.error()
            if err is not None:
                raise_if_fatal(err)
                continue
            f, value = self._followed[m.topic() or ""], m.value()
            try:
                if f.kind == "feedback":
                    key = (m.key() or b"").decode("utf-8")
                    verdict = None if value is None else AlertFeedback.model_validate_json(value)
                    if not key or (verdict is not None and verdict.alert_id != key):
                        raise ValueError("key is not the verdict's alert id")
                    out.append(VerdictRecord(key, verdict, f.origin))
                elif value is not None:
                    alert = Alert.model_validate_json(value)
                    out.append(AlertRecord(alert, f.covert, m.timestamp()[1], f.origin, f.abroad))
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
    (sent at once, flushed on close); a context manager (`with ConsoleOut(...) as out:`) closes it.
    The joint centre's console has no producer at all: it sends nothing."""

    def __init__(self, settings: Settings) -> None:
        self.topics = settings.topics
        self.out = None if read_only(settings) else AckedProducer(new_producer(settings), settings.flush_timeout_s)

    def _producer(self) -> AckedProducer:
        if self.out is None:
            raise InvariantBroken("the joint centre's console sends nothing (its routes refuse verdicts)")
        return self.out

    def verdict(self, v: AlertFeedback) -> None:
        out = self._producer()
        out.produce(self.topics.feedback, v.model_dump_json().encode(), v.alert_id.encode())
        out.flush()

    def audit(self, views: list[CovertView]) -> None:
        out = self._producer()
        for v in views:
            out.produce(self.topics.audit, v.model_dump_json().encode(), v.user.encode())
        out.producer.poll(0)

    def close(self) -> None:
        if self.out is not None:
            self.out.flush()
