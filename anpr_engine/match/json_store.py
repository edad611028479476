"""JsonStore: each entry slot's record JSON, kept zlib-compressed in blocks of BLOCK entries.

An entry's JSON is read only on its first hit (an alert needs it), yet kept for every entry: as
bytes objects it took 290 bytes an entry, more than the index. Blocks of 64 compress the repeated
keys and list names to 20-60 bytes an entry (1 000 000 entries compress in about 0.6 s), and a read
decompresses one block (about 30 µs). The newest entries wait uncompressed until a block fills.
Removed entries stay in their block until it empties or the store repacks the blocks that are
mostly removed entries.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from anpr_engine.match.buffers import capacity_for, grown

BLOCK = 64
MIN_DEAD = 4096  # removed entries tolerated inside blocks before repacking
_NONE = -1


class JsonStore:
    """Slot → bytes, compressed in blocks."""

    def __init__(self) -> None:
        self._blocks: list[bytes | None] = []
        self._offsets: list[np.ndarray | None] = []  # each block's entry boundaries (BLOCK + 1 at most)
        self._live = np.zeros(0, dtype=np.int32)  # live entries per block
        self._block = np.zeros(0, dtype=np.int32)  # per slot: its block, or _NONE
        self._pos = np.zeros(0, dtype=np.int16)  # per slot: its place in the block
        self._pending: dict[int, bytes] = {}
        self._dead = 0  # removed entries still inside blocks
        self._in_blocks = 0  # live entries inside blocks
        self._cached: tuple[int, bytes] = (_NONE, b"")

    @property
    def nbytes(self) -> int:
        """Bytes held: compressed blocks, their offsets, the per-slot arrays and the pending entries."""
        blocks = sum(len(b) for b in self._blocks if b is not None)
        offsets = sum(o.nbytes for o in self._offsets if o is not None)
        pending = sum(len(v) for v in self._pending.values())
        return blocks + offsets + self._live.nbytes + self._block.nbytes + self._pos.nbytes + pending

    def put(self, slots: Sequence[int], values: Sequence[bytes]) -> None:
        """Store values under slots (which hold none now)."""
        if len(slots) == 0:
            return
        self._grow(max(slots) + 1)
        self._block[np.asarray(slots, dtype=np.int64)] = _NONE
        if self._pending:
            self._pending.update(zip(slots, values, strict=True))
            slots, values = list(self._pending), list(self._pending.values())
            self._pending = {}
        whole = len(slots) - len(slots) % BLOCK
        if whole:
            self._compress(slots[:whole], values[:whole])
        self._pending = dict(zip(slots[whole:], values[whole:], strict=True))

    def get(self, slot: int) -> bytes:
        value = self._pending.get(slot)
        if value is not None:
            return value
        block = int(self._block[slot]) if slot < self._block.shape[0] else _NONE
        if block == _NONE:
            raise KeyError(f"slot {slot} is empty")
        if self._cached[0] != block:
            self._cached = (block, zlib.decompress(self._blocks[block]))  # type: ignore[arg-type]
        offsets = self._offsets[block]
        pos = int(self._pos[slot])
        return self._cached[1][offsets[pos] : offsets[pos + 1]]  # type: ignore[index]

    def remove(self, slot: int) -> None:
        if self._pending.pop(slot, None) is not None:
            return
        block = int(self._block[slot])
        if block == _NONE:
            raise KeyError(f"slot {slot} is empty")
        self._block[slot] = _NONE
        self._live[block] -= 1
        self._dead += 1
        self._in_blocks -= 1
        if self._live[block] == 0:
            self._dead -= self._offsets[block].shape[0] - 1  # type: ignore[union-attr]
            self._blocks[block] = self._offsets[block] = None
        if self._dead > max(MIN_DEAD, self._in_blocks):
            self._repack()

    def _compress(self, slots: Sequence[int], values: Sequence[bytes]) -> None:
        """Blocks of BLOCK values each (len(values) is a multiple of BLOCK), compressed from one buffer."""
        first = len(self._blocks)
        count = len(values) // BLOCK
        joined = memoryview(b"".join(values))
        ends = np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))
        bounds = np.concatenate([[0], ends]).reshape(-1)
        for b in range(count):
            lo, hi = int(bounds[b * BLOCK]), int(bounds[(b + 1) * BLOCK])
            self._blocks.append(zlib.compress(joined[lo:hi], 1))
            self._offsets.append((bounds[b * BLOCK : (b + 1) * BLOCK + 1] - lo).astype(np.int32))
        if first + count > self._live.shape[0]:
            self._live = grown(self._live, capacity_for(self._live.shape[0], first + count), 0)
        self._live[first : first + count] = BLOCK
        self._in_blocks += len(values)
        at = np.asarray(slots, dtype=np.int64)
        self._block[at] = first + np.arange(len(values)) // BLOCK
        self._pos[at] = np.arange(len(values)) % BLOCK

    def _repack(self) -> None:
        """Recompress the live entries of blocks that are mostly removed entries."""
        sizes = np.array([0 if o is None else o.shape[0] - 1 for o in self._offsets], dtype=np.int32)
        live = self._live[: len(self._blocks)]
        sparse = np.flatnonzero((live > 0) & (live * 2 < sizes))
        moved: list[tuple[int, bytes]] = []
        for block in sparse.tolist():
            slots = np.flatnonzero(self._block == block).tolist()
            moved += [(s, self.get(s)) for s in slots]
            self._dead -= int(sizes[block] - self._live[block])
            self._in_blocks -= int(self._live[block])
            self._blocks[block] = self._offsets[block] = None
            self._live[block] = 0
            self._block[slots] = _NONE
        self._cached = (_NONE, b"")
        if moved:
            self.put([s for s, _ in moved], [v for _, v in moved])

    def _grow(self, capacity: int) -> None:
        if capacity > self._block.shape[0]:
            rows = capacity_for(self._block.shape[0], capacity)
            self._block = grown(self._block, rows, _NONE)
            self._pos = grown(self._pos, rows, 0)
