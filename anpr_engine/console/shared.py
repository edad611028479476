"""The shared view's counts: hits and cross-border hits of the alerts of open lists, per day and
party under each dimension (crossing, list, category, hour of the day, direction), and per hour,
party, crossing and list; the view of them over a period and party, the trend, and the verdict
rates. Plain Python, no I/O: console.state hands it each alert once, with its party."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from anpr_engine.models import Alert, AlertFeedback

NO_PARTY = "—"  # the party of alerts outside a federation
# the view's tables, each per party and: day, hour of the day (UTC), hour (day and hour), crossing, list,
# category, direction
SHARED_DIMENSIONS = ("day", "hour", "day_hour", "site", "list", "category", "flow")


def day_of(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d")


def hour_of(ts_ms: int) -> int:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).hour


def flow(alert: Alert) -> str | None:
    """The cross-border direction, listing country → camera country (NL→BE), None if domestic."""
    return f"{alert.entry.agency_country}→{alert.read.camera_country}" if alert.cross_border else None


@dataclass
class Counts:
    """Hits and cross-border hits under one key."""

    hits: int = 0
    cross_border: int = 0

    def add(self, cross: bool) -> None:
        self.hits += 1
        self.cross_border += cross

    def add_counts(self, c: Counts) -> None:
        self.hits += c.hits
        self.cross_border += c.cross_border


def in_view(day: str, party: str, first_day: str | None, last_day: str | None, only: str | None) -> bool:
    return not ((first_day and day < first_day) or (last_day and day > last_day) or (only and party != only))


class SharedCounts:
    """The counts, kept as each alert comes so that a view sums days, not alerts."""

    def __init__(self) -> None:
        self.by_day: dict[tuple[str, str, str, str], Counts] = {}  # (day, party, dimension, key) -> counts
        self.by_hour: dict[tuple[str, int, str, str, str], Counts] = {}  # (day, hour, party, site, list) -> counts
        self.parties: set[str] = set()

    def add(self, a: Alert, day: str, party: str) -> None:
        hour = hour_of(a.read.ts_ms)
        cross = a.cross_border
        self.parties.add(party)
        for dim, key in (
            ("all", ""),
            ("site", a.read.site),
            ("list", a.entry.list_name),
            ("category", a.entry.category.value),
            ("hour", str(hour)),
            ("flow", flow(a) or "domestic"),
        ):
            c = self.by_day.get((day, party, dim, key))
            if c is None:
                c = self.by_day[day, party, dim, key] = Counts()
            c.add(cross)
        c = self.by_hour.get((day, hour, party, a.read.site, a.entry.list_name))
        if c is None:
            c = self.by_hour[day, hour, party, a.read.site, a.entry.list_name] = Counts()
        c.add(cross)

    def days(self) -> list[str]:
        return sorted({d for d, _, _, _ in self.by_day})

    def view(
        self,
        verdicts: Iterable[tuple[str, AlertFeedback]],
        first_day: str | None = None,
        last_day: str | None = None,
        party: str | None = None,
    ) -> dict[str, Any]:
        """The view over the days first_day..last_day (inclusive; all if None) of `party`'s alerts
        (every party's if None): hits and cross-border hits per party, and per party and each of
        SHARED_DIMENSIONS; the cross-border share; the trend; and the rates of `verdicts` (with the
        party that recorded each) per party, list and match kind."""
        dims: dict[str, dict[tuple[str, str], Counts]] = {}
        per_day: dict[str, Counts] = {}
        per_party: dict[str, Counts] = {}

        def into(dim: str, key: str, p: str, c: Counts) -> None:
            dims.setdefault(dim, {}).setdefault((key, p), Counts()).add_counts(c)

        for (day, p, dim, key), c in self.by_day.items():
            if not in_view(day, p, first_day, last_day, party):
                continue
            if dim == "all":
                per_day.setdefault(day, Counts()).add_counts(c)
                per_party.setdefault(p, Counts()).add_counts(c)
                into("day", day, p, c)
                continue
            into(dim, key, p, c)
            if dim == "hour":
                into("day_hour", f"{day}T{int(key):02d}", p, c)
        total = sum(c.hits for c in per_day.values())
        cross = sum(c.cross_border for c in per_day.values())

        def table(d: dict[tuple[str, str], Counts]) -> list[dict[str, Any]]:
            return [
                {"key": k, "party": p, "hits": c.hits, "cross_border": c.cross_border}
                for (k, p), c in sorted(d.items())
            ]

        return {
            "first_day": first_day,
            "last_day": last_day,
            "party": party,
            "parties": sorted(self.parties),
            "hits": total,
            "cross_border": cross,
            "cross_border_share": cross / total if total else None,
            "per_party": [
                {"key": p, "hits": c.hits, "cross_border": c.cross_border} for p, c in sorted(per_party.items())
            ],
            "trend_per_day": trend([c.hits for _, c in sorted(per_day.items())]),
            **{f"per_{dim}": table(dims.get(dim, {})) for dim in SHARED_DIMENSIONS},
            "verdicts": verdict_rates((p, v) for p, v in verdicts if party is None or p == party),
        }

    def hourly(
        self, first_day: str | None = None, last_day: str | None = None, party: str | None = None
    ) -> list[dict[str, Any]]:
        """Hits and cross-border hits per party, crossing, list and hour (UTC), oldest hour first,
        over the days and party as for `view`."""
        return [
            {"hour": f"{day}T{hour:02d}:00Z", "party": p, "site": site, "list": list_name, "hits": c.hits,
             "cross_border": c.cross_border}
            for (day, hour, p, site, list_name), c in sorted(self.by_hour.items())
            if in_view(day, p, first_day, last_day, party)
        ]  # fmt: skip


def trend(series: list[int]) -> float | None:
    """Least-squares slope of a daily series, in hits per day (None for fewer than two days)."""
    n = len(series)
    if n < 2:
        return None
    mean_x, mean_y = (n - 1) / 2, sum(series) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(series))
    den = sum((x - mean_x) ** 2 for x in range(n))
    return num / den


def verdict_rates(verdicts: Iterable[tuple[str, AlertFeedback]]) -> list[dict[str, Any]]:
    """Per party (whose operators recorded them), list and match kind: verdicts recorded, of which
    confirmed, false hits and no action, and the false-hit rate among them."""
    rows: dict[tuple[str, str, str], Counter[str]] = {}
    for party, v in verdicts:
        rows.setdefault((party, v.list_name, v.match_kind.value), Counter())[v.outcome.value] += 1
    out = []
    for (party, name, kind), c in sorted(rows.items()):
        n = sum(c.values())
        out.append(
            {
                "party": party,
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
