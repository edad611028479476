"""Hits of a batch as parallel columns, and their algebra (merge, one per pair, best per pair)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Hits:
    """Matches of one batch as parallel columns: read row, entry slot, OCR-equivalent characters used,
    characters inserted or missing."""

    read: np.ndarray
    slot: np.ndarray
    equivalences: np.ndarray
    differences: np.ndarray

    def __len__(self) -> int:
        return int(self.read.shape[0])

    def take(self, rows: np.ndarray) -> Hits:
        """The hits at `rows` (indices or a boolean mask)."""
        return Hits(self.read[rows], self.slot[rows], self.equivalences[rows], self.differences[rows])

    @staticmethod
    def of(read: np.ndarray, slot: np.ndarray, equivalences: np.ndarray) -> Hits:
        """Hits without differences."""
        return Hits(read, slot, equivalences, np.zeros(read.shape[0], dtype=np.int8))

    @staticmethod
    def none() -> Hits:
        return Hits.of(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int8))

    @staticmethod
    def merged(first: Hits, second: Hits) -> Hits:
        """Both sets, one hit per (read, slot): the first set's where both have one."""
        both = Hits(*(np.concatenate([a, b]) for a, b in zip(first.columns(), second.columns(), strict=True)))
        return both.one_per_pair(np.concatenate([np.zeros(len(first), np.int8), np.ones(len(second), np.int8)]))

    def one_per_pair(self, rank: np.ndarray | None = None) -> Hits:
        """One hit per (read, slot): see best_per_pair."""
        return self.take(self.best_per_pair(rank))

    def best_per_pair(self, rank: np.ndarray | None = None) -> np.ndarray:
        """Positions of one hit per (read, slot), ordered by read then slot: the lowest `rank`, then the
        fewest characters equated or differing."""
        cost = self.equivalences + self.differences
        order = np.lexsort((cost, np.zeros_like(cost) if rank is None else rank, self.slot, self.read))
        r, s = self.read[order], self.slot[order]
        first = np.ones(order.shape[0], dtype=bool)
        first[1:] = (r[1:] != r[:-1]) | (s[1:] != s[:-1])
        return order[first]

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.read, self.slot, self.equivalences, self.differences
