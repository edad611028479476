"""The engine's source of reads: a consumer-group member whose offsets move only when the engine
says a batch is done, and whose rebalance callbacks hand the partitions' past over (io.handover)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka import Message as KafkaMessage

from anpr_engine.config import Settings
from anpr_engine.engine.ports import Batch, Message
from anpr_engine.errors import AnprError, StopRequested, TransactionAborted
from anpr_engine.io.client_config import group_consumer_conf
from anpr_engine.io.kafka_errors import (
    LEADER_MOVING,
    any_error,
    at_boundary,
    broker_error,
    commit_failure,
    raise_if_fatal,
)  # fmt: skip
from anpr_engine.io.producer import STALL_STEP_S, Stall
from anpr_engine.io.topic_readers import as_int, content_type, partitions_of
from anpr_engine.io.transactions import TransactionalProducer

log = logging.getLogger(__name__)


Partition = tuple[str, int]
GROUP_DOWN_S = 30.0


class KafkaReadSource:
    """Batches of read messages; offsets are committed only when the pipeline says the batch is done.

    Positions are committed per partition, and only for partitions this member holds: on revoke the
    settled positions of the revoked partitions are committed at once (their new owner starts
    there), on loss they are dropped (another member already owns them), and a batch settled after
    its partition moved commits nothing for it (the new owner reads that part again: at-least-once).
    Kafka failures it cannot get past are raised as the BrokerError they are (anpr_engine.errors);
    as a context manager (`with source:`) it is closed at the end of the block.
    """

    def __init__(
        self,
        settings: Settings,
        client: Callable[[dict[str, object]], Consumer] = Consumer,
        transactions: TransactionalProducer | None = None,
    ) -> None:
        self.settings = settings
        self.transactions = transactions  # exactly-once: offsets are committed in its transactions
        self._commit_error: AnprError | None = None
        self._assigned: set[Partition] = set()
        self._pending: dict[Partition, int] = {}  # settled positions, not yet committed
        self._sent: dict[Partition, int] = {}  # positions committed without waiting for the answer
        self._committed_at = float("-inf")  # time.monotonic() of the last commit sent
        self._held = False  # fetching paused by hold()
        self._stopping = False  # a stop was asked for: a wait for the broker ends at its next step
        self._gave_up = False  # such a wait was ended: close commits nothing
        self._fatal: KafkaError | None = None  # reported through error_cb only, never as a message
        # told of the partitions taken over (with their committed offsets) and given up, in the
        # group's callbacks: the engine's state of past reads follows them (io.handover)
        self.on_taken: Callable[[list[TopicPartition]], None] | None = None
        self.on_left: Callable[[list[int]], None] | None = None
        self._client = client
        self._group_up_at = time.monotonic()  # when the statistics last showed the group joined ("up")
        self._ready_at = 0.0  # time.monotonic() when the last partitions taken over could be fetched
        self.consumer = self._subscribed()

    def _subscribed(self) -> Consumer:
        s = self.settings
        consumer = self._client(
            group_consumer_conf(s, stats_cb=self._on_stats, on_commit=self._on_commit, error_cb=self._on_error)
        )
        consumer.subscribe(
            [s.topics.reads], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        return consumer

    def _on_stats(self, stats: str) -> None:
        try:
            state = json.loads(stats).get("cgrp", {}).get("state")
        except (ValueError, AttributeError):
            return
        if state == "up":
            self._group_up_at = time.monotonic()

    def _rejoin_if_wedged(self) -> None:
        """A consumer whose group has had no coordinator for GROUP_DOWN_S is closed and made again.
        librdkafka 2.15.1 leaves some members wedged after the only broker restarted (requests to
        the coordinator queued and never sent, no partitions for minutes; the outage test, and
        librdkafka issues 2841, 3082); a new client joins at once. Nothing settled is lost: what
        the old one had not committed is read again (at-least-once), and in exactly-once mode no
        transaction is open between batches."""
        down = time.monotonic() - self._group_up_at
        if self._stopping or down < max(GROUP_DOWN_S, 3 * self.settings.session_timeout_ms / 1000):
            return
        log.warning("the consumer group has had no coordinator for %.0f s: leaving it and joining again", down)
        self._pending, self._sent, self._held = {}, {}, False
        self.consumer.close()
        self._assigned = set()
        self.consumer = self._subscribed()
        self._group_up_at = time.monotonic()

    def request_stop(self) -> None:
        """Ask every wait for the broker (see hold) to end at its next step (safe from a signal handler)."""
        self._stopping = True

    @at_boundary
    def hold(self) -> None:
        """While the alerts of batches handed out cannot be delivered: stop fetching (every assigned
        partition paused, so memory stays bounded whatever comes in) but stay in the group (a poll
        serves rebalances and the max.poll.interval.ms clock). The next poll_batch resumes.
        Raises StopRequested once a stop was asked for: a broker that never comes back must not keep
        the process from stopping."""
        if self._stopping:
            self._gave_up = True
            raise StopRequested("stopped while the broker acknowledged nothing")
        self._raise_fatal()
        self.consumer.pause(self.consumer.assignment())
        self._held = True
        m = self.consumer.poll(0)
        if m is not None and m.error() is None:  # fetched before the pause: it is read again on resume
            self.consumer.seek(TopicPartition(m.topic() or "", as_int(m.partition()), as_int(m.offset())))

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
        else:
            log.debug("kafka client error: %s", err)

    def _raise_fatal(self) -> None:
        """A fatal client error (e.g. a static member fenced after its session timed out in a broker
        outage, librdkafka issue 3437) leaves poll answering nothing for ever: raise it instead."""
        if self._fatal is not None:
            raise broker_error(self._fatal)

    @at_boundary
    def poll_batch(self) -> Batch:
        self._raise_fatal()
        self._rejoin_if_wedged()
        if self._held:
            self.consumer.resume(self.consumer.assignment())
            self._held = False
        # Take whatever is queued without waiting; when nothing is, wait for the first message only.
        # (consume(n, timeout) would hold every batch until n messages or the timeout: latency at low rates.)
        raw = self._take([])
        if not raw:
            first = self.consumer.poll(self.settings.batch_timeout_s)
            if first is None:
                self._commit_pending()  # idle: no batch will carry these positions soon
                return Batch([], [], lambda i: Message(None), [])
            raw = self._take([first])
        # map over the C methods: a per-message Python expression costs more than the engine's match
        errors = list(map(KafkaMessage.error, raw))
        good = raw if not any_error(errors) else [m for m, e in zip(raw, errors, strict=True) if e is None]
        if len(good) != len(raw):
            for err in errors:
                if err is not None:
                    raise_if_fatal(err)
        values = list(map(KafkaMessage.value, good))
        headers = list(map(KafkaMessage.headers, good))
        ctypes: list[str | None] = (
            [None] * len(good) if headers.count(None) == len(good)
            else [None if h is None else content_type(h) for h in headers]
        )  # fmt: skip

        def message(i: int) -> Message:
            m = good[i]
            return Message(m.value(), m.key(), m.topic() or "", as_int(m.partition()), as_int(m.offset()), ctypes[i])

        partitions = partitions_of(good) if self.on_taken is not None else []
        return Batch(values, ctypes, message, self.consumer.position(self.consumer.assignment()), partitions)

    def _take(self, raw: list[KafkaMessage]) -> list[KafkaMessage]:
        """Add queued messages to `raw`, without waiting, up to batch_max_reads messages or
        batch_max_bytes of values (batched messages hold many reads each)."""
        size = sum(map(len, raw))
        s = self.settings
        chunk = 8  # messages per consume call: grown or shrunk to what fits, by the sizes seen so far
        while len(raw) < s.batch_max_reads and size < s.batch_max_bytes:
            got = self.consumer.consume(min(chunk, s.batch_max_reads - len(raw)), 0)
            if not got:
                break
            raw.extend(got)
            size += sum(map(len, got))
            chunk = max(1, min(1000, (s.batch_max_bytes - size) * len(raw) // max(1, size)))
        return raw

    def ready_since(self) -> float | None:
        """Since when fetching could go on: the end of the last take-over (which runs inside a poll,
        reading back past alerts and reads for seconds); None while no partition is held."""
        return self._ready_at if self.consumer.assignment() else None

    def lag(self) -> dict[int, int]:
        """Messages behind the end, per partition held, from the watermarks of the last fetches
        (no request to the broker); a partition not fetched yet is left out."""
        out = {}
        for tp in self.consumer.position(list(self.consumer.assignment())):
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset >= 0 and high >= 0:
                out[tp.partition] = max(0, high - tp.offset)
        return out

    @at_boundary
    def commit(self, batch: Batch) -> None:
        """Commit the positions the consumer had when it handed out `batch`, for the partitions it
        still holds, without waiting for the broker's answer (the next batch's work overlaps it;
        close() waits for the last one), and at most once every commit_interval_ms: a commit per
        small batch flooded the group coordinator, whose answers then held back the heartbeats until
        the session timed out. Positions left uncommitted are committed at the next commit, when no
        message comes, on revoke, or on close. A failed commit raises here, at the next commit."""
        if self._commit_error is not None:
            err, self._commit_error = self._commit_error, None
            raise err
        positions: list[TopicPartition] = batch.position  # type: ignore[assignment]
        if self.transactions is not None:
            self._commit_in_transaction(positions)
            return
        for tp in positions:
            if tp.offset >= 0 and (tp.topic, tp.partition) in self._assigned:
                self._pending[tp.topic, tp.partition] = tp.offset
        if self._pending and time.monotonic() - self._committed_at >= self.settings.commit_interval_ms / 1000:
            self._commit_pending()

    def _commit_in_transaction(self, positions: list[TopicPartition]) -> None:
        """Exactly-once: commit the transaction holding the batch's alerts and dead letters with its
        offsets; if it had to be aborted, go back to the committed offsets (the batch is read again)."""
        held = [tp for tp in positions if tp.offset >= 0 and (tp.topic, tp.partition) in self._assigned]
        try:
            self.transactions.commit(held, self.consumer.consumer_group_metadata())  # type: ignore[union-attr]
        except TransactionAborted as e:
            log.warning("transaction aborted, reading again from the committed offsets: %s", e)
            self._rewind()

    def _rewind(self) -> None:
        """Seek every held partition back to its committed offset (the start where none is). The
        group coordinator may be moving (the abort often follows a broker outage): asked again,
        fetching held, until it answers."""
        stall = Stall("committed offsets not known", self.settings.flush_timeout_s, self.hold)
        while True:
            try:
                committed = self.consumer.committed(list(self.consumer.assignment()), timeout=STALL_STEP_S * 4)
                break
            except KafkaException as e:
                err: KafkaError = e.args[0]
                if not (err.retriable() or err.code() in LEADER_MOVING):
                    raise
                stall.step(e)
        stall.end()
        for tp in committed:
            self.consumer.seek(
                TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
            )

    def _commit_pending(self) -> None:
        if self._pending:
            self.consumer.commit(offsets=_offsets(self._pending), asynchronous=True)
            self._sent.update(self._pending)
            self._pending = {}
            self._committed_at = time.monotonic()

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        failed = commit_failure(err, partitions)
        if failed is not None and self._commit_error is None:
            self._commit_error = failed

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Hold the partitions; a partition paused by hold() before it was lost stays paused in
        librdkafka when assigned again, so each one assigned is paused or resumed as the source is."""
        self._assigned.update((tp.topic, tp.partition) for tp in partitions)
        if partitions:
            (consumer.pause if self._held else consumer.resume)(partitions)
            if self.on_taken is not None:
                self.on_taken(self._committed_of(consumer, partitions))
            self._ready_at = time.monotonic()

    def _committed_of(self, consumer: Consumer, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """The committed offsets of partitions just assigned (asked in the assign callback, where a
        hold would poll again); offset -1 for each when the coordinator does not answer in time."""
        try:
            return list(consumer.committed(partitions, timeout=self.settings.flush_timeout_s))
        except KafkaException as e:
            log.warning("committed offsets of %d partitions taken over not known: %s", len(partitions), e)
            return [TopicPartition(tp.topic, tp.partition, -1) for tp in partitions]

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Commit what is settled of the partitions leaving, and wait for it: the next owner starts there."""
        leaving = self._leave(partitions)
        if leaving:
            self._commit_now(leaving)
        if self.on_left is not None and partitions:
            self.on_left([tp.partition for tp in partitions])

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions taken away without a revoke (session timed out): another member owns them, and a
        commit from here would be refused or, worse, move their position; drop what was held back."""
        dropped = self._leave(partitions)
        if dropped:
            log.warning("partitions lost to the group; %d held-back positions dropped", len(dropped))
        if self.on_left is not None and partitions:
            self.on_left([tp.partition for tp in partitions])

    def _leave(self, partitions: list[TopicPartition]) -> dict[Partition, int]:
        """Stop holding `partitions`; returns their held-back positions."""
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self._assigned -= gone
        leaving = {p: o for p, o in self._pending.items() if p in gone}
        for p in leaving:
            del self._pending[p]
        self._sent = {p: o for p, o in self._sent.items() if p not in gone}
        return leaving

    def _commit_now(self, positions: dict[Partition, int]) -> None:
        """Commit and wait; raise on a failure of the request or of any partition (a rebalance is logged)."""
        try:
            result = self.consumer.commit(offsets=_offsets(positions), asynchronous=False)
        except KafkaException as e:
            failed = commit_failure(e.args[0], [])
        else:
            failed = commit_failure(None, result or [])
        if failed is not None:
            raise failed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @at_boundary
    def close(self) -> None:
        """Commit the settled positions of the partitions still held (those held back and those sent
        without waiting) and wait for the answer, then leave the group. The client is closed
        whatever the commit does. After a wait for the broker was given up (StopRequested, during
        the run or in the abort here after a stop), when a commit or an abort would wait for it
        again, only the client is closed: an open transaction is aborted by the broker when the
        instance starts again or it times out."""
        try:
            if not self._gave_up:
                last = {**self._sent, **self._pending}
                self._pending, self._sent = {}, {}
                if last:
                    self._commit_now(last)
                if self.transactions is not None:
                    self.transactions.close()
        except StopRequested:
            pass  # the abort waited for the broker after a stop: given up, as the docstring says
        finally:
            self.consumer.close()


def _offsets(positions: dict[Partition, int]) -> list[TopicPartition]:
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in positions.items()]
