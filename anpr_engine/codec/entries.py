"""Watchlist entries in bulk: the columns a Watchlist keeps, and decoding records of the watchlist
topic into them the way reads are decoded (codec/reads.py): the numba JSON parser and vectorized checks,
the WatchlistEntry model only for what they cannot vouch for. Validating every record with the
model took 7.8 µs an entry, most of a 1 000 000-entry load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from anpr_engine.codec.columns import Words, between, country_ok, str_ok, word_ok
from anpr_engine.codec.json_parse import FlatSchema, joined, parse_units
from anpr_engine.kernels.codes import UNIT_OK
from anpr_engine.models import (
    KEY_SEPARATOR,
    PARTY_SEPARATOR,
    Action,
    Category,
    WatchlistEntry,
    first_error,
    of_party,
)

NEVER = np.iinfo(np.int64).max
ENTRY_SCHEMA = pa.schema(
    [
        pa.field("entry_id", pa.string()),
        pa.field("plate", pa.string()),
        pa.field("plate_country", pa.string()),
        pa.field("list_name", pa.string()),
        pa.field("agency", pa.string()),
        pa.field("agency_country", pa.string()),
        pa.field("category", pa.string()),
        pa.field("priority", pa.int64()),
        pa.field("action", pa.string()),
        pa.field("valid_from_ms", pa.int64()),
        pa.field("valid_until_ms", pa.int64()),
        pa.field("note", pa.string()),
        pa.field("generation", pa.int64()),
    ]
)
FLAT = FlatSchema(ENTRY_SCHEMA, 0)
BULK_MIN = 64  # fewer records than this are cheaper through the model (each bulk call costs about 0.7 ms)
_CATEGORIES = Words([c.value for c in Category])
_ACTIONS = Words([a.value for a in Action])


@dataclass(frozen=True)
class EntryRows:
    """Entries as columns: what a Watchlist keeps of each, and each one's JSON (a validated record
    as received, or the model's own)."""

    entry_id: list[str]
    plate: list[str]
    plate_country: list[str | None]
    list_name: list[str]
    valid_from: np.ndarray  # int64; 0 when not given
    valid_until: np.ndarray  # int64; NEVER when not given
    generation: np.ndarray  # int32
    json: list[bytes]

    def __len__(self) -> int:
        return len(self.entry_id)

    def take(self, rows: Sequence[int]) -> EntryRows:
        idx = np.asarray(rows, dtype=np.int64)
        return EntryRows(
            [self.entry_id[i] for i in rows], [self.plate[i] for i in rows], [self.plate_country[i] for i in rows],
            [self.list_name[i] for i in rows], self.valid_from[idx], self.valid_until[idx], self.generation[idx],
            [self.json[i] for i in rows],
        )  # fmt: skip

    @staticmethod
    def of(entries: Sequence[WatchlistEntry], json: Sequence[bytes] | None = None) -> EntryRows:
        """Columns of model instances (their JSON dumped unless given)."""
        return EntryRows(
            [e.entry_id for e in entries], [e.plate for e in entries], [e.plate_country for e in entries],
            [e.list_name for e in entries],
            np.array([e.valid_from_ms or 0 for e in entries], dtype=np.int64),
            np.array([NEVER if e.valid_until_ms is None else e.valid_until_ms for e in entries], dtype=np.int64),
            np.array([e.generation for e in entries], dtype=np.int32),
            list(json) if json is not None else [e.model_dump_json().encode() for e in entries],
        )  # fmt: skip

    def of_party(self, party: str) -> EntryRows:
        """These rows as a partner's entries in this party's table: ids and list names `<party>||…`
        (models.of_party); their JSON as received."""
        return replace(
            self, entry_id=[of_party(party, i) for i in self.entry_id],
            list_name=[of_party(party, n) for n in self.list_name],
        )  # fmt: skip

    @staticmethod
    def concat(a: EntryRows, b: EntryRows) -> EntryRows:
        return EntryRows(
            a.entry_id + b.entry_id, a.plate + b.plate, a.plate_country + b.plate_country, a.list_name + b.list_name,
            np.concatenate([a.valid_from, b.valid_from]), np.concatenate([a.valid_until, b.valid_until]),
            np.concatenate([a.generation, b.generation]), a.json + b.json,
        )  # fmt: skip


def vouched_rows(t: pa.Table) -> np.ndarray:
    """Rows that certainly satisfy every WatchlistEntry constraint. A field left out or null where
    the model has a default (priority, action) is left to the model."""
    if t.num_rows == 0:
        return np.zeros(0, dtype=bool)
    return (
        str_ok(t["entry_id"], 1, 128)
        & ~pc.match_substring(t["entry_id"], KEY_SEPARATOR).fill_null(True).to_numpy()
        & str_ok(t["plate"], 1, 64)
        & country_ok(t["plate_country"], null_ok=True)
        & str_ok(t["list_name"], 1, 64)
        & ~pc.match_substring(t["list_name"], PARTY_SEPARATOR).fill_null(True).to_numpy()
        & str_ok(t["agency"], 1, 128)
        & country_ok(t["agency_country"], null_ok=False)
        & word_ok(t["category"], _CATEGORIES)
        & between(t["priority"], 0, 100)
        & word_ok(t["action"], _ACTIONS)
        & between(t["valid_from_ms"], 0, NEVER, null_ok=True)
        & between(t["valid_until_ms"], 0, NEVER, null_ok=True)
        & str_ok(t["note"], 0, 512, null_ok=True)
        & between(t["generation"], 0, 2**31 - 1, null_ok=True)
    )


def decode_entries(
    values: Sequence[bytes], bulk_min: int = BULK_MIN
) -> tuple[EntryRows, list[int], list[tuple[int, str]]]:
    """Valid entries of record values, which value each came from, and the others as (position,
    reason); fewer than `bulk_min` values go to the model alone. Never raises on a value's content."""
    if len(values) < bulk_min:
        vouched = np.zeros(len(values), dtype=bool)
        fast: list[int] = []
        rows = EntryRows.of([])
    else:
        table, status = parse_units(*joined(values), FLAT)
        vouched = status == UNIT_OK
        vouched[vouched] = vouched_rows(table.filter(pa.array(vouched)))
        fast = np.flatnonzero(vouched).tolist()
        t = table if len(fast) == table.num_rows else table.take(pa.array(fast, pa.int64()))
        rows = EntryRows(
            t["entry_id"].to_pylist(), t["plate"].to_pylist(), t["plate_country"].to_pylist(),
            t["list_name"].to_pylist(), t["valid_from_ms"].fill_null(0).to_numpy(),
            t["valid_until_ms"].fill_null(NEVER).to_numpy(), t["generation"].fill_null(0).to_numpy().astype(np.int32),
            [values[i] for i in fast],
        )  # fmt: skip
    slow: list[WatchlistEntry] = []
    slow_at: list[int] = []
    rejects: list[tuple[int, str]] = []
    for i in np.flatnonzero(~vouched).tolist():
        try:
            slow.append(WatchlistEntry.model_validate_json(values[i]))
            slow_at.append(i)
        except ValidationError as e:
            rejects.append((i, f"not a watchlist entry: {first_error(e, 'record')}"))
    if slow:
        rows = EntryRows.concat(rows, EntryRows.of(slow, [values[i] for i in slow_at]))
    return rows, fast + slow_at, rejects
