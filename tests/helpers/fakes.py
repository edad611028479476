"""In-memory fakes of the engine's ports: a source of message batches, a sink, a feed of watchlist updates."""

from __future__ import annotations

from anpr_engine.engine.ports import Batch, Message, batch_of

Record = tuple[bytes | None, bytes | None]


class ListSource:
    def __init__(self, batches: list[list[Message]]) -> None:
        self.batches = batches
        self.committed: list[Message] = []

    def poll_batch(self) -> Batch:
        return batch_of(self.batches.pop(0) if self.batches else [])

    def ready_since(self) -> float | None:
        return 0.0

    def commit(self, batch: Batch) -> None:
        self.committed.extend(batch.message(i) for i in range(len(batch)))


class ListSink:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[object] = []
        self.fail = fail

    def send(self, *items: object) -> None:
        self.sent.append(items)

    def flush(self) -> None:
        if self.fail:
            raise RuntimeError("broker did not acknowledge")


class ListUpdates:
    """Records of a watchlist topic, one list of them per poll; of a partner's export topic with `party`."""

    def __init__(self, rounds: list[list[Record]], party: str = "") -> None:
        self.rounds = rounds
        self.party = party

    def poll(self) -> list[Record]:
        return self.rounds.pop(0) if self.rounds else []
