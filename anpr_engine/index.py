"""PlateIndex: the hash index of listed plates, keyed by OCR-folded plate, with single inserts and deletes.

Entries live in numbered slots (reused after a delete). For every slot the index keeps the exact
character codes, so a hit on the folded key can be verified: how many characters differ only by
OCR equivalence, against the slot's own budget (per-list policy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anpr_engine.kernels import hashindex as hx
from anpr_engine.normalize import DEFAULT_OCR_CLASSES, MAX_LEN, NormalizedPlates, codes_text, fold_table

MAX_LOAD = 0.6


class IndexCorrupted(RuntimeError):
    """The hash table reported a state the wrapper should have prevented (a bug, not bad input)."""


@dataclass(frozen=True)
class Hits:
    """Matches of one batch as parallel columns: read row, entry slot, OCR-equivalent characters used."""

    read: np.ndarray
    slot: np.ndarray
    equivalences: np.ndarray

    def __len__(self) -> int:
        return int(self.read.shape[0])


class PlateIndex:
    """Folded-key hash index over entry slots; `probe` matches a whole normalized batch in one kernel call."""

    def __init__(self, ocr_classes: tuple[str, ...] = DEFAULT_OCR_CLASSES, capacity: int = 1024) -> None:
        self.fold = fold_table(ocr_classes)
        self._table_keys = np.zeros(_pow2(capacity * 2), dtype=np.int64)
        self._table_heads = np.full(self._table_keys.shape[0], -1, dtype=np.int32)
        self._occupied_bound = 0
        self._codes = np.zeros((capacity, MAX_LEN), dtype=np.uint8)
        self._folded = np.zeros(capacity, dtype=np.int64)
        self._max_equiv = np.zeros(capacity, dtype=np.int8)
        self._next = np.full(capacity, -1, dtype=np.int32)
        self._live = np.zeros(capacity, dtype=bool)
        self._free: list[int] = []
        self._high = 0  # slots [0, _high) have been handed out at least once

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
            self._table_keys,
            self._table_heads,
            self._codes,
            self._folded,
            self._max_equiv,
            self._next,
            self._live,
        )
        return sum(a.nbytes for a in arrays)

    def add(self, plates: NormalizedPlates, max_equiv: np.ndarray) -> np.ndarray:
        """Index every valid plate of the batch; returns its slot, or -1 for a rejected plate."""
        if max_equiv.shape != (len(plates),):
            raise ValueError("max_equiv needs one budget per plate")
        valid = np.flatnonzero(plates.status == 0)
        slots = np.full(len(plates), -1, dtype=np.int32)
        if valid.size == 0:
            return slots
        new = self._take_slots(valid.size)
        self._reserve_table(valid.size)
        slots[valid] = new
        self._codes[new] = plates.codes[valid]
        self._folded[new] = plates.folded_keys(self.fold)[valid]
        self._max_equiv[new] = max_equiv[valid]
        self._live[new] = True
        st = hx.insert_many(self._table_keys, self._table_heads, self._next, self._folded[new], new)
        if st != hx.OK:
            raise IndexCorrupted(f"hash table insert failed with status {st}")
        return slots

    def text(self, slot: int) -> str:
        """The normalized plate held in `slot`."""
        return codes_text(self._codes[slot])

    def remove(self, slot: int) -> None:
        """Delete the entry in `slot`; the slot is reused by a later add."""
        if not (0 <= slot < self._high) or not self._live[slot]:
            raise KeyError(f"slot {slot} holds no entry")
        st = hx.remove(self._table_keys, self._table_heads, self._next, self._folded[slot], slot)
        if st != hx.OK:
            raise IndexCorrupted(f"hash table remove failed with status {st}")
        self._live[slot] = False
        self._free.append(slot)

    def probe(self, plates: NormalizedPlates) -> Hits:
        """All (read, slot) pairs whose folded plates are equal within the slot's equivalence budget."""
        keys = plates.folded_keys(self.fold)
        return self._probe(keys, np.zeros(len(plates), dtype=np.int8), plates.codes)

    def probe_keys(self, keys: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact lookups of candidate keys (for an index built without OCR classes): (candidate row, slot)
        pairs whose cost is within the slot's budget."""
        if keys.shape != cost.shape:
            raise ValueError("one cost per candidate key")
        hits = self._probe(keys, cost, np.zeros((keys.shape[0], 0), dtype=np.uint8))
        return hits.read, hits.slot

    def _probe(self, keys: np.ndarray, cost: np.ndarray, codes: np.ndarray) -> Hits:
        """Run the probe kernel, growing the output buffers until every hit fits."""
        cap = max(16, keys.shape[0] // 16)
        while True:
            out_read = np.empty(cap, dtype=np.int32)
            out_slot = np.empty(cap, dtype=np.int32)
            out_cost = np.empty(cap, dtype=np.int8)
            n = hx.probe_batch(
                self._table_keys, self._table_heads, self._next, keys, cost, codes, self._codes,
                self._max_equiv, out_read, out_slot, out_cost,
            )  # fmt: skip
            if n <= cap:
                return Hits(out_read[:n], out_slot[:n], out_cost[:n])
            cap = n

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
        cap = max(needed, self._codes.shape[0] * 2)
        self._codes = _grown(self._codes, cap, 0)
        self._folded = _grown(self._folded, cap, 0)
        self._max_equiv = _grown(self._max_equiv, cap, 0)
        self._next = _grown(self._next, cap, -1)
        self._live = _grown(self._live, cap, False)

    def _reserve_table(self, extra: int) -> None:
        """Keep the table at most half full, counting every insert as a new slot (an upper bound)."""
        if self._occupied_bound + extra <= MAX_LOAD * self._table_keys.shape[0]:
            self._occupied_bound += extra
            return
        live = np.flatnonzero(self._live[: self._high])
        size = _pow2(int((live.size + extra) / MAX_LOAD))
        self._table_keys = np.zeros(size, dtype=np.int64)
        self._table_heads = np.full(size, -1, dtype=np.int32)
        self._next[: self._high] = -1
        existing = live.astype(np.int32)  # the slots being added are not live yet: the caller inserts them
        st = hx.insert_many(self._table_keys, self._table_heads, self._next, self._folded[existing], existing)
        if st != hx.OK:
            raise IndexCorrupted(f"hash table rebuild failed with status {st}")
        self._occupied_bound = existing.size + extra


def _pow2(n: int) -> int:
    return 1 << max(4, (n - 1).bit_length())


def _grown(a: np.ndarray, rows: int, fill: object) -> np.ndarray:
    out = np.full((rows, *a.shape[1:]), fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
