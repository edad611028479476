"""What every Kafka client of the project is configured with: the cluster and pass-through
properties of its role, the fetch tuning, and librdkafka's own log lines through Python logging,
rate-limited (a broker outage made it write 615 lines to stderr in 20 seconds, burying the
engine's own messages)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from anpr_engine.config import ClientRole, Settings

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


def client_logger(name: str = "anpr_engine.kafka") -> logging.Logger:
    """The logger Kafka clients are given (librdkafka config `logger`), rate-limited once."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RateLimit) for f in logger.filters):
        logger.addFilter(RateLimit())
    return logger


def client_conf(settings: Settings, role: ClientRole) -> dict[str, Any]:
    """What every Kafka client of the project is configured with, over its own tuning: the cluster,
    the pass-through properties for its role, and the rate-limited logger."""
    return {**settings.kafka_conf(role), "logger": client_logger()}


FETCH_TUNING: dict[str, str | int | float | bool] = {
    "fetch.wait.max.ms": 10,
    # batched messages (many reads each, ~100 bytes a read in Arrow) need more than 1 MiB a fetch
    "max.partition.fetch.bytes": 8 << 20,
    # a full local queue must not pause fetching for a whole second (the librdkafka default): measured
    # on batched reads, 0.73M reads/s with the default, 1.32M with this
    "fetch.queue.backoff.ms": 20,
}
