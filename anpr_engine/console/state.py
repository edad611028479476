"""What the console shows, rebuilt from the alerts and feedback topics: alert cards (one per entry
and day, with its passes), the operators' verdicts, lists and entries left unanswered, and the
counts of the shared view per party (console.shared). Plain Python, no I/O: the console's feed hands it records in
order, each with the party whose cluster it was copied from (`origin`, None for this cluster's own).

In a federation an alert's party is the one whose engines matched it: the alert's `matched_in`,
else the party its topic was copied from, else this console's party; outside a federation, and for
alerts of none of these, NO_PARTY. A hit made abroad on this party's lists (`abroad`) has a card of
its own and is answered here; at the joint centre an alert is answered by the party it came from,
whose verdicts alone stand on it (the other parties' verdicts count in the rates under their party)."""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from anpr_engine.console.shared import NO_PARTY, SharedCounts, day_of, flow
from anpr_engine.models import Alert, AlertFeedback

HIGH_PRIORITY = 10  # priority 0..10: shown so that it cannot be missed
VerdictKey = tuple[str | None, str]  # (the party whose operators recorded it, None outside a federation; alert id)


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


@dataclass
class Card:
    """One watchlist entry's passes on one (UTC) day, in this party's territory or in one partner's
    (`abroad`), or at the centre from one party."""

    key: str
    day: str
    latest: Alert
    covert: bool
    kafka_ts_ms: int
    party: str = NO_PARTY  # where it was seen: the party whose engines matched it
    abroad: bool = False
    answered_by: str | None = None  # whose verdicts stand on its alerts
    alert_ids: list[str] = field(default_factory=list)
    sites: Counter[str] = field(default_factory=Counter)

    def view(self, verdicts: dict[VerdictKey, AlertFeedback], with_plates: bool = True) -> dict[str, Any]:
        """The card as the page gets it."""
        a, m = self.latest, self.latest.match
        marks_read, marks_listed = differing(m.plate_read, m.plate_listed)
        verdict = verdicts.get((self.answered_by, a.alert_id))
        out: dict[str, Any] = {
            "key": self.key,
            "alert_id": a.alert_id,
            "entry_id": a.entry.entry_id,
            "covert": self.covert,
            "retro": a.retro,
            "ts_ms": a.read.ts_ms,
            "kafka_ts_ms": self.kafka_ts_ms,
            "day": self.day,
            "party": self.party,
            "abroad": self.abroad,
            "listed_by": a.listed_by,
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
            "answered": sum(1 for i in self.alert_ids if (self.answered_by, i) in verdicts),
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
    answered_by: str | None  # whose verdicts stand on it


class ConsoleState:
    """The console's picture. Alerts are taken once by alert id (at-least-once delivery repeats
    them); the last verdict on an alert stands (the feedback topic is compacted by alert id).
    Alerts of covert lists are kept for privileged users and left out of the shared view.
    `party` is this console's party (None outside a federation), `centre` whether it is the joint
    centre's."""

    def __init__(self, unacked_limit: int = 10, party: str | None = None, centre: bool = False) -> None:
        self.unacked_limit = unacked_limit
        self.party = party
        self.centre = centre
        self.cards: dict[str, Card] = {}
        self.refs: dict[str, AlertRef] = {}  # by alert id
        self.verdicts: dict[VerdictKey, AlertFeedback] = {}
        self.unanswered_lists: Counter[str] = Counter()
        self.unanswered_entries: Counter[tuple[str, str]] = Counter()
        self.over_limit: set[tuple[str, str | None]] = set()  # (list, None) or (list, entry) past the limit
        self.list_agency: dict[str, tuple[str, bool]] = {}  # list -> (agency, covert)
        self.counts = SharedCounts()  # of the alerts of open lists
        self.alerts = 0

    def party_of(self, alert: Alert, origin: str | None) -> str:
        """The party whose engines matched `alert`, as far as it can be told (see the module's doc)."""
        return alert.matched_in or origin or self.party or NO_PARTY

    def add_alert(
        self, alert: Alert, covert: bool, kafka_ts_ms: int, origin: str | None = None, abroad: bool = False
    ) -> Card | None:
        """Take one alert (copied from `origin`'s cluster, a hit on this party's lists there if
        `abroad`); returns its card, or None for a repeat of an alert already taken."""
        aid = alert.alert_id
        if aid in self.refs:
            return None
        self.alerts += 1
        e = alert.entry
        day = day_of(alert.read.ts_ms)
        key = f"{e.entry_id}|{day}" if origin is None else f"{e.entry_id}|{day}|{origin}"
        answered_by = origin if self.centre else self.party
        party = self.party_of(alert, origin)
        card = self.cards.get(key)
        if card is None:
            card = self.cards[key] = Card(key, day, alert, covert, kafka_ts_ms, party, abroad, answered_by)
        elif alert.read.ts_ms >= card.latest.read.ts_ms:
            card.latest, card.kafka_ts_ms = alert, kafka_ts_ms
        card.alert_ids.append(aid)
        card.sites[alert.read.site] += 1
        self.refs[aid] = AlertRef(key, e.list_name, e.entry_id, covert, alert.match.kind.value, answered_by)
        self.list_agency[e.list_name] = (e.agency, covert)
        if (answered_by, aid) not in self.verdicts:
            self._unanswered(e.list_name, e.entry_id, 1)
        if not covert:
            self.counts.add(alert, day, party)
        return card

    def add_verdict(self, alert_id: str, verdict: AlertFeedback | None, origin: str | None = None) -> Card | None:
        """Take the last verdict on an alert (None: a tombstone, the verdict withdrawn) recorded by
        `origin`'s operators (None: this console's); returns the alert's card if the alert is known
        (a verdict may come before its alert) and the verdict stands on it."""
        by = origin or self.party
        had = (by, alert_id) in self.verdicts
        if verdict is None:
            self.verdicts.pop((by, alert_id), None)
        else:
            self.verdicts[by, alert_id] = verdict
        ref = self.refs.get(alert_id)
        if ref is None or ref.answered_by != by:
            return None
        if had != (verdict is not None):
            step = -1 if verdict is not None else 1
            self._unanswered(ref.list_name, ref.entry_id, step)
        return self.cards[ref.card]

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
        (every agency's if None), covert lists' only if `covert`. None at the centre: nobody
        answers there."""
        out: list[dict[str, Any]] = []
        if self.centre:
            return out

        def visible(list_name: str) -> bool:
            owner, is_covert = self.list_agency[list_name]
            return (agency is None or owner == agency) and (covert or not is_covert)

        for name, entry in sorted(self.over_limit, key=lambda k: (k[0], k[1] or "")):
            if visible(name):
                n = self.unanswered_lists[name] if entry is None else self.unanswered_entries[name, entry]
                out.append({"list_name": name, "entry_id": entry, "agency": self.list_agency[name][0], "unanswered": n})
        return out

    def days(self) -> list[str]:
        return self.counts.days()

    def shared(
        self, first_day: str | None = None, last_day: str | None = None, party: str | None = None
    ) -> dict[str, Any]:
        """The shared view (console.shared) of `party` (every party's if None) over the days
        first_day..last_day (inclusive; all if None), with the verdicts' rates."""
        verdicts = ((by or NO_PARTY, v) for (by, _), v in self.verdicts.items())
        return self.counts.view(verdicts, first_day, last_day, party)

    def hourly(
        self, first_day: str | None = None, last_day: str | None = None, party: str | None = None
    ) -> list[dict[str, Any]]:
        """Hits per party, crossing, list and hour (console.shared)."""
        return self.counts.hourly(first_day, last_day, party)
