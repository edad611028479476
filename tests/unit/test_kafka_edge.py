"""The Kafka edge with fake clients: commit answers per partition, revoke, loss, close, a full
producer queue, and librdkafka's log lines rate-limited."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from anpr_engine.config import Settings
from anpr_engine.io.client_logs import RateLimit
from anpr_engine.io.consumer import KafkaReadSource
from anpr_engine.io.producer import AckedProducer, DeliveryFailed
from anpr_engine.pipeline import Batch, Message


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
        self.callbacks[kind](self, [TopicPartition("reads", p) for p in partitions])


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
    from anpr_engine.io.consumer import any_error

    eof = KafkaError(KafkaError._PARTITION_EOF)
    assert any_error([None, eof]) and not any_error([None, None]) and not any_error([])
