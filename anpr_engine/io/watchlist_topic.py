"""The watchlist as the compacted topic holds it: loaded at start, then followed (see TopicFollower);
and what the tools read and write there (list records, entries, a whole-list replace)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from anpr_engine.codec.entries import EntryRows
from anpr_engine.config import Settings, replica
from anpr_engine.errors import InvariantBroken
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.io.topic_readers import TopicFollower
from anpr_engine.match.policy import MatchPolicy
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import WatchlistEntry, WatchlistList, entry_key, list_key


def load_watchlist(
    followers: Sequence[TopicFollower], policy: MatchPolicy, party: str | None = None
) -> tuple[Watchlist, int]:
    """The watchlist of party `party` (None outside a federation) as its topics hold it now: each
    follower's records applied in order (the last of a key wins, tombstones delete), a partner's
    export as that partner's (TopicFollower.party); and how many records were refused."""
    watchlist = Watchlist(policy, party=party)
    refused = 0
    for follower in followers:
        for chunk in follower.read_to_end():
            refused += len(watchlist.apply(chunk, follower.party))
    return watchlist, refused


def watchlist_followers(settings: Settings, stack: ExitStack) -> list[TopicFollower]:
    """The engine's watchlist topics, closed with `stack`: its own, and in a federation each partner's
    export to it as MirrorMaker copies it here (`<partner>.anpr.export.<party>`; the mirror creates it
    when the link starts, so an engine waits for it no longer than for any topic)."""
    t, federation = settings.topics, settings.federation
    followers = [stack.enter_context(TopicFollower(settings, t.watchlist))]
    for partner in federation.matched_abroad():
        topic = replica(partner, t.export(str(federation.party)))
        followers.append(stack.enter_context(TopicFollower(settings, topic, party=partner)))
    return followers


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
    with TopicFollower(settings, settings.topics.watchlist) as follower:
        watchlist, _ = load_watchlist([follower], settings.match)
    lists = watchlist.lists
    records = {name: r for name in lists.names() if (r := lists.record(name)) is not None}
    return TopicState(records, {key: watchlist.entry_by_key(key) for key in watchlist.entry_keys()})


class WatchlistWriter:
    """Records to the watchlist topic, each step acknowledged before the next is sent."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topics.watchlist
        self.out = AckedProducer(new_producer(settings), settings.flush_timeout_s)

    def entries(self, rows: EntryRows) -> None:
        """Entries under their record keys (see models.entry_key), as their JSON."""
        for entry_id, generation, value in zip(rows.entry_id, rows.generation.tolist(), rows.json, strict=True):
            self.out.produce(self.topic, value, entry_key(entry_id, generation).encode())
        self.out.flush()

    def tombstones(self, keys: list[str]) -> None:
        for key in keys:
            self.out.produce(self.topic, None, key.encode())
        self.out.flush()

    def list_record(self, record: WatchlistList) -> None:
        self.out.produce(self.topic, record.model_dump_json().encode(), list_key(record.list_name).encode())
        self.out.flush()


def next_generation(state: TopicState, list_name: str) -> int:
    """A generation of the list that no record on the topic has used."""
    seen = [e.generation for e in state.entries.values() if e.list_name == list_name]
    return 1 + max([state.generation(list_name), *seen])


def replace_list(
    writer: WatchlistWriter,
    state: TopicState,
    record: WatchlistList,
    rows: EntryRows,
    after_step: Callable[[str], None] = lambda step: None,
) -> int:
    """Replace a list whole by the generation `record` names (from next_generation; `rows` are of
    it): its entries, then the list record switching to it, then tombstones of every other
    generation of the list (a replace cut short before leaves some). Returns the entries removed.
    `after_step` is told each step's name."""
    if (rows.generation != record.generation).any():
        raise InvariantBroken(f"entries of another generation than {record.generation} given")
    writer.entries(rows)
    after_step("entries")
    writer.list_record(record)
    after_step("switch")
    old = [k for k, e in state.entries.items() if e.list_name == record.list_name and e.generation != record.generation]
    writer.tombstones(old)
    after_step("tombstones")
    return len(old)
