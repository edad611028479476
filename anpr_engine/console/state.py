"""What the console shows, rebuilt from the alerts and feedback topics: alert cards (one per entry
and day, with its passes), the operators' verdicts, lists and entries left unanswered, and the
counts of the shared view. Plain Python, no I/O: the console's feed hands it records in order."""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from anpr_engine.models import Alert, AlertFeedback

HIGH_PRIORITY = 10  # priority 0..10: shown so that it cannot be missed


def day_of(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d")


def differing(read: str, listed: str) -> tuple[list[int], list[int]]:
    """Positions of the characters of `read` and of `listed` that differ between the two (OCR
    look-alikes, and inserted or missing characters)."""
    marks_read: list[int] = []
    marks_listed: list[int] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, read, listed, autojunk=False).get_opcodes():
        if op != "equal":
            marks_read += range(i1, i2)
            marks_listed += range(j1, j2)
    return marks_read, marks_listed


def flow(alert: Alert) -> str | None:
    """The cross-border direction, listing country → camera country (NL→BE), None if domestic."""
    return f"{alert.entry.agency_country}→{alert.read.camera_country}" if alert.cross_border else None


@dataclass
class Card:
    """One watchlist entry's passes on one (UTC) day."""

    key: str
    latest: Alert
    covert: bool
    kafka_ts_ms: int
    alert_ids: list[str] = field(default_factory=list)
    sites: Counter[str] = field(default_factory=Counter)

    def view(self, verdicts: dict[str, AlertFeedback], with_plates: bool = True) -> dict[str, Any]:
        """The card as the page gets it."""
        a, m = self.latest, self.latest.match
        marks_read, marks_listed = differing(m.plate_read, m.plate_listed)
        verdict = verdicts.get(a.alert_id)
        out: dict[str, Any] = {
            "key": self.key,
            "alert_id": a.alert_id,
            "entry_id": a.entry.entry_id,
            "covert": self.covert,
            "retro": a.retro,
            "ts_ms": a.read.ts_ms,
            "kafka_ts_ms": self.kafka_ts_ms,
            "day": self.key.rsplit("|", 1)[1],
            "plate_text": a.read.plate_text,
            "plate_read": m.plate_read,
            "plate_listed": m.plate_listed,
            "marks_read": marks_read,
            "marks_listed": marks_listed,
            "kind": m.kind.value,
            "score": m.score,
            "equivalences": m.equivalences,
            "differences": m.differences,
            "country_mismatch": m.country_mismatch,
            "plate_country": a.read.plate_country,
            "list_name": a.entry.list_name,
            "category": a.entry.category.value,
            "priority": a.entry.priority,
            "high": a.entry.priority <= HIGH_PRIORITY,
            "action": a.entry.action.value,
            "note": a.entry.note,
            "agency": a.entry.agency,
            "agency_country": a.entry.agency_country,
            "camera_id": a.read.camera_id,
            "camera_country": a.read.camera_country,
            "site": a.read.site,
            "lane": a.read.lane,
            "direction": a.read.direction.value,
            "cross_border": a.cross_border,
            "flow": flow(a),
            "passes": len(self.alert_ids),
            "sites": dict(self.sites),
            "answered": sum(1 for i in self.alert_ids if i in verdicts),
            "verdict": None if verdict is None else verdict_view(verdict),
        }
        if not with_plates:
            for k in ("plate_text", "plate_read", "plate_listed", "entry_id", "note"):
                out[k] = None
        return out


def verdict_view(v: AlertFeedback) -> dict[str, Any]:
    return {"outcome": v.outcome.value, "reason": v.reason, "by": v.by, "at_ms": v.at_ms}


class AlertRef(NamedTuple):
    """What the console keeps of each alert besides its card: what a verdict on it needs."""

    card: str  # its card's key
    list_name: str
    entry_id: str
    covert: bool
    match_kind: str


@dataclass
class Counts:
    """Hits and cross-border hits under one key."""

    hits: int = 0
    cross_border: int = 0

    def add(self, cross: bool) -> None:
        self.hits += 1
        self.cross_border += cross


class ConsoleState:
    """The console's picture. Alerts are taken once by alert id (at-least-once delivery repeats
    them); the last verdict on an alert stands (the feedback topic is compacted by alert id).
    Alerts of covert lists are kept for privileged users and left out of the shared view."""

    def __init__(self, unacked_limit: int = 10) -> None:
        self.unacked_limit = unacked_limit
        self.cards: dict[str, Card] = {}
        self.refs: dict[str, AlertRef] = {}  # by alert id
        self.verdicts: dict[str, AlertFeedback] = {}
        self.unanswered_lists: Counter[str] = Counter()
        self.unanswered_entries: Counter[tuple[str, str]] = Counter()
        self.over_limit: set[tuple[str, str | None]] = set()  # (list, None) or (list, entry) past the limit
        self.list_agency: dict[str, tuple[str, bool]] = {}  # list -> (agency, covert)
        self.by_day: dict[tuple[str, str, str], Counts] = {}  # (day, dimension, key) -> counts
        self.alerts = 0

    def add_alert(self, alert: Alert, covert: bool, kafka_ts_ms: int) -> Card | None:
        """Take one alert; returns its card, or None for a repeat of an alert already taken."""
        aid = alert.alert_id
        if aid in self.refs:
            return None
        self.alerts += 1
        e = alert.entry
        day = day_of(alert.read.ts_ms)
        key = f"{e.entry_id}|{day}"
        card = self.cards.get(key)
        if card is None:
            card = self.cards[key] = Card(key, alert, covert, kafka_ts_ms)
        elif alert.read.ts_ms >= card.latest.read.ts_ms:
            card.latest, card.kafka_ts_ms = alert, kafka_ts_ms
        card.alert_ids.append(aid)
        card.sites[alert.read.site] += 1
        self.refs[aid] = AlertRef(key, e.list_name, e.entry_id, covert, alert.match.kind.value)
        self.list_agency[e.list_name] = (e.agency, covert)
        if aid not in self.verdicts:
            self._unanswered(e.list_name, e.entry_id, 1)
        if not covert:
            self._count(alert, day)
        return card

    def _count(self, a: Alert, day: str) -> None:
        hour = str(datetime.fromtimestamp(a.read.ts_ms / 1000, UTC).hour)
        cross = a.cross_border
        for dim, key in (
            ("all", ""),
            ("site", a.read.site),
            ("list", a.entry.list_name),
            ("category", a.entry.category.value),
            ("hour", hour),
            ("flow", flow(a) or "domestic"),
        ):
            c = self.by_day.get((day, dim, key))
            if c is None:
                c = self.by_day[day, dim, key] = Counts()
            c.add(cross)

    def add_verdict(self, alert_id: str, verdict: AlertFeedback | None) -> Card | None:
        """Take the last verdict on an alert (None: a tombstone, the verdict withdrawn); returns the
        alert's card if the alert is known (a verdict may come before its alert)."""
        had = alert_id in self.verdicts
        if verdict is None:
            self.verdicts.pop(alert_id, None)
        else:
            self.verdicts[alert_id] = verdict
        ref = self.refs.get(alert_id)
        if ref is not None and had != (verdict is not None):
            step = -1 if verdict is not None else 1
            self._unanswered(ref.list_name, ref.entry_id, step)
        return None if ref is None else self.cards[ref.card]

    def _unanswered(self, list_name: str, entry_id: str, step: int) -> None:
        """Count a hit more (1) or less (-1) unanswered, keeping the set of those past the limit
        (so that `overdue` does not walk every entry ever hit, once a second for each client)."""
        self.unanswered_lists[list_name] += step
        self.unanswered_entries[list_name, entry_id] += step
        for key, n in (
            ((list_name, None), self.unanswered_lists[list_name]),
            ((list_name, entry_id), self.unanswered_entries[list_name, entry_id]),
        ):
            if n > self.unacked_limit:
                self.over_limit.add(key)
            else:
                self.over_limit.discard(key)

    def newest_cards(self, most: int, covert: bool) -> list[Card]:
        """The cards with the newest passes first (those of covert lists only if `covert`)."""
        cards = (c for c in self.cards.values() if covert or not c.covert)
        return sorted(cards, key=lambda c: c.latest.read.ts_ms, reverse=True)[:most]

    def overdue(self, agency: str | None, covert: bool) -> list[dict[str, Any]]:
        """Lists and entries whose unanswered hits are more than unacked_limit: those of `agency`
        (every agency's if None), covert lists' only if `covert`."""
        out: list[dict[str, Any]] = []

        def visible(list_name: str) -> bool:
            owner, is_covert = self.list_agency[list_name]
            return (agency is None or owner == agency) and (covert or not is_covert)

        for name, entry in sorted(self.over_limit, key=lambda k: (k[0], k[1] or "")):
            if visible(name):
                n = self.unanswered_lists[name] if entry is None else self.unanswered_entries[name, entry]
                out.append({"list_name": name, "entry_id": entry, "agency": self.list_agency[name][0], "unanswered": n})
        return out

    def days(self) -> list[str]:
        return sorted({d for d, _, _ in self.by_day})

    def shared(self, first_day: str | None = None, last_day: str | None = None) -> dict[str, Any]:
        """The shared view over the days first_day..last_day (inclusive; all if None): hits and
        cross-border hits per crossing, list, category, hour of day, day and direction; the
        cross-border share; and the verdicts per list and match kind."""
        dims: dict[str, dict[str, Counts]] = {}
        per_day: dict[str, Counts] = {}
        for (day, dim, key), c in self.by_day.items():
            if (first_day and day < first_day) or (last_day and day > last_day):
                continue
            if dim == "all":
                per_day[day] = c
                continue
            into = dims.setdefault(dim, {}).setdefault(key, Counts())
            into.hits += c.hits
            into.cross_border += c.cross_border
        total = sum(c.hits for c in per_day.values())
        cross = sum(c.cross_border for c in per_day.values())

        def table(d: dict[str, Counts]) -> list[dict[str, Any]]:
            return [{"key": k, "hits": c.hits, "cross_border": c.cross_border} for k, c in sorted(d.items())]

        return {
            "first_day": first_day,
            "last_day": last_day,
            "hits": total,
            "cross_border": cross,
            "cross_border_share": cross / total if total else None,
            "per_day": table(per_day),
            "trend_per_day": trend([c.hits for _, c in sorted(per_day.items())]),
            **{f"per_{dim}": table(dims.get(dim, {})) for dim in ("site", "list", "category", "hour", "flow")},
            "verdicts": verdict_rates(self.verdicts.values()),
        }


def trend(series: list[int]) -> float | None:
    """Least-squares slope of a daily series, in hits per day (None for fewer than two days)."""
    n = len(series)
    if n < 2:
        return None
    mean_x, mean_y = (n - 1) / 2, sum(series) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(series))
    den = sum((x - mean_x) ** 2 for x in range(n))
    return num / den


def verdict_rates(verdicts: Any) -> list[dict[str, Any]]:
    """Per list and match kind: verdicts recorded, of which confirmed, false hits and no action,
    and the false-hit rate among them."""
    rows: dict[tuple[str, str], Counter[str]] = {}
    for v in verdicts:
        rows.setdefault((v.list_name, v.match_kind.value), Counter())[v.outcome.value] += 1
    out = []
    for (name, kind), c in sorted(rows.items()):
        n = sum(c.values())
        out.append(
            {
                "list_name": name,
                "match_kind": kind,
                "verdicts": n,
                "confirmed": c["confirmed"],
                "false_hit": c["false_hit"],
                "no_action": c["no_action"],
                "false_hit_rate": c["false_hit"] / n,
            }
        )
    return out
