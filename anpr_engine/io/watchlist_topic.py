"""The watchlist as the compacted topic holds it: loaded at start, then followed (see TopicFollower);
and what the tools read and write there (list records, entries, a whole-list replace)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from anpr_engine.config import MatchPolicy, Settings
from anpr_engine.io.consumer import TopicFollower
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import WatchlistEntry, WatchlistList, entry_key, list_key


def load_watchlist(follower: TopicFollower, policy: MatchPolicy) -> tuple[Watchlist, int]:
    """The watchlist as the topic holds it now (records applied in order, the last of a key wins,
    tombstones delete), and how many records were refused."""
    watchlist = Watchlist(policy)
    refused = 0
    for chunk in follower.read_to_end():
        refused += len(watchlist.apply(chunk))
    return watchlist, refused


@dataclass(frozen=True)
class TopicState:
    """What the watchlist topic lists now, as the engine sees it: list records by name, and entries
    by record key (every generation; `active` tells which match)."""

    lists: dict[str, WatchlistList]
    entries: dict[str, WatchlistEntry]

    def generation(self, list_name: str) -> int:
        record = self.lists.get(list_name)
        return 0 if record is None else record.generation

    def active(self) -> dict[str, WatchlistEntry]:
        """Entries of their list's active generation, by record key."""
        return {k: e for k, e in self.entries.items() if e.generation == self.generation(e.list_name)}


def topic_state(settings: Settings) -> TopicState:
    """The watchlist topic read to its end through the engine's own Watchlist.apply, so the tools
    see exactly what an engine started now would hold."""
    follower = TopicFollower(settings, settings.topics.watchlist)
    try:
        watchlist, _ = load_watchlist(follower, settings.match)
    finally:
        follower.close()
    lists = watchlist.lists
    records = {name: r for name in lists.names() if (r := lists.record(name)) is not None}
    return TopicState(records, {key: watchlist.entry_by_key(key) for key in watchlist.entry_keys()})


class WatchlistWriter:
    """Records to the watchlist topic, each step acknowledged before the next is sent."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topics.watchlist
        self.out = AckedProducer(new_producer(settings), settings.flush_timeout_s)

    def entries(self, entries: list[WatchlistEntry]) -> None:
        for e in entries:
            self.out.produce(self.topic, e.model_dump_json().encode(), entry_key(e.entry_id, e.generation).encode())
        self.out.flush()

    def tombstones(self, keys: list[str]) -> None:
        for key in keys:
            self.out.produce(self.topic, None, key.encode())
        self.out.flush()

    def list_record(self, record: WatchlistList) -> None:
        self.out.produce(self.topic, record.model_dump_json().encode(), list_key(record.list_name).encode())
        self.out.flush()


def replace_list(
    writer: WatchlistWriter,
    state: TopicState,
    record: WatchlistList,
    entries: list[WatchlistEntry],
    after_step: Callable[[str], None] = lambda step: None,
) -> tuple[int, int]:
    """Replace a list whole: its entries under a new generation, then the list record switching to
    it, then tombstones of every other generation of the list (a replace cut short before leaves
    some). Returns (the new generation, entries removed). `after_step` is told each step's name."""
    name = record.list_name
    seen = [e.generation for e in state.entries.values() if e.list_name == name]
    generation = 1 + max([state.generation(name), *seen])
    writer.entries([e.model_copy(update={"list_name": name, "generation": generation}) for e in entries])
    after_step("entries")
    writer.list_record(record.model_copy(update={"generation": generation}))
    after_step("switch")
    old = [k for k, e in state.entries.items() if e.list_name == name and e.generation != generation]
    writer.tombstones(old)
    after_step("tombstones")
    return generation, len(old)


def listed_entries(settings: Settings) -> dict[str, WatchlistEntry]:
    """The entries that match now (their list's active generation), by record key."""
    return topic_state(settings).active()
