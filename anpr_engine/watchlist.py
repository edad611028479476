"""Watchlist: the live table of listed entries and its plate index.

Entries are upserted and deleted as the compacted watchlist topic delivers them (`apply`), while
matching goes on, so the index is changed in place instead of rebuilt. Country and validity rules are applied to the
few hits after the index probe, not to every read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from anpr_engine.alerts import ListedEntry, listed_entry
from anpr_engine.config import MatchPolicy
from anpr_engine.formats import ANY_COUNTRY, COUNTRIES, NO_FORMATS, format_table
from anpr_engine.index import Hits, PlateIndex, pattern_problem
from anpr_engine.kernels.formats import format_candidates
from anpr_engine.models import WatchlistEntry
from anpr_engine.normalize import STATUS_NAMES, NormalizedPlates, normalize_plates

NEVER = np.iinfo(np.int64).max
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
        self._entries: list[bytes | None] = []  # each entry's JSON: a model costs about 1.9 kB, its JSON 0.3
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
        """What an alert needs of the entry in `slot`, prepared once per entry (on its first hit)."""
        e = self._listed.get(slot)
        if e is None:
            raw = self._json(slot)
            entry = WatchlistEntry.model_validate_json(raw)
            e = self._listed[slot] = listed_entry(entry, raw.decode(), self.index.text(slot))
        return e

    def upsert(self, entries: Iterable[WatchlistEntry]) -> list[Rejected]:
        """Add entries, replacing any with the same id; the last of one id in `entries` wins. An entry
        whose plate is neither plate text nor a wildcard pattern is rejected, and an entry listed
        under its id before stays as it was: a bad update never unlists a vehicle."""
        batch: dict[str, WatchlistEntry] = {}
        for e in entries:
            batch[e.entry_id] = e
        rejected = self.judge(list(batch.values()))
        for r in rejected:
            del batch[r.entry_id]
        for entry_id in batch.keys() & self._slot_of.keys():
            self.delete(entry_id)
        items = list(batch.values())
        plain = [e for e in items if "*" not in e.plate]
        patterns = [e for e in items if "*" in e.plate]
        slots = self.index.add(*self._plain_plates(plain))
        slots_w, _ = self.index.add_wildcards([e.plate for e in patterns])
        if (slots < 0).any() or (slots_w < 0).any():
            raise RuntimeError("an entry judged valid was refused by the index")  # a bug, not bad input
        self._keep(plain, slots)
        self._keep(patterns, slots_w)
        return rejected

    def apply(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> list[Rejected]:
        """Records of the compacted watchlist topic, in order: a value upserts the entry under its key,
        a tombstone (None) deletes it; of several records of one key the last wins. A record that is
        unusable (no key, not an entry, an entry_id other than its key, a plate that cannot be listed)
        is rejected and leaves its key's entry as it was."""
        latest: dict[bytes, bytes | None] = {}
        rejected: list[Rejected] = []
        for key, value in records:
            if key is None:
                rejected.append(Rejected("", "watchlist record without a key"))
            else:
                latest[key] = value
        entries = []
        for key, value in latest.items():
            entry_id = key.decode("utf-8", "replace")
            if value is None:
                self.delete(entry_id)
                continue
            try:
                entry = WatchlistEntry.model_validate_json(value)
            except ValidationError as e:
                first = e.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "record"
                rejected.append(Rejected(entry_id, f"not a watchlist entry: {where}: {first['msg']}"))
                continue
            if entry.entry_id != entry_id:
                rejected.append(Rejected(entry_id, f"entry_id {entry.entry_id!r} is not the record's key"))
                continue
            entries.append(entry)
        return rejected + self.upsert(entries)

    def judge(self, entries: list[WatchlistEntry]) -> list[Rejected]:
        """The entries whose plate this watchlist cannot list, with the reason."""
        problems = plate_problems([e.plate for e in entries])
        return [Rejected(e.entry_id, why) for e, why in zip(entries, problems, strict=True) if why is not None]

    def _plain_plates(self, items: list[WatchlistEntry]) -> tuple[NormalizedPlates, np.ndarray, np.ndarray]:
        """The normalized plates of `items` and their budgets of equivalences and of differences."""
        plates = normalize_plates([e.plate for e in items], self.index.fold)
        lengths = plates.lengths.tolist()
        policy = self.policy
        budgets = {
            key: (policy.budget_for(*key), policy.differences_for(*key))
            for key in {(e.list_name, n) for e, n in zip(items, lengths, strict=True)}
        }
        per_entry = np.array([budgets[e.list_name, n] for e, n in zip(items, lengths, strict=True)], dtype=np.int8)
        per_entry = per_entry.reshape(len(items), 2)
        return plates, per_entry[:, 0].copy(), per_entry[:, 1].copy()

    def _keep(self, items: list[WatchlistEntry], slots: np.ndarray) -> None:
        """Record the entries given a slot (slot -1: rejected)."""
        self._grow(self.index.capacity)
        ok = slots >= 0
        kept = [e for e, good in zip(items, ok.tolist(), strict=True) if good]
        at = slots[ok]
        self._slot_of.update(zip((e.entry_id for e in kept), at.tolist(), strict=True))
        for e, slot in zip(kept, at.tolist(), strict=True):
            self._entries[slot] = e.model_dump_json().encode()
        self._plate_country[at] = [country_code(e.plate_country) for e in kept]
        self._valid_from[at] = [e.valid_from_ms or 0 for e in kept]
        self._valid_until[at] = [NEVER if e.valid_until_ms is None else e.valid_until_ms for e in kept]

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
        cap = 2 * n + 16
        fits = np.empty(n, dtype=bool)
        while True:
            c_read = np.empty(cap, dtype=np.int32)
            c_key = np.empty(cap, dtype=np.int64)
            c_cost = np.empty(cap, dtype=np.int8)
            total = format_candidates(
                plates.codes, plates.keys, plates.lengths, plates.breaks, rc.astype(np.int64), f.mask,
                f.breaks, f.group_start, f.class_members, self._max_budget,
                self.policy.ambiguous == "skip", self.policy.country == "lenient", c_read, c_key, c_cost, fits,
            )  # fmt: skip
            if total <= cap:
                break
            cap = total
        rows, slots = self.index.probe_keys(c_key[:total], c_cost[:total])
        return Hits.of(c_read[rows], slots, c_cost[rows]), fits

    def _grow(self, capacity: int) -> None:
        if len(self._entries) >= capacity:
            return
        extra = capacity - len(self._entries)
        self._entries.extend([None] * extra)
        self._plate_country = np.concatenate([self._plate_country, np.zeros(extra, dtype=np.uint16)])
        self._valid_from = np.concatenate([self._valid_from, np.zeros(extra, dtype=np.int64)])
        self._valid_until = np.concatenate([self._valid_until, np.full(extra, NEVER, dtype=np.int64)])
