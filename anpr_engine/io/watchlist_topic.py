"""The watchlist as the compacted topic holds it: loaded at start, then followed (see TopicFollower)."""

from __future__ import annotations

from pydantic import ValidationError

from anpr_engine.config import MatchPolicy, Settings
from anpr_engine.io.consumer import TopicFollower
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import WatchlistEntry


def load_watchlist(follower: TopicFollower, policy: MatchPolicy) -> tuple[Watchlist, int]:
    """The watchlist as the topic holds it now (records applied in order, the last of a key wins,
    tombstones delete), and how many records were refused."""
    watchlist = Watchlist(policy)
    refused = 0
    for chunk in follower.read_to_end():
        refused += len(watchlist.apply(chunk))
    return watchlist, refused


def listed_entries(settings: Settings) -> dict[str, WatchlistEntry]:
    """The entries the watchlist topic lists now, by id: the last record of each key, tombstones
    and unusable records left out (for the tools; the engine keeps its own Watchlist)."""
    latest: dict[bytes | None, bytes | None] = {}
    follower = TopicFollower(settings, settings.topics.watchlist)
    try:
        for chunk in follower.read_to_end():
            latest.update(chunk)
    finally:
        follower.close()
    out: dict[str, WatchlistEntry] = {}
    for key, value in latest.items():
        if key is None or value is None:
            continue
        try:
            entry = WatchlistEntry.model_validate_json(value)
        except ValidationError:
            continue
        if entry.entry_id == key.decode("utf-8", "replace"):
            out[entry.entry_id] = entry
    return out
