"""KeyMap: record keys (strings) to entry slots, without a Python object per key.

A dict of a million keys held about 136 bytes a key (the string, the int, the table). Here a key is
its UTF-8 bytes in an arena (13 bytes for a typical entry id, plus its place) and a 64-bit hash in
a KeyChains table; a lookup verifies the bytes, so two keys of one hash never mix. The wrapper of
the kernels in kernels/keys.py (their one caller).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from anpr_engine.errors import BadInput
from anpr_engine.kernels.keys import hash_strings, same_bytes
from anpr_engine.match.buffers import capacity_for, grown
from anpr_engine.match.chains import KeyChains

MIN_GARBAGE = 1 << 20  # arena bytes of removed keys tolerated before compacting


def _encoded(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Keys as one UTF-8 buffer and int64 offsets."""
    arr = pa.array(keys, pa.string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(keys) + 1).astype(np.int64)
    data = arr.buffers()[2]
    return (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)), offsets


class KeyMap:
    """Key → slot for live slots; each slot holds at most one key."""

    def __init__(self) -> None:
        self._chains = KeyChains(1024)
        self._arena = np.zeros(1 << 16, dtype=np.uint8)
        self._used = 0  # arena bytes written
        self._start = np.zeros(1024, dtype=np.int64)
        self._length = np.full(1024, -1, dtype=np.int16)  # -1: no key (keys are at most 523 bytes)
        self._count = 0
        self._garbage = 0  # arena bytes of removed keys
        self._budget = np.zeros(0, dtype=np.int8)

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return self._chains.nbytes + self._arena.nbytes + self._start.nbytes + self._length.nbytes

    def find(self, keys: Sequence[str]) -> np.ndarray:
        """The slot of each key, -1 where it has none."""
        out = np.full(len(keys), -1, dtype=np.int64)
        if not keys or not self._count:
            return out
        buf, offsets = _encoded(keys)
        hashes = np.empty(len(keys), dtype=np.int64)
        hash_strings(buf, offsets, hashes)
        if self._budget.shape[0] != self._chains.next.shape[0]:
            self._budget = np.zeros(self._chains.next.shape[0], dtype=np.int8)  # lookups by hash: exact keys
        rows, items, _ = self._chains.lookup(hashes, self._budget)
        same = np.empty(rows.shape[0], dtype=bool)
        same_bytes(self._arena, self._start, self._length, items.astype(np.int64), buf, offsets,
                   rows.astype(np.int64), same)  # fmt: skip
        out[rows[same]] = items[same]
        return out

    def put(self, keys: Sequence[str], slots: np.ndarray) -> None:
        """Give each key (not mapped now, distinct) its slot (which holds no key)."""
        if not (isinstance(slots, np.ndarray) and slots.dtype.kind in "iu" and slots.shape == (len(keys),)):
            raise BadInput("slots: need an integer array with one slot per key")
        if not keys:
            return
        buf, offsets = _encoded(keys)
        hashes = np.empty(len(keys), dtype=np.int64)
        hash_strings(buf, offsets, hashes)
        need = int(slots.max()) + 1
        if need > self._start.shape[0]:
            rows = capacity_for(self._start.shape[0], need)
            self._start = grown(self._start, rows, 0)
            self._length = grown(self._length, rows, -1)
        if self._used + buf.shape[0] > self._arena.shape[0]:
            self._arena = grown(self._arena, capacity_for(self._arena.shape[0], self._used + buf.shape[0]), 0)
        self._arena[self._used : self._used + buf.shape[0]] = buf
        self._start[slots] = self._used + offsets[:-1]
        self._length[slots] = np.diff(offsets)
        self._used += buf.shape[0]
        self._chains.insert(hashes, slots.astype(np.int64))
        self._count += len(keys)

    def remove(self, slot: int) -> None:
        """Forget the key of `slot` (which has one)."""
        self._chains.remove(slot)
        self._garbage += int(self._length[slot])
        self._length[slot] = -1
        self._count -= 1
        if self._garbage > max(MIN_GARBAGE, self._used // 2):
            self._compact()

    def key(self, slot: int) -> str:
        n = int(self._length[slot])
        if n < 0:
            raise KeyError(f"slot {slot} has no key")
        start = int(self._start[slot])
        return self._arena[start : start + n].tobytes().decode()

    def slots(self) -> np.ndarray:
        """Every slot holding a key."""
        return np.flatnonzero(self._length >= 0)

    def _compact(self) -> None:
        """Rewrite the arena with the live keys only."""
        live = self.slots()
        lengths = self._length[live].astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)])
        total = int(starts[-1])
        arena = np.zeros(capacity_for(1 << 16, total), dtype=np.uint8)
        source = np.repeat(self._start[live] - starts[:-1], lengths) + np.arange(total)
        arena[:total] = self._arena[source]
        self._start[live] = starts[:-1]
        self._arena, self._used, self._garbage = arena, total, 0
