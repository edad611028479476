"""The Kafka read source with fake clients: commit answers per partition, revoke, loss, close, a stop
while the broker acknowledges nothing, and exactly-once commits through the transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from anpr_engine.config import Settings
from anpr_engine.engine.ports import Batch, Message
from anpr_engine.errors import AccessRefused, BrokerError, StopRequested, TransactionAborted
from anpr_engine.io.group_source import KafkaReadSource
from anpr_engine.io.producer import AckedProducer
from anpr_engine.io.transactions import TransactionalProducer
from tests.helpers.kafka_fakes import FakeTxnProducer


class Answer(NamedTuple):
    """A partition in a commit answer (confluent_kafka's TopicPartition.error cannot be set)."""

    topic: str
    partition: int
    offset: int
    error: KafkaError | None = None


class FakeConsumer:
    """Records subscriptions and commits; answers commits as told."""

    def __init__(self, conf: dict[str, Any]) -> None:
        self.conf = conf
        self.callbacks: dict[str, Callable[..., None]] = {}
        self.commits: list[tuple[dict[tuple[str, int], int], bool]] = []
        self.partition_errors: dict[int, KafkaError] = {}
        self.request_error: KafkaError | None = None
        self.closed = False
        self.assigned: set[int] = set()
        self.paused: set[int] = set()

    def subscribe(self, topics: list[str], **callbacks: Callable[..., None]) -> None:
        self.callbacks = callbacks

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> list[Answer] | None:
        self.commits.append(({(tp.topic, tp.partition): tp.offset for tp in offsets}, asynchronous))
        answer = [Answer(tp.topic, tp.partition, tp.offset, self.partition_errors.get(tp.partition)) for tp in offsets]
        if asynchronous:
            self.conf["on_commit"](self.request_error, answer)
            return None
        if self.request_error is not None:
            raise KafkaException(self.request_error)
        return answer

    def close(self) -> None:
        self.closed = True

    def rebalance(self, kind: str, *partitions: int) -> None:
        if kind == "on_assign":
            self.assigned |= set(partitions)
        else:
            self.assigned -= set(partitions)
        self.callbacks[kind](self, [TopicPartition("reads", p) for p in partitions])

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition("reads", p) for p in sorted(self.assigned)]

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused |= {tp.partition for tp in partitions}

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused -= {tp.partition for tp in partitions}

    def poll(self, timeout: float) -> None:
        return None

    def consume(self, n: int, timeout: float) -> list[Any]:
        return []


def _source(interval_ms: int = 0) -> tuple[KafkaReadSource, FakeConsumer]:
    made: list[FakeConsumer] = []

    def client(conf: dict[str, Any]) -> FakeConsumer:
        made.append(FakeConsumer(conf))
        return made[0]

    source = KafkaReadSource(Settings(commit_interval_ms=interval_ms), client)  # type: ignore[arg-type]
    made[0].rebalance("on_assign", 0, 1, 2)
    return source, made[0]


def _batch(**offsets: int) -> Batch:
    position = [TopicPartition("reads", int(p[1:]), o) for p, o in offsets.items()]
    return Batch([], [], lambda i: Message(None), position)


def test_a_failed_partition_in_a_commit_answer_raises_at_the_next_commit() -> None:
    source, fake = _source()
    fake.partition_errors[1] = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    source.commit(_batch(p0=10, p1=20))  # the request succeeds; partition 1 does not
    with pytest.raises(AccessRefused):
        source.commit(_batch(p0=11, p1=21))


def test_a_partition_refused_because_of_a_rebalance_is_not_an_error() -> None:
    source, fake = _source()
    fake.partition_errors[1] = KafkaError(KafkaError.REBALANCE_IN_PROGRESS)
    source.commit(_batch(p0=10, p1=20))
    source.commit(_batch(p0=11, p1=21))
    assert [c for c, _ in fake.commits] == [{("reads", 0): 10, ("reads", 1): 20}, {("reads", 0): 11, ("reads", 1): 21}]


def test_a_commit_the_coordinator_could_not_answer_is_not_an_error() -> None:
    """Seen by hand in a broker outage: an async commit failed with _WAIT_COORD and the engine exited."""
    source, fake = _source()
    fake.request_error = KafkaError(KafkaError._WAIT_COORD)
    source.commit(_batch(p0=5))
    fake.request_error = None
    source.commit(_batch(p0=9))  # the failure above is not raised here
    assert [c for c, _ in fake.commits] == [{("reads", 0): 5}, {("reads", 0): 9}]


def test_revoke_commits_the_settled_positions_of_the_leaving_partitions_only() -> None:
    source, fake = _source(interval_ms=3_600_000)  # hold positions back
    source.commit(_batch(p0=5, p1=6))  # first commit goes out at once
    source.commit(_batch(p0=10, p1=20, p2=30))  # held back
    fake.rebalance("on_revoke", 1)
    assert fake.commits[-1] == ({("reads", 1): 20}, False)  # waited for
    source.commit(_batch(p0=11, p1=25, p2=31))  # partition 1 is no longer ours: its position is not kept
    source.close()
    assert fake.commits[-1] == ({("reads", 0): 11, ("reads", 2): 31}, False) and fake.closed


def test_close_waits_for_the_last_positions_even_when_they_were_sent_already() -> None:
    source, fake = _source(interval_ms=0)  # every batch's positions sent at once, without waiting
    source.commit(_batch(p0=10, p1=20))
    source.close()
    assert fake.commits == [({("reads", 0): 10, ("reads", 1): 20}, True), ({("reads", 0): 10, ("reads", 1): 20}, False)]


def test_lost_partitions_positions_are_dropped_not_committed() -> None:
    source, fake = _source(interval_ms=3_600_000)
    source.commit(_batch(p0=1))
    source.commit(_batch(p0=10, p1=20))
    fake.rebalance("on_lost", 0, 1)
    source.close()
    assert fake.commits == [({("reads", 0): 1}, True)] and fake.closed  # nothing more, not even on close


@pytest.mark.parametrize("where", ["request", "partition"])
def test_close_closes_the_client_when_its_last_commit_fails(where: str) -> None:
    source, fake = _source(interval_ms=3_600_000)
    source.commit(_batch(p0=1))
    source.commit(_batch(p0=10))
    error = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    if where == "request":
        fake.request_error = error
    else:
        fake.partition_errors[0] = error
    with pytest.raises(AccessRefused):
        source.close()
    assert fake.closed


def test_held_fetching_pauses_every_partition_even_those_lost_and_assigned_again_and_resumes_them() -> None:
    """A partition paused, lost in a session timeout and assigned again stays paused in librdkafka:
    found by hand (the engine stalled forever after a broker outage), so each assignment is set."""
    source, fake = _source()
    source.hold()
    assert fake.paused == {0, 1, 2}
    fake.rebalance("on_lost", 0, 1, 2)
    fake.paused.add(5)  # librdkafka keeps a lost partition's pause flag
    fake.rebalance("on_assign", 0, 5)
    assert fake.paused >= {0, 5}
    source.poll_batch()  # delivery works again
    assert fake.paused.isdisjoint(fake.assigned)
    fake.rebalance("on_assign", 1, 2)  # still flagged paused since they were lost
    assert fake.paused.isdisjoint(fake.assigned) and fake.assigned == {0, 1, 2, 5}


def test_a_fatal_client_error_reported_only_through_the_error_callback_ends_the_source() -> None:
    """Seen by hand: a static member fenced after its session timed out in a broker outage got
    nothing from poll for ever, and the engine idled instead of exiting for its supervisor."""
    source, fake = _source()
    fake.conf["error_cb"](KafkaError(KafkaError._TRANSPORT))  # not fatal: the client retries
    source.poll_batch()
    fake.conf["error_cb"](KafkaError(KafkaError.FENCED_INSTANCE_ID, fatal=True))
    with pytest.raises(BrokerError, match="FENCED_INSTANCE_ID"):
        source.poll_batch()
    with pytest.raises(BrokerError):
        source.hold()


class SilentProducer:
    """A producer whose broker never acknowledges what it was given."""

    def produce(self, *args: object, **kwargs: object) -> None:
        pass

    def flush(self, timeout: float) -> int:
        time.sleep(timeout / 50)
        return 1


def test_a_stop_asked_for_while_the_broker_acknowledges_nothing_ends_the_wait_and_commits_nothing() -> None:
    """Seen in CI: SIGTERM to an engine whose broker never acknowledged again did not end it."""
    source, fake = _source()
    out = AckedProducer(SilentProducer(), flush_timeout_s=0.2, on_stall=source.hold)  # type: ignore[arg-type]
    out.produce("alerts", b"x")
    source.commit(_batch(p0=4))
    source.request_stop()
    with pytest.raises(StopRequested):
        out.flush()  # without the stop, this waits for as long as the broker takes
    commits = len(fake.commits)
    source.close()
    assert fake.closed and len(fake.commits) == commits


class FakeTransactions:
    def __init__(self, abort: bool) -> None:
        self.abort = abort
        self.commits: list[list[tuple[int, int]]] = []

    def commit(self, offsets: list[TopicPartition], metadata: object) -> None:
        self.commits.append([(tp.partition, tp.offset) for tp in offsets])
        if self.abort:
            raise TransactionAborted("told to")


@pytest.mark.parametrize("abort", [False, True])
def test_exactly_once_commits_held_partitions_in_the_transaction_and_rewinds_after_an_abort(abort: bool) -> None:
    made: list[FakeConsumer] = []

    def client(conf: dict[str, Any]) -> FakeConsumer:
        made.append(FakeConsumer(conf))
        return made[0]

    txn = FakeTransactions(abort)
    source = KafkaReadSource(Settings(), client, transactions=txn)  # type: ignore[arg-type]
    fake = made[0]
    fake.rebalance("on_assign", 0, 1)
    seeks: list[tuple[int, int]] = []
    fake.consumer_group_metadata = lambda: "group"  # type: ignore[attr-defined]
    fake.assignment = lambda: [TopicPartition("reads", 0), TopicPartition("reads", 1)]  # type: ignore[attr-defined]
    fake.committed = lambda tps, timeout: [TopicPartition("reads", 0, 5), TopicPartition("reads", 1, -1001)]  # type: ignore[attr-defined]
    fake.seek = lambda tp: seeks.append((tp.partition, tp.offset))  # type: ignore[attr-defined]
    source.commit(_batch(p0=10, p1=20, p2=30))  # partition 2 is not held
    assert txn.commits == [[(0, 10), (1, 20)]] and fake.commits == []  # no consumer commit in this mode
    assert seeks == ([(0, 5), (1, OFFSET_BEGINNING)] if abort else [])


def test_a_stop_while_closing_gives_up_an_abort_the_broker_does_not_answer_and_closes_the_client() -> None:
    """Found reading the change: after a requested stop, close's abort of an open transaction retried
    through the stall hook, which raised StopRequested out of close (a traceback, not a clean exit)."""
    fake = FakeTxnProducer()
    txn = TransactionalProducer(Settings(flush_timeout_s=5), lambda: fake)  # type: ignore[arg-type]
    made: list[FakeConsumer] = []

    def client(conf: dict[str, Any]) -> FakeConsumer:
        made.append(FakeConsumer(conf))
        return made[0]

    source = KafkaReadSource(Settings(), client, transactions=txn)  # type: ignore[arg-type]
    txn.on_stall = source.hold
    txn.produce("alerts", b"a")  # a transaction left open
    fake.fail["abort"] = [KafkaError(KafkaError._TRANSPORT, retriable=True)]
    source.request_stop()
    source.close()
    assert made[0].closed and fake.calls[-1] == "abort"


def test_a_member_whose_group_has_no_coordinator_for_long_is_made_again_and_one_in_a_joined_group_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[FakeConsumer] = []

    def client(conf: dict[str, Any]) -> FakeConsumer:
        made.append(FakeConsumer(conf))
        return made[-1]

    now = [1000.0]
    monkeypatch.setattr("anpr_engine.io.group_source.time.monotonic", lambda: now[0])
    source = KafkaReadSource(Settings(session_timeout_ms=10_000), client)  # type: ignore[arg-type]
    made[0].rebalance("on_assign", 0, 1)
    for _ in range(20):  # joined: statistics say "up" every 2 s, whatever the time since the start
        now[0] += 2
        made[0].conf["stats_cb"]('{"cgrp": {"state": "up", "join_state": "steady"}}')
        source.poll_batch()
    assert len(made) == 1
    made[0].conf["stats_cb"]("not json")
    for state in ["wait-coord", "query-coord"] * 7:  # 28 s without a coordinator: still waited for
        now[0] += 2
        made[0].conf["stats_cb"](f'{{"cgrp": {{"state": "{state}"}}}}')
        source.poll_batch()
    assert len(made) == 1
    now[0] += 3
    source.poll_batch()  # 31 s: the member leaves and joins again with a new client
    assert len(made) == 2 and made[0].closed and not made[1].closed
    assert source.ready_since() is None and made[1].callbacks  # subscribed again, no partition yet
    source.request_stop()
    now[0] += 100
    source.poll_batch()  # stopping: no new client
    assert len(made) == 2
