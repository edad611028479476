"""The Kafka edge with fake clients: commit answers per partition, revoke, loss, close, a full
producer queue, librdkafka's log lines rate-limited, and exactly-once transactions."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from anpr_engine.config import Settings
from anpr_engine.engine.ports import Batch, Message
from anpr_engine.io.client_config import RateLimit
from anpr_engine.io.group_source import KafkaReadSource
from anpr_engine.io.producer import AckedProducer, DeliveryFailed, StopRequested
from anpr_engine.io.transactions import FatalDeliveryError, TransactionAborted, TransactionalProducer


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
    with pytest.raises(KafkaException):
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
    with pytest.raises(KafkaException):
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
    with pytest.raises(KafkaException, match="FENCED_INSTANCE_ID"):
        source.poll_batch()
    with pytest.raises(KafkaException):
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


class FullProducer:
    def __init__(self) -> None:
        self.polls = 0

    def produce(self, *args: object, **kwargs: object) -> None:
        raise BufferError("queue full")

    def poll(self, timeout: float) -> int:
        self.polls += 1
        return 0


def test_a_producer_queue_that_stays_full_fails_with_a_clear_error() -> None:
    fake = FullProducer()
    out = AckedProducer(fake, flush_timeout_s=0.2)  # type: ignore[arg-type]
    with pytest.raises(DeliveryFailed, match="queue full"):
        out.produce("alerts", b"x")
    assert fake.polls > 0  # delivery reports were served while waiting


def test_client_log_lines_are_rate_limited_per_kind_and_say_how_many_were_held() -> None:
    now = [0.0]
    limit = RateLimit(per_window=3, window_s=10, clock=lambda: now[0])

    def record(facility: str) -> logging.LogRecord:
        return logging.LogRecord("kafka", logging.ERROR, "", 0, "%s [%s] %s", (facility, "rdkafka#1", "down"), None)

    passed = [limit.filter(record("FAIL")) for _ in range(100)]
    assert passed.count(True) == 3 and passed[:3] == [True] * 3
    assert limit.filter(record("REQTMOUT"))  # another kind has its own budget
    now[0] = 11.0
    later = record("FAIL")
    assert limit.filter(later) and "97 like it held back" in later.getMessage()


def test_a_fetch_with_an_error_event_among_its_messages_is_told_apart() -> None:
    from anpr_engine.io.kafka_errors import any_error

    eof = KafkaError(KafkaError._PARTITION_EOF)
    assert any_error([None, eof]) and not any_error([None, None]) and not any_error([])


class FakeTxnProducer:
    """A transactional producer that records its calls; `fail` maps a step to the errors it raises next."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: dict[str, list[KafkaError]] = {}

    def _step(self, name: str) -> None:
        self.calls.append(name)
        errors = self.fail.get(name)
        if errors:
            raise KafkaException(errors.pop(0))

    def init_transactions(self, timeout: float) -> None:
        self._step("init")

    def begin_transaction(self) -> None:
        self._step("begin")

    def produce(self, topic: str, value: bytes | None, key: bytes | None, **kw: Any) -> None:
        self.calls.append(f"produce {topic}")

    def send_offsets_to_transaction(self, offsets: list[TopicPartition], metadata: object, timeout: float) -> None:
        self._step("offsets " + ",".join(f"{tp.partition}:{tp.offset}" for tp in offsets))

    def commit_transaction(self, timeout: float) -> None:
        self._step("commit")

    def abort_transaction(self, timeout: float) -> None:
        self._step("abort")

    def purge(self) -> None:
        self.calls.append("purge")

    def flush(self, timeout: float) -> int:
        return 0


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
