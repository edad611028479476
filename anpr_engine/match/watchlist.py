"""Watchlist: the live table of listed entries and its plate index.

Entries are upserted and deleted as the compacted watchlist topic delivers them (`apply`), while
matching goes on, so the index is changed in place instead of rebuilt. Country and validity rules
are applied to the few hits after the index probe, not to every read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from anpr_engine.alerts import ListedEntry, listed_entry
from anpr_engine.config import MatchPolicy
from anpr_engine.entries import NEVER, EntryRows, decode_entries
from anpr_engine.kernels.formats import format_candidates
from anpr_engine.match.buffers import filled
from anpr_engine.match.formats import ANY_COUNTRY, COUNTRIES, NO_FORMATS, format_table
from anpr_engine.match.hits import Hits
from anpr_engine.match.plate_index import PlateIndex, pattern_problem
from anpr_engine.models import WatchlistEntry
from anpr_engine.normalize import MAX_LEN, STATUS_NAMES, NormalizedPlates, normalize_plates

_COUNTRY_SET = pa.array(COUNTRIES)


@dataclass(frozen=True)
class Rejected:
    """An entry that could not be indexed, and why."""

    entry_id: str
    reason: str


def country_code(country: str | None) -> int:
    """Two-letter country as a small int (0 = none/any), for vectorized comparison."""
    return 0 if not country else (ord(country[0]) << 8) | ord(country[1])


def plate_problems(plates: list[str]) -> list[str | None]:
    """Why each listed plate cannot be listed, or None: the one place that judges a plate (files,
    the topic and offline matching all come through here). A plate with `*` is a wildcard pattern."""
    plain = [i for i, p in enumerate(plates) if "*" not in p]
    out: list[str | None] = [pattern_problem(p) if "*" in p else None for p in plates]
    if plain:
        status = normalize_plates([plates[i] for i in plain]).status.tolist()
        for i, st in zip(plain, status, strict=True):
            if st != 0:
                out[i] = f"plate {plates[i]!r} is not plate text ({STATUS_NAMES[st]})"
    return out


class Watchlist:
    """Listed entries by id, indexed for batch matching."""

    def __init__(self, policy: MatchPolicy | None = None) -> None:
        self.policy = policy or MatchPolicy()
        self.index = PlateIndex(self.policy.ocr_classes if self.policy.mode == "ocr_equivalent" else ())
        self._formats = format_table(self.policy.ocr_classes)
        self._max_budget = max([self.policy.budget_for(""), *self.policy.list_max_equivalences.values()])
        self._slot_of: dict[str, int] = {}
        self._listed: dict[int, ListedEntry] = {}
        self._entries: list[bytes | None] = []  # each entry's JSON as received: a model costs about 1.9 kB
        self._plate_country = np.zeros(0, dtype=np.uint16)
        self._valid_from = np.zeros(0, dtype=np.int64)
        self._valid_until = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._slot_of)

    def _json(self, slot: int) -> bytes:
        e = self._entries[slot]
        if e is None:
            raise KeyError(f"slot {slot} is empty")
        return e

    def entry(self, slot: int) -> WatchlistEntry:
        return WatchlistEntry.model_validate_json(self._json(slot))

    def listed(self, slot: int) -> ListedEntry:
        """What an alert needs of the entry in `slot`, prepared once per entry (on its first hit); the
        entry's JSON as the model writes it, whatever the record looked like."""
        e = self._listed.get(slot)
        if e is None:
            entry = WatchlistEntry.model_validate_json(self._json(slot))
            e = self._listed[slot] = listed_entry(entry, entry.model_dump_json(), self.index.text(slot))
        return e

    def upsert(self, entries: Iterable[WatchlistEntry]) -> list[Rejected]:
        """Add entries, replacing any with the same id (see upsert_rows)."""
        return self.upsert_rows(EntryRows.of(list(entries)))

    def upsert_rows(self, rows: EntryRows) -> list[Rejected]:
        """Add entries, replacing any with the same id; the last of one id wins. An entry whose plate
        is neither plate text nor a wildcard pattern is rejected, and an entry listed under its id
        before stays as it was: a bad update never unlists a vehicle."""
        last = dict(zip(rows.entry_id, range(len(rows)), strict=True))
        if len(last) < len(rows):
            rows = rows.take(sorted(last.values()))
        problems = plate_problems(rows.plate)
        rejected = [Rejected(i, why) for i, why in zip(rows.entry_id, problems, strict=True) if why is not None]
        if rejected:
            rows = rows.take([i for i, why in enumerate(problems) if why is None])
        for entry_id in self._slot_of.keys() & set(rows.entry_id):
            self.delete(entry_id)
        wild = np.fromiter(("*" in p for p in rows.plate), dtype=bool, count=len(rows))
        plain = rows.take(np.flatnonzero(~wild).tolist()) if wild.any() else rows
        if len(plain):
            slots = self.index.add(*self._plain_plates(plain))
            self._keep(plain, slots)
        if wild.any():
            patterns = rows.take(np.flatnonzero(wild).tolist())
            slots, _ = self.index.add_wildcards(patterns.plate)
            self._keep(patterns, slots)
        return rejected

    def apply(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> list[Rejected]:
        """Records of the compacted watchlist topic, in order: a value upserts the entry under its key,
        a tombstone (None) deletes it; of several records of one key the last wins. A record that is
        unusable (no key, not an entry, an entry_id other than its key, a plate that cannot be listed)
        is rejected and leaves its key's entry as it was."""
        latest: dict[bytes | None, bytes | None] = dict(records)
        rejected: list[Rejected] = []
        if None in latest:
            del latest[None]
            rejected.append(Rejected("", "watchlist record without a key"))
        keys: list[str] = []
        values: list[bytes] = []
        for key, value in latest.items():
            entry_id = key.decode("utf-8", "replace")  # type: ignore[union-attr]  # None was taken out
            if value is None:
                self.delete(entry_id)
            else:
                keys.append(entry_id)
                values.append(value)
        rows, at, refused = decode_entries(values)
        rejected += [Rejected(keys[i], why) for i, why in refused]
        record_keys = [keys[i] for i in at]
        mismatched = [] if record_keys == rows.entry_id else [
            j for j, key in enumerate(record_keys) if rows.entry_id[j] != key
        ]  # fmt: skip
        if mismatched:
            rejected += [
                Rejected(keys[at[j]], f"entry_id {rows.entry_id[j]!r} is not the record's key") for j in mismatched
            ]
            rows = rows.take(sorted(set(range(len(rows))) - set(mismatched)))
        return rejected + self.upsert_rows(rows)

    def _plain_plates(self, rows: EntryRows) -> tuple[NormalizedPlates, np.ndarray, np.ndarray]:
        """The normalized plates of `rows` and their budgets of equivalences and of differences, one
        per (list, plate length) pair."""
        plates = normalize_plates(rows.plate, self.index.fold)
        if not len(rows):
            return plates, np.zeros(0, np.int8), np.zeros(0, np.int8)
        names = pa.array(rows.list_name, pa.string()).dictionary_encode()
        width = MAX_LEN + 1
        pair = names.indices.to_numpy().astype(np.int64) * width + plates.lengths
        pairs, which = np.unique(pair, return_inverse=True)
        listed = names.dictionary.to_pylist()
        policy = self.policy
        budgets = np.array(
            [(policy.budget_for(listed[k // width], k % width), policy.differences_for(listed[k // width], k % width))
             for k in pairs.tolist()], dtype=np.int8,
        )[which]  # fmt: skip
        return plates, budgets[:, 0].copy(), budgets[:, 1].copy()

    def _keep(self, rows: EntryRows, slots: np.ndarray) -> None:
        """Record the entries given these slots."""
        if (slots < 0).any():
            raise RuntimeError("an entry judged valid was refused by the index")  # a bug, not bad input
        self._grow(self.index.capacity)
        at = slots.tolist()
        self._slot_of.update(zip(rows.entry_id, at, strict=True))
        for slot, raw in zip(at, rows.json, strict=True):
            self._entries[slot] = raw
        countries = pa.array(rows.plate_country, pa.string()).dictionary_encode()
        codes = np.array([country_code(c) for c in countries.dictionary.to_pylist()] + [0], dtype=np.uint16)
        self._plate_country[slots] = codes[countries.indices.fill_null(len(codes) - 1).to_numpy()]
        self._valid_from[slots] = rows.valid_from
        self._valid_until[slots] = rows.valid_until

    def delete(self, entry_id: str) -> bool:
        """Remove an entry by id; False if it was not listed."""
        slot = self._slot_of.pop(entry_id, None)
        if slot is None:
            return False
        self.index.remove(slot)
        self._entries[slot] = None
        self._listed.pop(slot, None)
        return True

    def match(self, plates: NormalizedPlates, read_country: pa.Array, ts_ms: np.ndarray) -> Hits:
        """Hits of a normalized batch, keeping those whose validity window holds the read's time and,
        under the `strict` country policy, whose plate country is the read's OCR'd one or either is unknown.
        """
        trusted = None  # reads that fit a national format of their country: never read with differences
        if self.policy.mode == "format":
            hits, trusted = self._format_hits(plates, read_country)
        else:
            hits = self.index.probe(plates)
        if self.index.max_differences:
            hits = Hits.merged(hits, self.index.probe_differences(plates, skip=trusted))
        if self.index.wildcards:
            hits = Hits.merged(hits, self.index.probe_wildcards(plates))
        if len(hits) == 0:
            return hits
        ts = ts_ms[hits.read]
        keep = (self._valid_from[hits.slot] <= ts) & (ts <= self._valid_until[hits.slot])
        if self.policy.country == "strict":
            rc = read_country.take(pa.array(hits.read)).to_pylist()
            read_cc = np.fromiter((country_code(c) for c in rc), dtype=np.uint16, count=len(rc))
            entry_cc = self._plate_country[hits.slot]
            keep &= (entry_cc == 0) | (read_cc == 0) | (entry_cc == read_cc)
        return hits.take(keep)

    def _format_hits(self, plates: NormalizedPlates, read_country: pa.Array) -> tuple[Hits, np.ndarray]:
        """Format mode: each read's format-aware candidates (kernels/formats.py), looked up exactly;
        and which reads fit a national format of their country (those are trusted as read)."""
        n = len(plates)
        idx = pc.index_in(read_country, value_set=_COUNTRY_SET)
        rc = np.where(read_country.is_null().to_numpy(zero_copy_only=False), ANY_COUNTRY, NO_FORMATS)
        known = idx.is_valid().to_numpy(zero_copy_only=False)
        rc[known] = idx.to_numpy(zero_copy_only=False)[known]
        f = self._formats
        fits = np.empty(n, dtype=bool)
        c_read, c_key, c_cost = filled(
            2 * n + 16, (np.int32, np.int64, np.int8),
            lambda c_read, c_key, c_cost: format_candidates(
                plates.codes, plates.keys, plates.lengths, plates.breaks, rc.astype(np.int64), f.mask,
                f.breaks, f.group_start, f.class_members, self._max_budget,
                self.policy.ambiguous == "skip", self.policy.country == "lenient", c_read, c_key, c_cost, fits,
            ),
        )  # fmt: skip
        rows, slots = self.index.probe_keys(c_key, c_cost)
        return Hits.of(c_read[rows], slots, c_cost[rows]), fits

    def _grow(self, capacity: int) -> None:
        if len(self._entries) >= capacity:
            return
        extra = capacity - len(self._entries)
        self._entries.extend([None] * extra)
        self._plate_country = np.concatenate([self._plate_country, np.zeros(extra, dtype=np.uint16)])
        self._valid_from = np.concatenate([self._valid_from, np.zeros(extra, dtype=np.int64)])
        self._valid_until = np.concatenate([self._valid_until, np.full(extra, NEVER, dtype=np.int64)])
