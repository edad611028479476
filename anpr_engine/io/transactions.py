"""Exactly-once delivery: a batch's alerts, its dead letters and the reads' consumed offsets are
committed in one Kafka transaction (`send_offsets_to_transaction`), so a consumer reading with
`isolation.level=read_committed` sees each alert once whatever crashes.

The transactional id is stable per instance (`<group>-<instance id>`, else `<group>-<host name>`):
a restarted instance's `init_transactions` fences its zombie, whose open transaction is aborted.
The group metadata sent with the offsets fences a member that lost its partitions in a rebalance.
"""

from __future__ import annotations

import socket
import time

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from anpr_engine.config import Settings
from anpr_engine.io.producer import AckedProducer, Headers, new_producer


class TransactionAborted(RuntimeError):
    """The transaction in hand was aborted (its alerts will never be read): the batches in it must
    be consumed again from the last committed offsets."""


class FatalDeliveryError(RuntimeError):
    """The producer cannot go on (fenced by a newer instance, or an unrecoverable transaction state)."""


def transactional_id(settings: Settings) -> str:
    return f"{settings.group_id}-{settings.instance_id or socket.gethostname()}"


class TransactionalProducer(AckedProducer):
    """The producer of alerts and dead letters in exactly-once mode: what is produced joins the open
    transaction (begun on the first message), which `commit` closes together with the offsets."""

    def __init__(self, settings: Settings, producer: Producer | None = None) -> None:
        super().__init__(
            producer or new_producer(settings, **{"transactional.id": transactional_id(settings)}),
            settings.flush_timeout_s,
        )
        self._call(lambda: self.producer.init_transactions(self.flush_timeout_s))
        self._open = False

    def _begin(self) -> None:
        if not self._open:
            self._call(self.producer.begin_transaction)
            self._open = True

    def produce(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers | None = None
    ) -> None:
        self._begin()
        super().produce(topic, value, key, headers)

    def flush(self) -> None:
        """Nothing to wait for before the commit (commit_transaction flushes); report delivery errors."""
        self.raise_failures()

    def commit(self, offsets: list[TopicPartition], group_metadata: object) -> None:
        """Commit the open transaction (one is begun if none is) with the consumer's next offsets.
        Raises TransactionAborted if it had to be aborted, FatalDeliveryError if the producer is done."""
        self._begin()
        try:
            if offsets:
                timeout = self.flush_timeout_s
                self._call(lambda: self.producer.send_offsets_to_transaction(offsets, group_metadata, timeout))
            self._call(lambda: self.producer.commit_transaction(self.flush_timeout_s))
        except TransactionAborted:
            self._errors = []  # of the aborted transaction's messages: they will be produced again
            raise
        finally:
            self._open = False

    def _call(self, step: object) -> None:
        """Run one transaction step, retrying what librdkafka says is retriable; abort on what
        requires it (raising TransactionAborted); FatalDeliveryError on the rest."""
        deadline = time.monotonic() + self.flush_timeout_s
        while True:
            try:
                step()  # type: ignore[operator]
                return
            except KafkaException as e:
                err: KafkaError = e.args[0]
                if err.retriable() and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                if err.txn_requires_abort():
                    self._abort()
                    raise TransactionAborted(str(err)) from e
                raise FatalDeliveryError(f"transaction failed: {err}") from e

    def _abort(self) -> None:
        try:
            self.producer.abort_transaction(self.flush_timeout_s)
        except KafkaException as e:
            raise FatalDeliveryError(f"transaction abort failed: {e.args[0]}") from e
        finally:
            self._open = False

    def close(self) -> None:
        """Abort a transaction left open (its batches were not committed, so they are read again)."""
        if self._open:
            self._abort()
