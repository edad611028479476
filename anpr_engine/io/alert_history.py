"""The alerts already published, read back: a restarted engine (or one taking over partitions)
rebuilds its repeat-suppression state from them, and does not alert on its restored reads again."""

from __future__ import annotations

import json
import time

from anpr_engine.config import Settings
from anpr_engine.io.topic_readers import TopicFollower
from anpr_engine.models import of_party

SLACK_S = 60.0  # alerts are stamped when produced, a little after their reads' time: read back this much more


def published_alert(value: bytes | None) -> tuple[str, str, int, str] | None:
    """(entry id, site, read ts_ms, alert id) of an alert record, or None for anything else: the
    topic is written by the engine, but any client allowed to write it may put anything there. The
    entry id of a partner's entry is `<partner>||<id>`, as the engine's table holds it."""
    try:
        a = json.loads(value or b"")
        entry_id, site, ts, aid = a["entry"]["entry_id"], a["read"]["site"], a["read"]["ts_ms"], a["alert_id"]
        home, owner = a.get("matched_in"), a.get("listed_by")
    except (ValueError, KeyError, TypeError, IndexError, RecursionError, AttributeError):
        return None
    if not (isinstance(entry_id, str) and isinstance(site, str) and isinstance(aid, str)):
        return None
    if type(ts) is not int or not 0 <= ts < 2**63:
        return None
    if isinstance(owner, str) and owner != home:
        entry_id = of_party(owner, entry_id)
    return entry_id, site, ts, aid


def recent_alerts(settings: Settings, back_s: float) -> list[tuple[str, str, int, str]]:
    """(entry id, site, read ts_ms, alert id) of the alerts committed to the alerts topics (and the
    covert hits on partners' entries) in the last back_s seconds, oldest read first. Unparsable
    records are skipped (see published_alert)."""
    since_ms = int((time.time() - back_s - SLACK_S) * 1000)
    kept: list[tuple[str, str, int, str]] = []
    t = settings.topics
    covert_abroad = [t.hits(p, covert=True) for p in settings.federation.matched_abroad()]  # in no other topic
    for topic in (t.alerts, t.alerts_covert, *covert_abroad):
        with TopicFollower(settings, topic, settings.flush_timeout_s, since_ms=since_ms) as follower:
            for chunk in follower.read_to_end():
                kept += filter(None, map(published_alert, (v for _, v in chunk)))
    kept.sort(key=lambda k: k[2])
    return kept
