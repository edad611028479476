"""The export topics of a federated party: the records of its watchlist topic released to each
partner (federation.release), one compacted topic per partner on its own cluster, from where
MirrorMaker 2 carries them to the partner (docs/federation.md).

`export_released` replays the watchlist topic, reads back what each export topic holds, writes the
difference, and with `follow` keeps applying the watchlist's new records as they come. Writes are
idempotent (the same key and value again changes nothing on a compacted topic), so a crash at any
point is repaired by the next start's catch-up.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable

from anpr_engine.config import Settings
from anpr_engine.errors import ConfigError
from anpr_engine.federation.release import Change, Exports, catch_up
from anpr_engine.io.admin import ensure_topics, export_topics
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.io.topic_readers import TopicFollower, read_topic_to_end

log = logging.getLogger(__name__)


def export_released(
    settings: Settings, follow: bool = False, stop: Callable[[], bool] = lambda: False, idle_s: float = 0.2
) -> Counter[str]:
    """Bring every partner's export topic up to date with the watchlist topic (and with `follow`,
    keep it so until `stop()` holds); returns the records written per partner."""
    partners = settings.federation.partners
    if not partners:
        raise ConfigError("federation.partners is empty: there is nobody to release entries to")
    t = settings.topics
    ensure_topics(settings, only=[t.watchlist, *export_topics(settings)])
    exports = Exports(partners)
    written: Counter[str] = Counter()
    with (
        TopicFollower(settings, t.watchlist) as follower,
        AckedProducer(new_producer(settings), settings.flush_timeout_s) as out,
    ):
        for chunk in follower.read_to_end():
            _apply(exports, chunk)
        for p in partners:
            held = _latest(read_topic_to_end(settings, t.export(p)))
            _write(out, settings, catch_up(p, exports.exported[p], held), written)
        out.flush()
        if follow:
            log.info("export: caught up (%s records written); following %s", sum(written.values()), t.watchlist)
        while follow and not stop():
            records = follower.poll()
            if not records:
                time.sleep(idle_s)
                continue
            _write(out, settings, _apply(exports, records), written)
            out.flush()
    return written


def _apply(exports: Exports, records: Iterable[tuple[bytes | None, bytes | None]]) -> list[Change]:
    changes: list[Change] = []
    for key, value in records:
        if key is not None:
            changes += exports.apply(key.decode("utf-8", "replace"), value)
    return changes


def _latest(records: Iterable[tuple[bytes | None, bytes | None]]) -> dict[str, bytes]:
    """A compacted topic's records as they stand: the last value of each key, tombstoned keys left out."""
    out: dict[str, bytes] = {}
    for key, value in records:
        if key is None:
            continue
        if value is None:
            out.pop(key.decode("utf-8", "replace"), None)
        else:
            out[key.decode("utf-8", "replace")] = value
    return out


def _write(out: AckedProducer, settings: Settings, changes: list[Change], written: Counter[str]) -> None:
    for c in changes:
        out.produce(settings.topics.export(c.partner), c.value, c.key.encode())
        written[c.partner] += 1
