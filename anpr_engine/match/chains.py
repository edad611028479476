"""KeyChains: int64 keys to chains of numbered items, the hash table under every index; the wrapper of
the kernels in kernels/hashindex.py (their one caller)."""

from __future__ import annotations

import numpy as np

from anpr_engine.errors import BadInput, InvariantBroken
from anpr_engine.kernels import hashindex as hx
from anpr_engine.kernels.codes import TABLE_OK
from anpr_engine.match.buffers import capacity_for, checked, filled, grown

MAX_LOAD = 0.6


_NO_CODES = np.zeros((1, 0), dtype=np.uint8)  # item codes for lookups that verify none


class KeyChains:
    """int64 keys → chains of numbered items (kernels/hashindex.py); the table and the per-item arrays
    grow as items are inserted, keeping the table at most MAX_LOAD full."""

    def __init__(self, items: int = 1024) -> None:
        self.table_keys = np.zeros(_pow2(items * 2), dtype=np.int64)
        self.table_heads = np.full(self.table_keys.shape[0], -1, dtype=np.int32)
        self.filter = _filter_for(self.table_keys.shape[0])
        self.next = np.full(items, -1, dtype=np.int32)
        self.item_key = np.zeros(items, dtype=np.int64)
        self.live = np.zeros(items, dtype=bool)
        self._occupied_bound = 0
        self._items = 0  # one past the highest item ever inserted: the rows a probe's item arrays need

    @property
    def nbytes(self) -> int:
        arrays = (self.table_keys, self.table_heads, self.filter, self.next, self.item_key, self.live)
        return sum(a.nbytes for a in arrays)

    def insert(self, keys: np.ndarray, items: np.ndarray) -> None:
        """Put each item under its key (keys must be non-zero, items not live)."""
        checked("keys", keys, np.int64)
        if not (isinstance(items, np.ndarray) and items.dtype.kind in "iu" and items.shape == keys.shape):
            raise BadInput("items: need an integer array with one item per key")
        if items.size == 0:
            return
        needed = int(items.max()) + 1
        if needed > self.next.shape[0]:
            rows = capacity_for(self.next.shape[0], needed)
            self.next = grown(self.next, rows, -1)
            self.item_key = grown(self.item_key, rows, 0)
            self.live = grown(self.live, rows, False)
        self._items = max(self._items, needed)
        self._reserve_table(items.size)
        self.item_key[items] = keys
        st = hx.insert_many(self.table_keys, self.table_heads, self.next, self.filter, keys, items.astype(np.int32))
        if st != TABLE_OK:
            raise InvariantBroken(f"hash table insert failed with status {st}")
        self.live[items] = True

    def remove(self, item: int) -> None:
        st = hx.remove(self.table_keys, self.table_heads, self.next, self.item_key[item], item)
        if st != TABLE_OK:
            raise InvariantBroken(f"hash table remove failed with status {st}")
        self.live[item] = False

    def probe(
        self, keys: np.ndarray, cost: np.ndarray, codes: np.ndarray, item_codes: np.ndarray, item_budget: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(key row, item, cost) for every item under each key within its budget (hx.probe_batch),
        growing the output buffers until every hit fits. Per key: its cost (int8) and codes (uint8
        rows, the width of item_codes'; zero-width: nothing to verify); per item: its codes and budget."""
        n = checked("keys", keys, np.int64).shape[0]
        checked("cost", cost, np.int8, 1, n)
        width = checked("codes", codes, np.uint8, 2, n).shape[1]
        checked("item_codes", item_codes, np.uint8, 2)
        checked("item_budget", item_budget, np.int8)
        if width and item_codes.shape[1] != width:
            raise BadInput(f"item_codes: need {width} columns as codes has, not {item_codes.shape[1]}")
        if item_budget.shape[0] < self._items or (width and item_codes.shape[0] < self._items):
            raise BadInput(f"item_budget and item_codes: need a row for each of the {self._items} items")
        row, item, cost_out = filled(
            max(16, keys.shape[0] // 16), (np.int32, np.int32, np.int8),
            lambda out_row, out_item, out_cost: hx.probe_batch(
                self.table_keys, self.table_heads, self.next, self.filter, keys, cost, codes, item_codes, item_budget,
                out_row, out_item, out_cost,
            ),
        )  # fmt: skip
        return row, item, cost_out

    def lookup(
        self, keys: np.ndarray, item_budget: np.ndarray, cost: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(key row, item, cost) for every item under each key whose budget covers the key's cost
        (default 0): exact keys, so no characters to verify."""
        n = keys.shape[0]
        return self.probe(
            keys, np.zeros(n, dtype=np.int8) if cost is None else cost, np.zeros((n, 0), dtype=np.uint8),
            _NO_CODES, item_budget,
        )  # fmt: skip

    def _reserve_table(self, extra: int) -> None:
        """Count every insert as a new table slot (an upper bound); rebuild larger when it would pass MAX_LOAD."""
        if self._occupied_bound + extra <= MAX_LOAD * self.table_keys.shape[0]:
            self._occupied_bound += extra
            return
        existing = np.flatnonzero(self.live).astype(np.int32)  # items being inserted are not live yet
        size = _pow2(int((existing.size + extra) / MAX_LOAD))
        self.table_keys = np.zeros(size, dtype=np.int64)
        self.table_heads = np.full(size, -1, dtype=np.int32)
        self.filter = _filter_for(size)
        self.next[:] = -1
        st = hx.insert_many(
            self.table_keys, self.table_heads, self.next, self.filter, self.item_key[existing], existing
        )
        if st != TABLE_OK:
            raise InvariantBroken(f"hash table rebuild failed with status {st}")
        self._occupied_bound = existing.size + extra


def _filter_for(table_slots: int) -> np.ndarray:
    """A key filter of 8 bits per table slot (13 to 27 per key at the table's load): 4–7 % of unlisted keys pass."""
    return np.zeros(max(1, table_slots // 8), dtype=np.uint64)


def _pow2(n: int) -> int:
    return 1 << max(4, (n - 1).bit_length())
