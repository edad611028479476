"""PlateIndex: the hash index of listed plates, keyed by OCR-folded plate, with single inserts and deletes.

Entries live in numbered slots (reused after a delete). For every slot the index keeps the exact
character codes, so a hit on the folded key can be verified: how many characters differ only by
OCR equivalence, against the slot's own budget (per-list policy). Entries with a budget of
differences (inserted or missing characters) also have their deletion variants indexed
(kernels/variants.py). Wildcard entries (`12*3`) share the slots and are found through an index of
one literal run per pattern (kernels/wildcards.py). The wrapper of those two kernel modules (their
one caller).
"""

from __future__ import annotations

import numpy as np

from anpr_engine.errors import BadInput
from anpr_engine.kernels.codes import BASE, MAX_DELETIONS, MAX_LEN, PLATE_EMPTY, PLATE_OK, WILDCARD
from anpr_engine.kernels.variants import deletion_variants
from anpr_engine.kernels.wildcards import glob_pairs, grams
from anpr_engine.match.alphabet import DEFAULT_OCR_CLASSES
from anpr_engine.match.buffers import capacity_for, checked, filled, grown
from anpr_engine.match.chains import KeyChains
from anpr_engine.match.hits import Hits
from anpr_engine.match.normalize import NormalizedPlates, codes_text, fold_table, normalize_plates

MAX_STARS = 2
MIN_LITERALS = 3  # a pattern must name this many characters, or it would alert on a large share of traffic
MAX_ANCHOR = 3
COMPACT_AFTER = 100_000  # deleted deletion-variant records kept before the variants are indexed afresh


class PlateIndex:
    """Folded-key hash index over entry slots; `probe` matches a whole normalized batch in one kernel call,
    `probe_differences` the reads within a slot's budget of inserted or missing characters."""

    def __init__(self, ocr_classes: tuple[str, ...] = DEFAULT_OCR_CLASSES, capacity: int = 1024) -> None:
        self.fold = fold_table(ocr_classes)
        self._folds = bool(ocr_classes)
        self._chains = KeyChains(capacity)
        self._codes = np.zeros((capacity, MAX_LEN), dtype=np.uint8)
        self._lengths = np.zeros(capacity, dtype=np.uint8)
        self._max_equiv = np.zeros(capacity, dtype=np.int8)
        self._max_diff = np.zeros(capacity, dtype=np.int8)
        self._live = np.zeros(capacity, dtype=bool)
        self._free: list[int] = []
        self._high = 0  # slots [0, _high) have been handed out at least once
        # Deletion variants of slots with a budget of differences: numbered records, appended.
        self._variants = KeyChains(16)
        self._rec_slot = np.zeros(0, dtype=np.int32)
        self._rec_dels = np.zeros(0, dtype=np.int8)
        self._rec_budget = np.zeros(0, dtype=np.int8)  # the slot's budget minus the record's deletions
        self._rec_start = np.zeros(capacity, dtype=np.int64)
        self._rec_count = np.zeros(capacity, dtype=np.int32)
        self._dead_records = 0
        self._slots_by_diff = [0] * (MAX_DELETIONS + 1)  # live slots per budget of differences
        # Wildcard patterns: each slot under the key of one literal run (its anchor).
        self._wild = KeyChains(16)
        self._is_wild = np.zeros(capacity, dtype=bool)
        self._anchors = [0] * (MAX_ANCHOR + 1)  # live patterns per anchor length

    def __len__(self) -> int:
        return self._high - len(self._free)

    @property
    def capacity(self) -> int:
        """Number of entry slots allocated (slots are numbered below this)."""
        return int(self._codes.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the index arrays."""
        arrays = (
            self._codes, self._lengths, self._max_equiv, self._max_diff, self._live, self._rec_slot,
            self._rec_dels, self._rec_budget, self._rec_start, self._rec_count,
        )  # fmt: skip
        return self._chains.nbytes + self._variants.nbytes + sum(a.nbytes for a in arrays)

    @property
    def wildcards(self) -> int:
        """Number of live wildcard patterns."""
        return sum(self._anchors)

    @property
    def max_differences(self) -> int:
        """The largest budget of differences of any live slot (0: probe_differences finds nothing)."""
        return max((b for b, n in enumerate(self._slots_by_diff) if n), default=0)

    def add(self, plates: NormalizedPlates, max_equiv: np.ndarray, max_diff: np.ndarray | None = None) -> np.ndarray:
        """Index every valid plate of the batch, with its budgets of equivalences and of differences
        (0..MAX_DELETIONS); returns its slot, or -1 for a rejected plate."""
        diff = np.zeros(len(plates), dtype=np.int8) if max_diff is None else max_diff
        if max_equiv.shape != (len(plates),) or diff.shape != (len(plates),):
            raise BadInput("need one budget of each kind per plate")
        if diff.size and not 0 <= int(diff.min()) <= int(diff.max()) <= MAX_DELETIONS:
            raise BadInput(f"budgets of differences must be 0..{MAX_DELETIONS}")
        valid = np.flatnonzero(plates.status == PLATE_OK)
        slots = np.full(len(plates), -1, dtype=np.int32)
        if valid.size == 0:
            return slots
        new = self._take_slots(valid.size)
        slots[valid] = new
        self._codes[new] = plates.codes[valid]
        self._lengths[new] = plates.lengths[valid]
        self._max_equiv[new] = max_equiv[valid]
        self._max_diff[new] = diff[valid]
        self._chains.insert(plates.folded_keys(self.fold)[valid], new)
        self._live[new] = True
        for b, n in enumerate(np.bincount(self._max_diff[new], minlength=MAX_DELETIONS + 1).tolist()):
            self._slots_by_diff[b] += n
        self._add_variants(new[self._max_diff[new] > 0])
        return slots

    def add_wildcards(self, patterns: list[str]) -> tuple[np.ndarray, list[str]]:
        """Index wildcard patterns (one or two `*`); returns each one's slot (-1 if rejected) and the
        reasons for the rejected ones, in order."""
        slots = np.full(len(patterns), -1, dtype=np.int32)
        reasons: list[str] = []
        coded: list[tuple[int, np.ndarray, int, int]] = []  # (pattern, codes, anchor key, anchor length)
        for i, pattern in enumerate(patterns):
            got = _code_pattern(pattern)
            if isinstance(got, str):
                reasons.append(got)
            else:
                coded.append((i, *got))
        if not coded:
            return slots, reasons
        new = self._take_slots(len(coded))
        for slot, (i, codes, _, g) in zip(new.tolist(), coded, strict=True):
            slots[i] = slot
            self._codes[slot] = 0
            self._codes[slot, : codes.shape[0]] = codes
            self._lengths[slot] = codes.shape[0]
            self._max_equiv[slot] = self._max_diff[slot] = 0
            self._is_wild[slot] = self._live[slot] = True
            self._anchors[g] += 1
        self._wild.insert(np.array([c[2] for c in coded], dtype=np.int64), new)
        return slots, reasons

    def text(self, slot: int) -> str:
        """The normalized plate (or wildcard pattern) held in `slot`."""
        return codes_text(self._codes[slot])

    def remove(self, slot: int) -> None:
        """Delete the entry in `slot`; the slot is reused by a later add."""
        if not (0 <= slot < self._high) or not self._live[slot]:
            raise KeyError(f"slot {slot} holds no entry")
        self._live[slot] = False
        self._free.append(slot)
        if self._is_wild[slot]:
            self._wild.remove(slot)
            self._is_wild[slot] = False
            self._anchors[_anchor(self._codes[slot, : self._lengths[slot]])[1]] -= 1
            return
        self._chains.remove(slot)
        start, count = int(self._rec_start[slot]), int(self._rec_count[slot])
        for rec in range(start, start + count):
            self._variants.remove(rec)
        self._dead_records += count
        self._rec_count[slot] = 0
        self._slots_by_diff[self._max_diff[slot]] -= 1
        if self._dead_records > max(COMPACT_AFTER, self._rec_slot.shape[0] // 2):
            self._rebuild_variants()

    def probe(self, plates: NormalizedPlates) -> Hits:
        """All (read, slot) pairs whose folded plates are equal within the slot's equivalence budget."""
        keys = plates.folded_keys(self.fold)
        if self._folds:
            no_cost = np.zeros(len(plates), dtype=np.int8)
            read, slot, cost = self._chains.probe(keys, no_cost, plates.codes, self._codes, self._max_equiv)
        else:  # without OCR classes a key is the plate itself: nothing to verify
            read, slot, cost = self._chains.lookup(keys, self._max_equiv)
        return Hits.of(read, slot, cost)

    def probe_keys(self, keys: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact lookups of candidate keys (for an index built without OCR classes): (candidate row, slot)
        pairs whose cost is within the slot's budget."""
        checked("keys", keys, np.int64)
        checked("cost", cost, np.int8, 1, keys.shape[0])
        read, slot, _ = self._chains.lookup(keys, self._max_equiv, cost)
        return read, slot

    def probe_differences(self, plates: NormalizedPlates, skip: np.ndarray | None = None) -> Hits:
        """(read, slot) pairs that are 1..budget inserted or missing characters apart (exact characters
        otherwise), one per pair with the fewest differences; reads marked in `skip` are left out."""
        budget = self.max_differences
        if budget == 0:
            return Hits.none()
        wanted = plates.status == PLATE_OK
        if skip is not None:
            wanted &= ~checked("skip", skip, np.bool_, 1, len(plates))
        rows = np.flatnonzero(wanted)
        v_row, v_key, v_dels = _variants_of(plates.codes, plates.lengths, rows, np.full(len(plates), budget, np.int8))
        cand, rec, read_dels = self._variants.lookup(v_key, self._rec_budget, v_dels)
        diff = read_dels + self._rec_dels[rec]
        hits = Hits(v_row[cand], self._rec_slot[rec], np.zeros(cand.shape[0], np.int8), diff).one_per_pair()
        return hits.take(hits.differences > 0)

    def probe_wildcards(self, plates: NormalizedPlates) -> Hits:
        """(read, slot) pairs of reads that match a wildcard pattern in full."""
        rows = np.flatnonzero(plates.status == PLATE_OK)
        found: list[tuple[np.ndarray, np.ndarray]] = []
        for g in range(1, MAX_ANCHOR + 1):
            if not self._anchors[g]:
                continue
            g_row, g_key = _grams_of(plates, rows, g)
            cand, slot, _ = self._wild.lookup(g_key, self._max_equiv)
            found.append((g_row[cand], slot))
        if not found:
            return Hits.none()
        read = np.concatenate([f[0] for f in found])
        slot = np.concatenate([f[1] for f in found])
        pairs = Hits.of(read, slot, np.zeros(read.shape[0], np.int8)).one_per_pair()
        ok = np.empty(len(pairs), dtype=bool)
        glob_pairs(plates.codes, plates.lengths, pairs.read, self._codes, self._lengths, pairs.slot, ok)
        return pairs.take(ok)

    def _add_variants(self, slots: np.ndarray) -> None:
        if slots.size == 0:
            return
        row, key, dels = _variants_of(self._codes, self._lengths, slots, self._max_diff)
        first = self._rec_slot.shape[0]
        records = np.arange(first, first + key.shape[0], dtype=np.int32)
        self._rec_slot = np.concatenate([self._rec_slot, row.astype(np.int32)])
        self._rec_dels = np.concatenate([self._rec_dels, dels])
        self._rec_budget = np.concatenate([self._rec_budget, self._max_diff[row] - dels])
        owners, starts, counts = np.unique(row, return_index=True, return_counts=True)
        self._rec_start[owners] = first + starts
        self._rec_count[owners] = counts
        self._variants.insert(key, records)

    def _rebuild_variants(self) -> None:
        """Drop the records of deleted slots: index the live slots' variants afresh."""
        self._variants = KeyChains(16)
        self._rec_slot = np.zeros(0, dtype=np.int32)
        self._rec_dels = np.zeros(0, dtype=np.int8)
        self._rec_budget = np.zeros(0, dtype=np.int8)
        self._rec_count[:] = 0
        self._dead_records = 0
        live = np.flatnonzero(self._live[: self._high] & (self._max_diff[: self._high] > 0))
        self._add_variants(live.astype(np.int32))

    def _take_slots(self, count: int) -> np.ndarray:
        reused = [self._free.pop() for _ in range(min(count, len(self._free)))]
        fresh = count - len(reused)
        if self._high + fresh > self._codes.shape[0]:
            self._grow_entries(self._high + fresh)
        new = np.concatenate(
            [np.array(reused, dtype=np.int32), np.arange(self._high, self._high + fresh, dtype=np.int32)]
        )
        self._high += fresh
        return new

    def _grow_entries(self, needed: int) -> None:
        cap = capacity_for(self._codes.shape[0], needed)
        self._codes = grown(self._codes, cap, 0)
        self._lengths = grown(self._lengths, cap, 0)
        self._max_equiv = grown(self._max_equiv, cap, 0)
        self._max_diff = grown(self._max_diff, cap, 0)
        self._live = grown(self._live, cap, False)
        self._rec_start = grown(self._rec_start, cap, 0)
        self._rec_count = grown(self._rec_count, cap, 0)
        self._is_wild = grown(self._is_wild, cap, False)


def pattern_problem(pattern: str) -> str | None:
    """Why a wildcard pattern cannot be indexed, or None if it can."""
    got = _code_pattern(pattern)
    return got if isinstance(got, str) else None


def _code_pattern(pattern: str) -> tuple[np.ndarray, int, int] | str:
    """A wildcard pattern's codes (WILDCARD for `*`) and its anchor (key, length), or why it is refused."""
    parts = pattern.split("*")
    if not 2 <= len(parts) <= MAX_STARS + 1:
        return f"pattern {pattern!r}: use one or two '*'"
    seg = normalize_plates(parts)
    bad = [p for p, st in zip(parts, seg.status.tolist(), strict=True) if st not in (PLATE_OK, PLATE_EMPTY)]
    if bad:
        return f"pattern {pattern!r}: {bad[0]!r} is not plate text"
    codes: list[int] = []
    for i in range(len(parts)):
        if i:
            if codes and codes[-1] == WILDCARD:
                return f"pattern {pattern!r}: '**' says nothing more than '*'"
            codes.append(WILDCARD)
        codes.extend(seg.codes[i, : seg.lengths[i]].tolist())
    literals = sum(c != WILDCARD for c in codes)
    if literals < MIN_LITERALS:
        return f"pattern {pattern!r}: name at least {MIN_LITERALS} characters"
    if len(codes) > MAX_LEN:
        return f"pattern {pattern!r}: longer than {MAX_LEN} characters and stars"
    arr = np.array(codes, dtype=np.uint8)
    key, g = _anchor(arr)
    return arr, key, g


def _anchor(codes: np.ndarray) -> tuple[int, int]:
    """The key and length of a pattern's anchor: the first MAX_ANCHOR characters of its longest literal run."""
    runs = [r for r in codes.tobytes().split(bytes([WILDCARD])) if r]
    run = max(runs, key=len)[:MAX_ANCHOR]
    key = 0
    for c in run:
        key = key * BASE + c
    return key, len(run)


def _grams_of(plates: NormalizedPlates, rows: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    cap = max(16, rows.shape[0] * MAX_LEN)
    out_row = np.empty(cap, dtype=np.int32)
    out_key = np.empty(cap, dtype=np.int64)
    n = grams(plates.codes, plates.lengths, rows, g, out_row, out_key)  # never more than MAX_LEN per row
    return out_row[:n], out_key[:n]


def _variants_of(
    codes: np.ndarray, lengths: np.ndarray, rows: np.ndarray, max_del: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, key, deletions) of the deletion variants of `rows` (kernels/variants.py)."""
    out_row, out_key, out_dels = filled(
        max(16, rows.shape[0] * (1 + int(lengths.max(initial=0)))), (np.int32, np.int64, np.int8),
        lambda out_row, out_key, out_dels: deletion_variants(codes, lengths, rows, max_del, out_row, out_key, out_dels),
    )  # fmt: skip
    return out_row, out_key, out_dels
