"""Readers of whole topics outside any group: the watchlist followed from its beginning, a topic
read to its end, the alerts tail; and what they share with the group source."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self, cast

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka import Message as KafkaMessage

from anpr_engine.config import Settings
from anpr_engine.io.client_config import follower_conf, tail_conf
from anpr_engine.io.kafka_errors import (
    LEADER_MOVING,
    NOT_YET_THERE,
    any_error,
    at_boundary,
    broker_error,
    raise_if_fatal,
)


def topic_partitions(consumer: Consumer, topic: str, timeout_s: float) -> list[int]:
    """The partitions of `topic`. A topic just created is not in every broker's metadata at once
    (UNKNOWN_TOPIC_OR_PART, LEADER_NOT_AVAILABLE): asked again until timeout_s has passed. Raises
    the BrokerError of what it cannot get past (missing, not authorized: AccessRefused; no broker)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            meta = consumer.list_topics(topic, timeout=max(0.1, deadline - time.monotonic())).topics.get(topic)
        except KafkaException as e:
            raise broker_error(e, f"topic {topic}") from e
        err = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART) if meta is None else meta.error
        if err is None:
            return sorted(meta.partitions)
        if err.code() not in NOT_YET_THERE or time.monotonic() >= deadline:
            raise broker_error(err, f"topic {topic}")
        time.sleep(0.1)


@contextmanager
def closed_on_error(consumer: Consumer) -> Iterator[Consumer]:
    """`consumer`, closed if what is done with it raises (a reader that could not be set up)."""
    try:
        yield consumer
    except BaseException:
        consumer.close()
        raise


def content_type(headers: dict[str, str | bytes | None] | list[tuple[str, str | bytes | None]]) -> str | None:
    for k, v in headers.items() if isinstance(headers, dict) else headers:
        if k == "content-type" and v is not None:
            return v.decode("ascii", "replace") if isinstance(v, bytes) else v
    return None


def partitions_of(messages: list[KafkaMessage]) -> list[int]:
    """Each message's partition (never None for a message consumed without error)."""
    return cast("list[int]", list(map(KafkaMessage.partition, messages)))


def as_int(v: int | None) -> int:
    return -1 if v is None else v


def watermarks(consumer: Consumer, tp: TopicPartition, timeout_s: float) -> tuple[int, int]:
    """Low and high offsets of one partition, asked again while the answer is retriable (a broker
    just started, a topic just created, or leadership moving answers NOT_LEADER_FOR_PARTITION for a while)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
            return low, high
        except KafkaException as e:
            err: KafkaError = e.args[0]
            if not (err.retriable() or err.code() in LEADER_MOVING) or time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


class Closing:
    """A reader used as a context manager: `with TopicFollower(...) as f:` closes it at the end."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class TopicFollower(Closing):
    """Every record of a topic from the beginning, then each new one as it comes: all partitions
    assigned directly, no consumer group and no commits (every engine instance needs every entry
    of the compacted watchlist topic, not a share of them). Raises the BrokerError of what it
    cannot get past (anpr_engine.errors)."""

    @at_boundary
    def __init__(
        self,
        settings: Settings,
        topic: str,
        timeout_s: float | None = None,
        since_ms: int | None = None,
        partitions: Collection[int] | None = None,
        party: str = "",
    ) -> None:
        """Follow `topic` (or only `partitions` of it) from its beginning, or from its first records
        stamped since_ms or later; the broker is waited for timeout_s (default: settings.flush_timeout_s).
        `party`: whose watchlist records the topic holds (a partner's export; "" this party's own)."""
        self.topic = topic
        self.party = party
        self.timeout_s = settings.flush_timeout_s if timeout_s is None else timeout_s
        with closed_on_error(Consumer(follower_conf(settings))) as self.consumer:
            present = topic_partitions(self.consumer, topic, self.timeout_s)
            self.partitions = present if partitions is None else sorted(set(partitions) & set(present))
            self.starts = {p: OFFSET_BEGINNING for p in self.partitions}
            if since_ms is not None and self.partitions:
                asked = [TopicPartition(topic, p, since_ms) for p in self.partitions]
                for tp in self.consumer.offsets_for_times(asked, timeout=self.timeout_s):
                    self.starts[tp.partition] = tp.offset if tp.offset >= 0 else OFFSET_END  # -1: none that recent
            self.consumer.assign([TopicPartition(topic, p, o) for p, o in self.starts.items()])

    def read_to_end(self, chunk: int = 200_000) -> Iterator[list[tuple[bytes | None, bytes | None]]]:
        """Chunks of (key, value) up to the topic's end as it stands now (a tombstone's value is None)."""
        for msgs in self.messages_until({}, chunk):
            yield list(zip(map(KafkaMessage.key, msgs), map(KafkaMessage.value, msgs), strict=True))

    @at_boundary
    def messages_until(self, until: dict[int, int], chunk: int = 200_000) -> Iterator[list[KafkaMessage]]:
        """Chunks of the messages before offset until[p] of each partition p, or before its end as
        it stands now where `until` has no offset for it. Messages are taken through the client's C
        methods mapped over each fetch, and the end is checked by position once a fetch: a
        per-message Python step cost more than the load itself."""
        ends: dict[int, int] = {}
        for p in self.partitions:
            low, high = self._watermarks(p)
            start, end = self.starts[p], min(until.get(p, high), high)
            if end > low and start != OFFSET_END and end > start:
                ends[p] = end
        stop = dict(ends)
        got: list[KafkaMessage] = []
        while ends:
            msgs = self.consumer.consume(10_000, 1.0)
            errors = list(map(KafkaMessage.error, msgs))
            if any_error(errors):
                for err in errors:
                    if err is not None and err.code() != KafkaError._PARTITION_EOF:
                        raise broker_error(err, f"topic {self.topic}")
                msgs = [m for m, e in zip(msgs, errors, strict=True) if e is None]
            if until and msgs:
                offsets = map(as_int, map(KafkaMessage.offset, msgs))
                past = [o >= stop.get(p, -1) for p, o in zip(partitions_of(msgs), offsets, strict=True)]
                if any(past):
                    msgs = [m for m, x in zip(msgs, past, strict=True) if not x]
            got.extend(msgs)
            at = self.consumer.position([TopicPartition(self.topic, p) for p in ends])
            for tp in at:
                if tp.offset >= ends[tp.partition]:
                    del ends[tp.partition]
            if len(got) >= chunk:
                yield got
                got = []
        if got:
            yield got

    def _watermarks(self, partition: int) -> tuple[int, int]:
        return watermarks(self.consumer, TopicPartition(self.topic, partition), self.timeout_s)

    @at_boundary
    def poll(self, most: int = 10_000) -> list[tuple[bytes | None, bytes | None]]:
        """What has arrived since the last call, without waiting."""
        out = []
        for m in self.consumer.consume(most, 0):
            err = m.error()
            if err is None:
                out.append((m.key(), m.value()))
            else:
                raise_if_fatal(err)
        return out

    def close(self) -> None:
        self.consumer.close()


def read_topic_to_end(settings: Settings, topic: str) -> Iterator[tuple[bytes | None, bytes | None]]:
    """Every (key, value) of `topic` from the beginning up to its end at call time."""
    with TopicFollower(settings, topic) as follower:
        for chunk in follower.read_to_end():
            yield from chunk


class TailConsumer(Closing):
    """Follows a topic for display: a throw-away group, from the end or from the beginning."""

    @at_boundary
    def __init__(self, settings: Settings, topic: str, from_beginning: bool) -> None:
        with closed_on_error(Consumer(tail_conf(settings, from_beginning))) as self.consumer:
            self.consumer.subscribe([topic])

    @at_boundary
    def poll(self, timeout_s: float) -> list[bytes]:
        values = []
        for m in self.consumer.consume(1000, timeout_s):
            err = m.error()
            if err is not None:
                raise_if_fatal(err)
                continue
            v = m.value()
            if v is not None:
                values.append(v)
        return values

    def close(self) -> None:
        self.consumer.close()
