"""The acknowledged producer with a fake client: a queue that stays full is a clear error."""

from __future__ import annotations

import pytest

from anpr_engine.errors import DeliveryFailed
from anpr_engine.io.producer import AckedProducer


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
