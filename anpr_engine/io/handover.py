"""The engine's state of past reads handed over with the partitions: read back from Kafka when an
instance takes partitions over (at start, after a restart, in a rebalance), dropped when it gives
them up. Nothing is kept outside Kafka: the reads topic holds the reads, the alerts topics what was
alerted on them.

Taking over partitions, in the group's assign callback (before any of their messages is handed out):
- the alerts published within the suppression and retro windows are read back (read committed);
- the partitions' reads stamped within the retro window and before the committed offsets are read
  back and given to the engine, which keeps them for retro-hits and alerts, retro, their hits on
  the watchlist as it stands that are not among those published (Engine.take_over).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from confluent_kafka import Message as KafkaMessage
from confluent_kafka import TopicPartition

from anpr_engine.config import Settings
from anpr_engine.engine.loop import Engine
from anpr_engine.engine.ports import Batch, Message
from anpr_engine.io.alert_history import SLACK_S, recent_alerts
from anpr_engine.io.topic_readers import TopicFollower, content_type, partitions_of

log = logging.getLogger(__name__)


class Handover:
    """Keeps `engine`'s suppression state and window of recent reads in step with the partitions
    its source holds (KafkaReadSource.on_taken, on_left)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine

    def wanted(self) -> bool:
        """Whether there is any state to hand over (a suppression or a retro window)."""
        return self.engine.suppressor.window_ms > 0 or self.engine.recent is not None

    def taken(self, committed: list[TopicPartition]) -> None:
        t = time.perf_counter()
        s = self.settings
        recent = self.engine.recent
        back_s = s.suppress_s + (recent.window_ms / 1000 if recent is not None else 0.0)
        published = recent_alerts(s, back_s)
        until = {tp.partition: tp.offset for tp in committed if tp.offset >= 0}
        count = 0

        def earlier() -> Iterator[Batch]:
            nonlocal count
            if recent is None or not until:
                return
            since_ms = int((time.time() - recent.window_ms / 1000 - SLACK_S) * 1000)
            with TopicFollower(s, s.topics.reads, s.flush_timeout_s, since_ms=since_ms, partitions=until) as follower:
                for msgs in follower.messages_until(until, chunk=100_000):
                    count += len(msgs)
                    yield _batch(msgs)

        retro = self.engine.take_over(earlier(), published)
        log.info(
            "took over %d partitions in %.2fs: %d alerts published, %d earlier reads, %d retro alerts to send",
            len(committed), time.perf_counter() - t, len(published), count, retro,
        )  # fmt: skip

    def left(self, partitions: list[int]) -> None:
        self.engine.give_up(partitions)
        log.info("gave up %d partitions: their recent reads are forgotten here", len(partitions))


def _batch(msgs: list[KafkaMessage]) -> Batch:
    """Messages read back, as a batch for decoding."""
    headers = list(map(KafkaMessage.headers, msgs))
    return Batch(
        list(map(KafkaMessage.value, msgs)),
        [None if h is None else content_type(h) for h in headers],
        lambda i: Message(msgs[i].value()),
        partitions=partitions_of(msgs),
    )
