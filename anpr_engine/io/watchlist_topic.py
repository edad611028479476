"""The watchlist as the compacted topic holds it: loaded at start, then followed (see TopicFollower)."""

from __future__ import annotations

from anpr_engine.config import MatchPolicy
from anpr_engine.io.consumer import TopicFollower
from anpr_engine.watchlist import Watchlist


def load_watchlist(follower: TopicFollower, policy: MatchPolicy) -> tuple[Watchlist, int]:
    """The watchlist as the topic holds it now (records applied in order, the last of a key wins,
    tombstones delete), and how many records were refused."""
    watchlist = Watchlist(policy)
    refused = 0
    for chunk in follower.read_to_end():
        refused += len(watchlist.apply(chunk))
    return watchlist, refused
