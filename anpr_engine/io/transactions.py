"""Exactly-once delivery: a batch's alerts, its dead letters and the reads' consumed offsets are
committed in one Kafka transaction (`send_offsets_to_transaction`), so a consumer reading with
`isolation.level=read_committed` sees each alert once whatever crashes.

The transactional id is stable per instance (`<group>-<instance id>`, else `<group>-<host name>`):
a restarted instance's `init_transactions` fences its zombie, whose open transaction is aborted.
The group metadata sent with the offsets fences a member that lost its partitions in a rebalance.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from anpr_engine.config import Settings
from anpr_engine.errors import DeliveryFailed, FatalDeliveryError, TransactionAborted
from anpr_engine.io.client_config import transactional_producer_conf
from anpr_engine.io.producer import AckedProducer, Headers

log = logging.getLogger(__name__)


class TransactionalProducer(AckedProducer):
    """The producer of alerts and dead letters in exactly-once mode: what is produced joins the open
    transaction (begun on the first message), which `commit` closes together with the offsets.
    Retriable failures of a step are retried (for as long as it takes once `on_stall` is set, as for
    the at-least-once producer); a message that timed out dooms the transaction, aborted at commit."""

    def __init__(self, settings: Settings, make: Callable[[], Producer] | None = None) -> None:
        self._make = make or (lambda: Producer(transactional_producer_conf(settings)))
        super().__init__(self._make(), settings.flush_timeout_s)
        self.hang_limit_s = 2 * self.flush_timeout_s + 30  # a step's own timeout is flush_timeout_s
        self.remake_after_s = 2 * self.flush_timeout_s
        self.on_hang: Callable[[float, str], None] = _exit_hung
        self._call(lambda: self.producer.init_transactions(self.flush_timeout_s), "init_transactions")
        self._open = False
        self._doomed: str | None = None  # why the open transaction must be aborted

    def _begin(self) -> None:
        if not self._open:
            self._call(self.producer.begin_transaction, "begin_transaction")
            self._open = True

    def produce(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers | None = None
    ) -> None:
        self._begin()
        super().produce(topic, value, key, headers)

    def flush(self) -> float:
        """Wait for the acknowledgements. A stall longer than flush_timeout_s dooms the transaction:
        commit aborts it and the batch is read again. (The group may have moved on meanwhile, and
        librdkafka's send_offsets_to_transaction was seen to hang past its timeout after a broker
        outage: librdkafka issue 5456.) So does a message not delivered in time
        (transaction.timeout.ms). Any other failed delivery (e.g. not authorized) is fatal."""
        stalled = 0.0
        try:
            stalled = super().flush()
            if stalled >= self.flush_timeout_s:
                self._doomed = f"the broker stalled {stalled:.1f} s during the transaction"
        except DeliveryFailed as e:
            if not all(map(_redeliverable, e.errors)):
                raise FatalDeliveryError(str(e), e.errors) from e
            self._doomed = str(e)
        return stalled

    def commit(self, offsets: list[TopicPartition], group_metadata: object) -> None:
        """Commit the open transaction (one is begun if none is) with the consumer's next offsets.
        Raises TransactionAborted if it had to be aborted, FatalDeliveryError if the producer is done."""
        self._begin()
        try:
            if self._doomed is not None:
                doomed, self._doomed = self._doomed, None
                self._abort()
                raise TransactionAborted(doomed)
            if offsets:
                timeout = self.flush_timeout_s
                self._call(
                    lambda: self.producer.send_offsets_to_transaction(offsets, group_metadata, timeout),
                    "send_offsets_to_transaction",
                )
            self._call(lambda: self.producer.commit_transaction(self.flush_timeout_s), "commit_transaction")
        except TransactionAborted:
            self._errors = []  # of the aborted transaction's messages: they will be produced again
            raise
        finally:
            self._open = False

    def _call(self, step: Callable[[], object], what: str) -> None:
        """Run one transaction step, retrying what librdkafka says is retriable; abort on what
        requires it (raising TransactionAborted); FatalDeliveryError on the rest."""
        self._retrying(step, what, abort_on_error=True)

    def _abort(self) -> None:
        self._retrying(lambda: self.producer.abort_transaction(self.flush_timeout_s), "abort_transaction", False)
        self._open = False

    def _retrying(self, step: Callable[[], object], what: str, abort_on_error: bool) -> None:
        stall = self.stall("transaction step")
        while True:
            try:
                with self._watchdog(what):
                    step()
                stall.end()
                return
            except KafkaException as e:
                err: KafkaError = e.args[0]
                if err.retriable():
                    try:
                        stall.step(e)
                    except DeliveryFailed:
                        raise FatalDeliveryError(f"kafka: transaction failed: {err.name()}: {err.str()}") from e
                    if stall.since is not None and time.monotonic() - stall.since >= self.remake_after_s:
                        self._remake(f"a transaction step got no answer for {self.remake_after_s:.0f} s: {err}")
                        if abort_on_error:
                            raise TransactionAborted("the producer was made again") from e
                        return
                    time.sleep(0.1)
                    continue
                if abort_on_error and err.txn_requires_abort():
                    self._abort()
                    raise TransactionAborted(str(err)) from e
                raise FatalDeliveryError(f"kafka: transaction failed: {err.name()}: {err.str()}") from e

    def _remake(self, why: str) -> None:
        """Replace a producer whose coordinator connection is wedged: librdkafka 2.15.1 was seen to
        leave the TxnCoordinator request queued for good after the only broker restarted
        ("Timed out 0 in-flight, 0 retry-queued, 1 out-queue" every minute). The new producer's
        init_transactions, under the same transactional id, fences the old one and aborts its open
        transaction, so its batches are read again from the committed offsets."""
        log.warning("%s; making the producer again", why)
        old, self.producer = self.producer, self._make()
        old.purge()
        old.flush(0)
        self._errors = []
        self._open = False
        self._retrying(lambda: self.producer.init_transactions(self.flush_timeout_s), "init_transactions", False)

    @contextmanager
    def _watchdog(self, what: str) -> Iterator[None]:
        """End the process if one step blocks far past its own timeout: librdkafka's
        send_offsets_to_transaction was seen to block for good when the broker holding the group
        coordinator was killed (librdkafka issue 5456). Exiting lets the supervisor start the
        instance again, which fences this one; its transaction is aborted, nothing is lost."""
        timer = threading.Timer(self.hang_limit_s, self.on_hang, args=(self.hang_limit_s, what))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def close(self) -> None:
        """Abort a transaction left open (its batches were not committed, so they are read again)."""
        if self._open:
            self._abort()


def _exit_hung(limit_s: float, what: str) -> None:
    """Called from the watchdog thread: the main thread is stuck in librdkafka, so exit from here."""
    msg = f"error: kafka: {what} blocked for {limit_s:.0f} s (librdkafka issue 5456); exiting"
    print(msg, file=sys.stderr, flush=True)
    os._exit(1)


def _redeliverable(err: object) -> bool:
    """A delivery failure that aborting the transaction and producing again can get past."""
    return isinstance(err, KafkaError) and (
        bool(err.retriable() or err.txn_requires_abort()) or err.code() in _TIMED_OUT
    )


_TIMED_OUT = (KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT, KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT)
