"""The engine's ports: the messages it takes, the batches a source hands out, and the four
interfaces (source, watchlist updates, alert sink, dead-letter sink) that Kafka, files and fakes implement."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from anpr_engine.codec.alerts import OutgoingAlert


@dataclass
class Message:
    """A message as the pipeline needs it: value, key, where it came from, and its format.

    `content_type` NDJSON or ARROW_STREAM marks a batched message (many reads, from a gateway
    aggregating cameras); anything else is one JSON read. `row` is set on the units split
    out of a batched message, so a dead letter can say which line was bad.
    """

    value: bytes | None
    key: bytes | None = None
    topic: str = ""
    partition: int = -1
    offset: int = -1
    content_type: str | None = None
    row: int | None = None


@dataclass(frozen=True)
class Batch:
    """What a source hands over: message values and formats as lists; a full Message only on demand
    (for a dead letter), since building one per message costs more than the engine's whole work on it."""

    values: list[bytes | None]
    content_types: list[str | None]
    message: Callable[[int], Message]
    position: object = None  # where the source stood after handing this batch out (its own commit token)
    partitions: Sequence[int] = ()  # each message's partition, where the source has partitions

    def __len__(self) -> int:
        return len(self.values)


def batch_of(messages: Sequence[Message]) -> Batch:
    return Batch(
        [m.value for m in messages], [m.content_type for m in messages], messages.__getitem__,
        partitions=[m.partition for m in messages],
    )  # fmt: skip


class Source(Protocol):
    def poll_batch(self) -> Batch: ...
    def ready_since(self) -> float | None:
        """The time.monotonic() since which the source can deliver (e.g. partitions assigned and
        their past taken over); None while it cannot: the engine is then waiting, not idle."""
        ...

    def commit(self, batch: Batch) -> None:
        """Record that everything delivered up to and including `batch` is done (later batches may
        have been handed out already)."""
        ...


class WatchlistUpdates(Protocol):
    """A watchlist topic followed: this party's own (`party` ""), or a partner's export topic as
    MirrorMaker copies it here (`party`: the listing partner)."""

    party: str

    def poll(self) -> list[tuple[bytes | None, bytes | None]]:
        """Records of the topic (key, value; None is a tombstone) that arrived since the last call."""
        ...


class AlertSink(Protocol):
    def send(self, alerts: Sequence[OutgoingAlert]) -> None: ...
    def flush(self) -> None:
        """Block until everything sent is acknowledged; raise if any of it was not."""
        ...


class DeadLetterSink(Protocol):
    def send(self, message: Message, reason: str) -> None: ...
    def flush(self) -> None: ...
