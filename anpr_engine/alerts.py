"""Alerts as they leave the engine: the JSON of an `Alert`, written straight from the batch.

Building a pydantic model per hit costs tens of microseconds; at a 2 % hit rate that was most of
the engine's time. The read rows and the entries were validated on the way in, so the alert JSON
is assembled from them directly (entries' JSON cached per entry). `Alert` remains the schema: a
test holds this encoding to `Alert.model_validate_json` and to the model's own serialization.
"""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

from anpr_engine.models import ALERT_NAMESPACE, MatchKind, WatchlistEntry

_NS = ALERT_NAMESPACE.bytes
_JSON = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False
)  # built once: json.dumps with options builds one per call


def alert_id(read_id: str, entry_id: str) -> str:
    """UUIDv5 of (read id, entry id) in the alert namespace: a redelivered read keeps its alert id."""
    h = bytearray(hashlib.sha1(_NS + f"{read_id}\x1f{entry_id}".encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


class OutgoingAlert(NamedTuple):
    """One alert ready to produce: JSON value, key (camera id) and the fields put in headers."""

    alert_id: str
    value: bytes
    key: bytes
    cross_border: bool
    agency_country: str
    list_name: str
    entry_id: str
    site: str
    ts_ms: int


def entry_json(entry: WatchlistEntry) -> str:
    return entry.model_dump_json()


class Match(NamedTuple):
    """How one reading matched one entry."""

    equivalences: int
    differences: int
    candidate: int  # 0: the read's plate_text; k: its k-th candidate
    plate_read: str
    plate_listed: str

    @property
    def kind(self) -> str:
        if "*" in self.plate_listed:
            return MatchKind.WILDCARD.value
        if self.differences:
            return MatchKind.DIFFERENCES.value
        return MatchKind.OCR_EQUIVALENT.value if self.equivalences else MatchKind.EXACT.value

    @property
    def score(self) -> float:
        """1.0 for an exact match of the best reading; less for every character equated or differing,
        and for each rank down the camera's candidates. A wildcard hit scores the share of the read's
        characters its pattern names."""
        if "*" in self.plate_listed:
            named = len(self.plate_listed) - self.plate_listed.count("*")
            cost = 1.0 - named / max(1, len(self.plate_read)) + 0.05 * self.candidate
        else:
            cost = (self.equivalences + self.differences) / max(1, len(self.plate_listed)) + 0.05 * self.candidate
        return round(max(0.0, 1.0 - cost), 4)


def encode_alert(
    read: dict[str, object], entry: WatchlistEntry, entry_js: str, match: Match, now_ms: int
) -> OutgoingAlert:
    """The alert for one (read row, entry) hit."""
    read_id = str(read["read_id"])
    aid = alert_id(read_id, entry.entry_id)
    cross = read["camera_country"] != entry.agency_country
    m = match
    value = (
        f'{{"schema_version":1,"alert_id":"{aid}","read":{_JSON.encode(read)},'
        f'"entry":{entry_js},"match":{{"kind":"{m.kind}","equivalences":{m.equivalences},'
        f'"differences":{m.differences},"score":{m.score},"candidate":{m.candidate},'
        f'"plate_read":"{m.plate_read}","plate_listed":"{m.plate_listed}"}},'
        f'"produced_at_ms":{now_ms},"cross_border":{"true" if cross else "false"}}}'
    )
    return OutgoingAlert(
        aid, value.encode(), str(read["camera_id"]).encode(), cross, entry.agency_country, entry.list_name,
        entry.entry_id, str(read["site"]), int(read["ts_ms"]),  # type: ignore[call-overload]
    )  # fmt: skip


class Suppressor:
    """One alert per listed vehicle passing one site: repeats of the same (entry, site) within
    `window_ms` of the last alert (by the reads' own timestamps, so replays behave alike) are dropped.

    State is per engine instance and in memory: after a restart a repeat may pass once more (its
    alert id is the same, so consumers can still de-duplicate).
    """

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._last: dict[tuple[str, str], int] = {}
        self._newest = 0

    def keep(self, alerts: list[OutgoingAlert]) -> list[OutgoingAlert]:
        if self.window_ms <= 0:
            return alerts
        out = []
        for a in alerts:
            key = (a.entry_id, a.site)
            last = self._last.get(key)
            if last is not None and 0 <= a.ts_ms - last < self.window_ms:
                continue
            self._last[key] = a.ts_ms
            self._newest = max(self._newest, a.ts_ms)
            out.append(a)
        if len(self._last) > 100_000:
            self._last = {k: t for k, t in self._last.items() if self._newest - t < self.window_ms}
        return out
