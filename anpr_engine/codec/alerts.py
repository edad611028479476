"""Alerts as they leave the engine: the JSON of an `Alert`, written straight from the batch.

Building a pydantic model per hit costs tens of microseconds; at a 2 % hit rate that was most of
the engine's time. The read rows and the entries were validated on the way in, so the alert JSON
is assembled from them directly, column lists to text (entries' JSON prepared once per entry).
`Alert` remains the schema: a test holds this encoding to `Alert.model_validate_json` and to the
model's own serialization.
"""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

import pyarrow as pa

from anpr_engine.models import ALERT_NAMESPACE, MatchKind, PlateRead, WatchlistEntry, of_party

_NS = ALERT_NAMESPACE.bytes
_S = json.encoder.encode_basestring  # a JSON string, non-ASCII kept (the C implementation where built)
_READ_FIELDS = tuple(PlateRead.model_fields)


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def alert_id(read_id: str, entry_id: str) -> str:
    """UUIDv5 of (read id, entry id) in the alert namespace: a redelivered read keeps its alert id."""
    x = hashlib.sha1(_NS + f"{read_id}\x1f{entry_id}".encode()).hexdigest()
    return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"


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
    covert: bool = False  # goes to the covert alerts topic, never the general one
    retro: bool = False
    kind: str = ""  # the match kind (models.MatchKind value)
    partner: str | None = None  # federation: the partner whose entry hit (the alert goes back to it too)


class ListedEntry(NamedTuple):
    """What an alert needs of an entry, prepared once per entry (on its first hit)."""

    entry_id: str  # unique in the table: a partner's `<party>||<id>` (alert ids and suppression use it)
    agency_country: str
    list_name: str
    plate_country: str | None
    json: str
    plate: str  # normalized as listed (a wildcard pattern with its '*')
    named: int  # characters a wildcard pattern names; -1 for a plate
    covert: bool = False  # on a covert list
    partner: str | None = None  # federation: the partner that listed it (None: this party's own entry)
    where: str = 'null,"listed_by":null'  # the alert's matched_in and listed_by values, as JSON


def listed_entry(
    entry: WatchlistEntry, entry_json: str, plate: str, covert: bool = False, home: str | None = None,
    partner: str | None = None,
) -> ListedEntry:  # fmt: skip
    """What an alert needs of `entry`, whose JSON (`entry.model_dump_json()`) the caller holds, in the
    table of party `home` (None outside a federation), listed by `partner` (None: by `home`)."""
    named = len(plate) - plate.count("*") if "*" in plate else -1
    entry_id = entry.entry_id if partner is None else of_party(partner, entry.entry_id)
    where = 'null,"listed_by":null' if home is None else f'"{home}","listed_by":"{partner or home}"'
    return ListedEntry(
        entry_id, entry.agency_country, entry.list_name, entry.plate_country, entry_json, plate, named, covert,
        partner, where,
    )  # fmt: skip


COUNTRY_MISMATCH_PENALTY = 0.1


def kind_and_score(
    equivalences: int, differences: int, candidate: int, plate_read: str, e: ListedEntry, country_mismatch: bool
) -> tuple[str, float]:
    """The match kind, and a score: 1.0 for an exact match of the best reading, less for every
    character equated or differing, for each rank down the camera's candidates and for a plate
    country other than the listed one. A wildcard hit scores the share of the read's characters its
    pattern names."""
    if e.named >= 0:
        kind = MatchKind.WILDCARD.value
        cost = 1.0 - e.named / max(1, len(plate_read))
    else:
        kind = (
            MatchKind.DIFFERENCES.value if differences
            else MatchKind.OCR_EQUIVALENT.value if equivalences else MatchKind.EXACT.value
        )  # fmt: skip
        cost = (equivalences + differences) / max(1, len(e.plate))
    penalty = 0.05 * candidate + (COUNTRY_MISMATCH_PENALTY if country_mismatch else 0.0)
    return kind, round(max(0.0, 1.0 - cost - penalty), 4)


class HitReads:
    """The fields of the reads that hit, one Python list per column (a dict per row costs more), and
    each read's JSON written field by field with the C string encoder of the json module."""

    def __init__(self, table: pa.Table) -> None:
        self.cols = {name: table[name].to_pylist() for name in _READ_FIELDS}

    def json(self, i: int) -> str:
        c = self.cols
        pc, cands = c["plate_country"][i], c["candidates"][i]
        return (
            f'{{"read_id":{_S(c["read_id"][i])},"camera_id":{_S(c["camera_id"][i])},'
            f'"camera_country":{_S(c["camera_country"][i])},"site":{_S(c["site"][i])},"lane":{c["lane"][i]},'
            f'"direction":{_S(c["direction"][i])},"ts_ms":{c["ts_ms"][i]},"plate_text":{_S(c["plate_text"][i])},'
            f'"plate_country":{"null" if pc is None else _S(pc)},"confidence":{float.__repr__(c["confidence"][i])},'
            f'"candidates":{"null" if cands is None else "[" + ",".join(map(_S, cands)) + "]"}}}'
        )


def encode_alert(
    reads: HitReads, i: int, e: ListedEntry, equivalences: int, differences: int, candidate: int, plate_read: str,
    now_ms: int, retro: bool = False,
) -> OutgoingAlert:  # fmt: skip
    """The alert for hit read i and the entry it matched, by `candidate` (0: its plate_text); `retro`
    when the read passed before the entry was listed."""
    c = reads.cols
    read_id, camera_id, site, ts_ms = c["read_id"][i], c["camera_id"][i], c["site"][i], c["ts_ms"][i]
    aid = alert_id(read_id, e.entry_id)
    cross = c["camera_country"][i] != e.agency_country
    read_country = c["plate_country"][i]
    mismatch = read_country is not None and e.plate_country is not None and read_country != e.plate_country
    kind, score = kind_and_score(equivalences, differences, candidate, plate_read, e, mismatch)
    value = (
        f'{{"schema_version":1,"alert_id":"{aid}","read":{reads.json(i)},"entry":{e.json},'
        f'"match":{{"kind":"{kind}","equivalences":{equivalences},"differences":{differences},"score":{score},'
        f'"candidate":{candidate},"plate_read":"{plate_read}","plate_listed":"{e.plate}",'
        f'"country_mismatch":{"true" if mismatch else "false"}}},'
        f'"produced_at_ms":{now_ms},"retro":{"true" if retro else "false"},"matched_in":{e.where},'
        f'"cross_border":{"true" if cross else "false"}}}'
    )
    return OutgoingAlert(
        aid, value.encode(), camera_id.encode(), cross, e.agency_country, e.list_name, e.entry_id, site, ts_ms,
        e.covert, retro, kind, e.partner,
    )  # fmt: skip
