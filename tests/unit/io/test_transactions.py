"""Exactly-once transactions with a fake producer: retries, aborts, a blocked step, a producer made again."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, TopicPartition

from anpr_engine.config import Settings
from anpr_engine.errors import FatalDeliveryError, TransactionAborted
from anpr_engine.io.transactions import TransactionalProducer
from tests.helpers.kafka_fakes import FakeTxnProducer


def test_a_transaction_holds_the_batch_and_its_offsets_retries_what_is_retriable_and_aborts_when_told() -> None:
    fake = FakeTxnProducer()
    txn = TransactionalProducer(Settings(flush_timeout_s=5), lambda: fake)  # type: ignore[arg-type]
    txn.produce("alerts", b"a")
    fake.fail["commit"] = [KafkaError(KafkaError._TIMED_OUT, retriable=True)]
    txn.commit([TopicPartition("reads", 0, 7)], object())
    assert fake.calls == ["init", "begin", "produce alerts", "offsets 0:7", "commit", "commit"]
    fake.calls.clear()
    fake.fail["commit"] = [KafkaError(KafkaError._STATE, txn_requires_abort=True)]
    with pytest.raises(TransactionAborted):
        txn.commit([TopicPartition("reads", 0, 9)], object())
    assert fake.calls == ["begin", "offsets 0:9", "commit", "abort"]
    fake.fail["commit"] = [KafkaError(KafkaError._FENCED, fatal=True)]
    with pytest.raises(FatalDeliveryError, match="transaction failed"):
        txn.commit([], object())


def test_a_transaction_step_blocked_far_past_its_timeout_ends_the_process() -> None:
    """librdkafka's send_offsets_to_transaction was seen to block for good after the broker holding
    the group coordinator was killed: the watchdog must act (here it records instead of exiting)."""
    fake = FakeTxnProducer()
    txn = TransactionalProducer(Settings(flush_timeout_s=5), lambda: fake)  # type: ignore[arg-type]
    fired: list[str] = []
    txn.on_hang = lambda limit, what: fired.append(what)
    txn.hang_limit_s = 0.2
    fake.send_offsets_to_transaction = lambda *a: time.sleep(1)  # type: ignore[method-assign]
    txn.commit([TopicPartition("reads", 0, 7)], object())
    assert fired == ["send_offsets_to_transaction"]
    fake.calls.clear()
    txn.commit([], object())  # a step that returns in time: no alarm
    time.sleep(0.4)
    assert len(fired) == 1


def test_a_producer_whose_coordinator_answers_nothing_for_long_is_made_again_and_its_transaction_aborted() -> None:
    """librdkafka 2.15.1 was seen to keep a TxnCoordinator request queued for good after the only
    broker restarted: retried steps time out for ever. Past remake_after_s a new producer under the
    same transactional id fences the old one; the batch is read again (TransactionAborted)."""
    wedged, fresh = FakeTxnProducer(), FakeTxnProducer()
    made = iter([wedged, fresh])
    txn = TransactionalProducer(Settings(flush_timeout_s=5), lambda: next(made))
    txn.on_stall = lambda: None
    txn.remake_after_s = 0.3
    txn.produce("alerts", b"a")
    wedged.fail["commit"] = [KafkaError(KafkaError._TIMED_OUT, retriable=True)] * 1000
    with pytest.raises(TransactionAborted, match="made again"):
        txn.commit([TopicPartition("reads", 0, 7)], object())
    assert wedged.calls[-1] == "purge" and 2 < wedged.calls.count("commit") < 1000
    assert fresh.calls == ["init"] and txn.producer is fresh
    txn.produce("alerts", b"a")  # the next batch goes through the new producer
    txn.commit([TopicPartition("reads", 0, 7)], object())
    assert fresh.calls == ["init", "begin", "produce alerts", "offsets 0:7", "commit"]
