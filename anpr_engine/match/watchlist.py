"""Watchlist: the live table of listed entries and lists, and its plate index.

Entries and list records are upserted and deleted as the compacted watchlist topic delivers them
(`apply`), while matching goes on, so the index is changed in place instead of rebuilt. Country,
validity and active-generation rules are applied to the few hits after the index probe, not to
every read.

Whole-list replace works by generations: a replace publishes the list's entries under a new
generation (keys `<entry_id>|<generation>`), then the list record naming that generation active,
then tombstones of the old generation. An entry matches only while its generation is its list's
active one, so matching sees the old list whole until the one record that switches it, and the new
list whole after it, whatever prefix of the replace the topic holds (after a restart too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from anpr_engine.codec.alerts import ListedEntry, listed_entry
from anpr_engine.codec.entries import NEVER, EntryRows, decode_entries
from anpr_engine.errors import InvariantBroken
from anpr_engine.kernels.codes import MAX_LEN, PLATE_OK
from anpr_engine.match.formats import format_candidates, format_table
from anpr_engine.match.hits import Hits
from anpr_engine.match.json_store import JsonStore
from anpr_engine.match.key_map import KeyMap
from anpr_engine.match.lists import Lists
from anpr_engine.match.normalize import STATUS_NAMES, NormalizedPlates, normalize_plates
from anpr_engine.match.plate_index import PlateIndex, pattern_problem
from anpr_engine.match.policy import MatchPolicy
from anpr_engine.models import (
    KEY_SEPARATOR,
    LIST_KEY_PREFIX,
    WatchlistEntry,
    WatchlistList,
    entry_key,
    first_error,
    list_key,
    of_party,
)


@dataclass(frozen=True)
class Rejected:
    """A record that could not be applied (its key: an entry's id, with `|<generation>` after
    generation 0), and why."""

    key: str
    reason: str


@dataclass(frozen=True)
class Fresh:
    """Entries that became matchable in one apply (added, switched active by a replace, or their
    validity extended), and the validity each had before (empty, from > until, if it had none):
    what retro-hits are checked for."""

    rows: EntryRows
    was_from: np.ndarray
    was_until: np.ndarray


def country_code(country: str | None) -> int:
    """Two-letter country as a small int (0 = none/any), for vectorized comparison."""
    return 0 if not country else (ord(country[0]) << 8) | ord(country[1])


def plate_problems(plates: list[str]) -> list[str | None]:
    """Why each listed plate cannot be listed, or None: the one place that judges a plate (files,
    the topic and offline matching all come through here). A plate with `*` is a wildcard pattern."""
    arr = pa.array(plates, pa.string())
    wild = np.asarray(pc.fill_null(pc.match_substring(arr, "*"), False).to_numpy(zero_copy_only=False), dtype=bool)
    out: list[str | None] = [None] * len(plates)
    for i in np.flatnonzero(wild).tolist():
        out[i] = pattern_problem(plates[i])
    plain = np.flatnonzero(~wild)
    if len(plain):
        status = normalize_plates(arr if len(plain) == len(plates) else arr.take(pa.array(plain))).status
        for j in np.flatnonzero(status != PLATE_OK).tolist():
            i = int(plain[j])
            out[i] = f"plate {plates[i]!r} is not plate text ({STATUS_NAMES[int(status[j])]})"
    return out


class Watchlist:
    """Listed entries by id, indexed for batch matching."""

    def __init__(self, policy: MatchPolicy | None = None, lists: Lists | None = None, party: str | None = None) -> None:
        """An empty table of party `party` (None outside a federation: alerts then name no party)."""
        self.policy = policy or MatchPolicy()
        self.lists = lists or Lists()
        self.party = party
        self.track_fresh = False  # collect what becomes matchable, for retro-hits (see take_fresh)
        self._fresh: list[tuple[list[int], np.ndarray, np.ndarray]] = []
        self._fresh_rows: list[EntryRows] = []
        self.index = PlateIndex(self.policy.ocr_classes if self.policy.mode == "ocr_equivalent" else ())
        self._formats = format_table(self.policy.ocr_classes)
        self._max_budget = max([self.policy.budget_for(""), *self.policy.list_max_equivalences.values()])
        self._keys = KeyMap()  # record key <-> slot
        self._listed: dict[int, ListedEntry] = {}
        self._store = JsonStore()  # each entry's JSON as received (a model costs about 1.9 kB)
        self._list = np.zeros(0, dtype=np.int32)
        self._generation = np.zeros(0, dtype=np.int32)
        self._plate_country = np.zeros(0, dtype=np.uint16)
        self._valid_from = np.zeros(0, dtype=np.int64)
        self._valid_until = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def nbytes(self) -> int:
        """Bytes held by the watchlist's arrays and stores (the index included)."""
        arrays = (self._list, self._generation, self._plate_country, self._valid_from, self._valid_until)
        return self.index.nbytes + self._keys.nbytes + self._store.nbytes + sum(a.nbytes for a in arrays)

    def _json(self, slot: int) -> bytes:
        return self._store.get(slot)

    def entry(self, slot: int) -> WatchlistEntry:
        return WatchlistEntry.model_validate_json(self._json(slot))

    def listed(self, slot: int) -> ListedEntry:
        """What an alert needs of the entry in `slot`, prepared once per entry (on its first hit); the
        entry's JSON as the model writes it, whatever the record looked like."""
        e = self._listed.get(slot)
        if e is None:
            entry = WatchlistEntry.model_validate_json(self._json(slot))
            n = self._list[slot]
            covert, partner = bool(self.lists.covert[n]), self.lists.party[n] or None
            e = listed_entry(entry, entry.model_dump_json(), self.index.text(slot), covert, self.party, partner)
            self._listed[slot] = e
        return e

    def entry_by_key(self, key: str) -> WatchlistEntry:
        slot = int(self._keys.find([key])[0])
        if slot < 0:
            raise KeyError(key)
        return self.entry(slot)

    def entry_keys(self) -> list[str]:
        """Record keys of the listed entries."""
        return [self._keys.key(slot) for slot in self._keys.slots().tolist()]

    def entries_per_list(self) -> dict[str, int]:
        """Entries of each list's active generation (the ones that can hit)."""
        slots = self._keys.slots()
        lists = self._list[slots]
        active = lists[self._generation[slots] == self.lists.active[lists]]
        counts = np.bincount(active, minlength=len(self.lists))
        return {name: int(counts[n]) for n, name in enumerate(self.lists.names())}

    def _is_active(self, slot: int) -> bool:
        return bool(self._generation[slot] == self.lists.active[self._list[slot]])

    def upsert(self, entries: Iterable[WatchlistEntry]) -> list[Rejected]:
        """Add entries, replacing any with the same id (see upsert_rows)."""
        return self.upsert_rows(EntryRows.of(list(entries)))

    def upsert_rows(self, rows: EntryRows) -> list[Rejected]:
        """Add entries, replacing any with the same id; the last of one id wins. An entry whose plate
        is neither plate text nor a wildcard pattern is rejected, and an entry listed under its id
        before stays as it was: a bad update never unlists a vehicle."""
        keys = _keys(rows)
        last = dict(zip(keys, range(len(rows)), strict=True))
        if len(last) < len(rows):
            rows = rows.take(sorted(last.values()))
            keys = _keys(rows)
        problems = plate_problems(rows.plate)
        rejected = [Rejected(k, why) for k, why in zip(keys, problems, strict=True) if why is not None]
        if rejected:
            good = [i for i, why in enumerate(problems) if why is None]
            rows, keys = rows.take(good), [keys[i] for i in good]
        found = self._keys.find(keys)
        if self.track_fresh:
            self._note_fresh(rows, found)
        for slot in found[found >= 0].tolist():
            self._delete_slot(slot)
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

    def _note_fresh(self, rows: EntryRows, found: np.ndarray) -> None:
        """Remember the rows of an upsert that become matchable or match for longer, with the
        validity their key had while active before (`found`: the slot each key has now, or -1)."""
        lists = self.lists.numbers(rows.list_name)
        active = rows.generation == self.lists.active[lists]
        was_from = np.full(len(rows), 1, dtype=np.int64)
        was_until = np.zeros(len(rows), dtype=np.int64)
        for i, slot in enumerate(found.tolist()):
            if slot >= 0 and self._is_active(slot):
                was_from[i], was_until[i] = self._valid_from[slot], self._valid_until[slot]
        self._remember(rows, was_from, was_until, active)

    def _remember(self, rows: EntryRows, was_from: np.ndarray, was_until: np.ndarray, active: np.ndarray) -> None:
        """Keep the active rows that cover read times their key did not cover before, for take_fresh."""
        wider = (rows.valid_from < was_from) | (rows.valid_until > was_until)
        fresh = np.flatnonzero(active & wider & (rows.valid_from <= rows.valid_until))
        if len(fresh):
            self._fresh.append((fresh.tolist(), was_from[fresh], was_until[fresh]))
            self._fresh_rows.append(rows)

    def take_fresh(self) -> Fresh | None:
        """What became matchable since the last call (see Fresh), or None; only while track_fresh."""
        if not self._fresh:
            return None
        parts = [(rows.take(at), f, u) for rows, (at, f, u) in zip(self._fresh_rows, self._fresh, strict=True)]
        self._fresh, self._fresh_rows = [], []
        rows = parts[0][0]
        for more, _, _ in parts[1:]:
            rows = EntryRows.concat(rows, more)
        was_from = np.concatenate([f for _, f, _ in parts])
        was_until = np.concatenate([u for _, _, u in parts])
        keys = _keys(rows)
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        last = sorted(dict(zip(keys, range(len(keys)), strict=True)).values())
        if len(last) < len(keys):  # a key fresh twice: its last entry, with what it covered before the first
            was = [first[keys[i]] for i in last]
            rows, was_from, was_until = rows.take(last), was_from[was], was_until[was]
        return Fresh(rows, was_from, was_until)

    def apply(self, records: Iterable[tuple[bytes | None, bytes | None]], party: str = "") -> list[Rejected]:
        """Records of the compacted watchlist topic, or with `party` of that partner's export topic
        (its entries and lists held as `<party>||…`, apart from this party's), in order: a value
        upserts the entry (or list)
        under its key, a tombstone (None) deletes it; of several records of one key the last usable
        one wins. Keys `list|<name>` hold list records, all others entries (see models.entry_key). A
        record that is unusable (no key, not an entry or list, a key other than its own, a plate that
        cannot be listed) is rejected and leaves its key's entry as it was, as if it had come alone:
        an engine loading the topic whole then holds what one applying it record by record holds.
        All records given are applied before the next match: a replace's switch and its entries are
        never seen apart."""
        pending = list(records)
        rejected: list[Rejected] = []
        while pending:
            latest: dict[bytes | None, bytes | None] = dict(pending)
            refused = self._apply_latest(latest, party)
            rejected += refused
            last = {key: i for i, (key, _) in enumerate(pending)}
            again = {r.key.encode() for r in refused if r.key}
            pending = [(k, v) for i, (k, v) in enumerate(pending) if k in again and i < last[k]]
        return rejected

    def _apply_latest(self, latest: dict[bytes | None, bytes | None], party: str) -> list[Rejected]:
        """One record per key, applied; the refused ones returned (under the record's own key)."""
        rejected: list[Rejected] = []
        if None in latest:
            del latest[None]
            rejected.append(Rejected("", "watchlist record without a key"))
        keys: list[str] = []
        values: list[bytes] = []
        lists: list[tuple[str, bytes | None]] = []
        tombstones: list[str] = []
        for raw_key, value in latest.items():
            key = raw_key.decode("utf-8", "replace")  # type: ignore[union-attr]  # None was taken out
            if key.startswith(LIST_KEY_PREFIX):
                lists.append((key, value))
            elif value is None:
                tombstones.append(key)
            else:
                keys.append(key)
                values.append(value)
        rows, at, refused = decode_entries(values)
        rejected += [Rejected(keys[i], why) for i, why in refused]
        record_keys = [keys[i] for i in at]
        own_keys = _keys(rows)
        mismatched = [] if record_keys == own_keys else [
            j for j, key in enumerate(record_keys) if own_keys[j] != key
        ]  # fmt: skip
        if mismatched:
            rejected += [
                Rejected(keys[at[j]], f"entry {own_keys[j]!r} (id|generation) is not the record's key")
                for j in mismatched
            ]
            rows = rows.take(sorted(set(range(len(rows))) - set(mismatched)))
        if party:
            rows, tombstones = rows.of_party(party), [of_party(party, k) for k in tombstones]
        rejected += self.upsert_rows(rows)
        for key, value in lists:  # before the tombstones, which may delete the generation switched from
            rejected += self._apply_list(key, value, party)
        gone = self._keys.find(tombstones)
        for slot in gone[gone >= 0].tolist():
            self._delete_slot(slot)
        return rejected

    def _apply_list(self, key: str, value: bytes | None, party: str) -> list[Rejected]:
        """A list record (None: its tombstone, the list back to plain at generation 0), of `party`'s."""
        record = None
        if value is not None:
            try:
                record = WatchlistList.model_validate_json(value)
            except ValidationError as e:
                return [Rejected(key, f"not a list record: {first_error(e, 'record')}")]
            if list_key(record.list_name) != key:
                return [Rejected(key, f"list {record.list_name!r} is not the record's key")]
        name = key[len(LIST_KEY_PREFIX) :]
        number, before, after = self.lists.set(of_party(party, name) if party else name, record)
        self._listed.clear()  # covert may have changed
        if self.track_fresh and after != before:
            self._note_switch(number, before, after)
        return []

    def _note_switch(self, number: int, before: int, after: int) -> None:
        """Remember the entries a replace's switch made active, with the validity their entry id
        had in the generation switched from."""
        held = self._keys.slots()
        was: dict[str, tuple[int, int]] = {}
        now: list[int] = []
        for slot in held[self._list[held] == number].tolist():
            if self._generation[slot] == before:
                entry_id = self._keys.key(slot)
                if before:
                    entry_id = entry_id[: -len(KEY_SEPARATOR) - len(str(before))]  # `<id>|<generation>`
                was[entry_id] = (int(self._valid_from[slot]), int(self._valid_until[slot]))
            elif self._generation[slot] == after:
                now.append(slot)
        if not now:
            return
        rows, _, _ = decode_entries([self._json(slot) for slot in now])
        party = self.lists.party[number]
        if party:
            rows = rows.of_party(party)
        old = [was.get(entry_id, (1, 0)) for entry_id in rows.entry_id]
        was_from = np.array([f for f, _ in old], dtype=np.int64)
        was_until = np.array([u for _, u in old], dtype=np.int64)
        self._remember(rows, was_from, was_until, np.ones(len(rows), dtype=bool))

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
            raise InvariantBroken("an entry judged valid was refused by the index")
        self._grow(self.index.capacity)
        at = slots.tolist()
        keys = _keys(rows)
        self._keys.put(keys, slots.astype(np.int64))
        self._store.put(at, rows.json)
        self._list[slots] = self.lists.numbers(rows.list_name)
        self._generation[slots] = rows.generation
        countries = pa.array(rows.plate_country, pa.string()).dictionary_encode()
        codes = np.array([country_code(c) for c in countries.dictionary.to_pylist()] + [0], dtype=np.uint16)
        self._plate_country[slots] = codes[countries.indices.fill_null(len(codes) - 1).to_numpy()]
        self._valid_from[slots] = rows.valid_from
        self._valid_until[slots] = rows.valid_until

    def delete(self, key: str) -> bool:
        """Remove an entry by record key (its id, for generation 0); False if it was not listed."""
        slot = int(self._keys.find([key])[0])
        if slot < 0:
            return False
        self._delete_slot(slot)
        return True

    def _delete_slot(self, slot: int) -> None:
        self.index.remove(slot)
        self._keys.remove(slot)
        self._store.remove(slot)
        self._listed.pop(slot, None)

    def match(self, plates: NormalizedPlates, read_country: pa.Array, ts_ms: np.ndarray) -> Hits:
        """Hits of a normalized batch, keeping those of an active generation whose validity window
        holds the read's time and, under the `strict` country policy, whose plate country is the
        read's OCR'd one or either is unknown."""
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
        keep &= self._generation[hits.slot] == self.lists.active[self._list[hits.slot]]
        if self.policy.country == "strict":
            rc = read_country.take(pa.array(hits.read)).to_pylist()
            read_cc = np.fromiter((country_code(c) for c in rc), dtype=np.uint16, count=len(rc))
            entry_cc = self._plate_country[hits.slot]
            keep &= (entry_cc == 0) | (read_cc == 0) | (entry_cc == read_cc)
        return hits.take(keep)

    def _format_hits(self, plates: NormalizedPlates, read_country: pa.Array) -> tuple[Hits, np.ndarray]:
        """Format mode: each read's format-aware candidates (match/formats.py), looked up exactly;
        and which reads fit a national format of their country (those are trusted as read)."""
        policy = self.policy
        c = format_candidates(
            plates, read_country, self._formats, self._max_budget, policy.ambiguous == "skip",
            policy.country == "lenient",
        )  # fmt: skip
        rows, slots = self.index.probe_keys(c.key, c.cost)
        return Hits.of(c.read[rows], slots, c.cost[rows]), c.fits

    def _grow(self, capacity: int) -> None:
        if self._list.shape[0] >= capacity:
            return
        extra = capacity - self._list.shape[0]
        self._list = np.concatenate([self._list, np.zeros(extra, dtype=np.int32)])
        self._generation = np.concatenate([self._generation, np.zeros(extra, dtype=np.int32)])
        self._plate_country = np.concatenate([self._plate_country, np.zeros(extra, dtype=np.uint16)])
        self._valid_from = np.concatenate([self._valid_from, np.zeros(extra, dtype=np.int64)])
        self._valid_until = np.concatenate([self._valid_until, np.full(extra, NEVER, dtype=np.int64)])


def _keys(rows: EntryRows) -> list[str]:
    """Record keys of entry rows."""
    if not rows.generation.any():
        return rows.entry_id
    return [entry_key(i, g) for i, g in zip(rows.entry_id, rows.generation.tolist(), strict=True)]
