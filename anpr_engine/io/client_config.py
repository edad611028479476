"""What every Kafka client of the project is configured with, one function per kind of client
(group consumer, topic follower, tail, producer, transactional producer, admin): its own
properties, then the cluster and the pass-through properties of its role, and librdkafka's own
log lines through Python logging, rate-limited (a broker outage made it write 615 lines to stderr
in 20 seconds, burying the engine's own messages)."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from anpr_engine.config import ClientRole, Settings

Conf = dict[str, Any]
TAIL_GROUPS = "anpr-tail-"  # the prefix of the throw-away groups of `anpr-alerts` (tail_conf)
FOLLOWER_GROUPS = "anpr-follower-"  # and of the topic followers' (follower_conf: never joined)
STATS_EVERY_MS = 2000  # librdkafka statistics of the group member (its state, for the wedge watch)
FETCH_TUNING: dict[str, str | int | float | bool] = {
    "fetch.wait.max.ms": 10,
    # batched messages (many reads each, ~100 bytes a read in Arrow) need more than 1 MiB a fetch
    "max.partition.fetch.bytes": 8 << 20,
    # a full local queue must not pause fetching for a whole second (the librdkafka default): measured
    # on batched reads, 0.73M reads/s with the default, 1.32M with this
    "fetch.queue.backoff.ms": 20,
}

WINDOW_S = 10.0
PER_WINDOW = 5  # lines of one kind let through per window


class RateLimit(logging.Filter):
    """At most PER_WINDOW records of one kind (level and librdkafka facility) per WINDOW_S; the next
    record let through says how many were held back."""

    def __init__(
        self, per_window: int = PER_WINDOW, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.per_window = per_window
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[int, str], tuple[float, int, int]] = {}  # kind -> (window start, let through, held)

    def filter(self, record: logging.LogRecord) -> bool:
        facility = str(record.args[0]) if isinstance(record.args, tuple) and record.args else record.msg
        kind = (record.levelno, facility)
        now = self.clock()
        start, passed, held = self._seen.get(kind, (now, 0, 0))
        if now - start >= self.window_s:
            start, passed = now, 0
        if passed >= self.per_window:
            self._seen[kind] = (start, passed, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} ({held} like it held back)"
        self._seen[kind] = (start, passed + 1, 0)
        return True


class OnlyWhenDebugging(logging.Filter):
    """Lets records through only while the process logs at debug level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def client_logger(name: str = "anpr_engine.kafka", quiet: bool = False) -> logging.Logger:
    """The logger Kafka clients are given (librdkafka config `logger`), rate-limited once; a quiet
    one logs only at debug level (see admin_conf)."""
    logger = logging.getLogger(name + (".quiet" if quiet else ""))
    if not any(isinstance(f, RateLimit) for f in logger.filters):
        logger.addFilter(RateLimit())
        if quiet:
            logger.addFilter(OnlyWhenDebugging())
    return logger


def client_conf(settings: Settings, role: ClientRole, quiet: bool = False) -> Conf:
    """What every Kafka client of the project is configured with, over its own tuning: the cluster,
    the pass-through properties for its role, and the rate-limited logger."""
    return {**settings.kafka_conf(role), "logger": client_logger(quiet=quiet)}


def group_consumer_conf(settings: Settings, **callbacks: Callable[..., None]) -> Conf:
    """The engine's consumer-group member (io.group_source): offsets stored and committed only by
    the engine, cooperative rebalancing, statistics for its wedge watch; `callbacks` are its
    stats_cb, on_commit and error_cb."""
    s = settings
    return {
        "group.id": s.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        **FETCH_TUNING,
        "partition.assignment.strategy": "cooperative-sticky",
        # a killed instance's partitions move to the others after this long (librdkafka default: 45 s)
        "session.timeout.ms": s.session_timeout_ms,
        "statistics.interval.ms": STATS_EVERY_MS,
        **callbacks,
        **({"group.instance.id": s.instance_id} if s.instance_id else {}),
        **client_conf(s, "consumer"),
    }


def follower_conf(settings: Settings) -> Conf:
    """A reader of whole topics outside any group (io.topic_readers.TopicFollower, the console's
    feed): partitions assigned directly, nothing committed, the end of each partition reported."""
    return {
        "group.id": f"{FOLLOWER_GROUPS}{uuid.uuid4()}",  # required by librdkafka; never joined
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        **FETCH_TUNING,
        **client_conf(settings, "consumer"),
    }


def tail_conf(settings: Settings, from_beginning: bool) -> Conf:
    """The alerts tail of `anpr-alerts`: a throw-away group, from the end or from the beginning."""
    return {
        "group.id": f"{TAIL_GROUPS}{uuid.uuid4()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest" if from_beginning else "latest",
        **client_conf(settings, "consumer"),
    }


def producer_conf(settings: Settings, **overrides: str | int | float | bool) -> Conf:
    """An idempotent, fully-acknowledged producer (acks=all, no duplicates from retries), with the
    caller's tuning over the settings' (e.g. the engine's `message.timeout.ms` 0: never give up)."""
    return {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "compression.type": "lz4",
        "queue.buffering.max.messages": 1_000_000,
        **client_conf(settings, "producer"),
        **overrides,
    }


def transactional_id(settings: Settings) -> str:
    """Stable per instance (`<group>-<instance id>`, else `<group>-<host name>`): a restarted
    instance's init_transactions fences its zombie (io.transactions)."""
    return f"{settings.group_id}-{settings.instance_id or socket.gethostname()}"


def transactional_producer_conf(settings: Settings) -> Conf:
    """The exactly-once producer: an idempotent producer under the instance's transactional id."""
    return producer_conf(settings, **{"transactional.id": transactional_id(settings)})


def admin_conf(settings: Settings, error_cb: Callable[[Any], None] | None = None, quiet: bool = False) -> Conf:
    """An admin client. `quiet`: librdkafka's own lines only at debug level, for the first contact
    with the cluster (io.admin.connect), whose failure is reported whole as one error (no broker
    answered, credentials refused) instead of a line per connection attempt."""
    return {**client_conf(settings, "admin", quiet), **({"error_cb": error_cb} if error_cb else {})}
