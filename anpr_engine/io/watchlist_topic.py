"""The watchlist as the compacted topic holds it: loaded at start, then followed (see TopicFollower)."""

from __future__ import annotations

from pydantic import ValidationError

from anpr_engine.config import MatchPolicy, Settings
from anpr_engine.io.consumer import TopicFollower, read_topic_to_end
from anpr_engine.match.watchlist import Watchlist, plate_problems
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
    """The entries the watchlist topic lists now, by id: the last record of each key, with tombstones
    and the records Watchlist.apply would refuse left out (for the tools; the engine keeps its own
    Watchlist)."""
    entries: list[WatchlistEntry] = []
    for key, value in dict(read_topic_to_end(settings, settings.topics.watchlist)).items():
        if key is None or value is None:
            continue
        try:
            entry = WatchlistEntry.model_validate_json(value)
        except ValidationError:
            continue
        if entry.entry_id == key.decode("utf-8", "replace"):
            entries.append(entry)
    problems = plate_problems([e.plate for e in entries])
    return {e.entry_id: e for e, why in zip(entries, problems, strict=True) if why is None}
