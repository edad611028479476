"""librdkafka's log lines are rate-limited per kind."""

from __future__ import annotations

import logging

from anpr_engine.io.client_config import RateLimit


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
