"""Arrays for the kernels: output buffers grown until a kernel's count fits, and grown copies."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def filled(cap: int, dtypes: tuple[type, ...], kernel: Callable[..., int]) -> tuple[np.ndarray, ...]:
    """kernel(*outputs) with output arrays of `cap` rows, called again with larger ones until the
    count it returns fits (the kernels write at most their outputs' length and return the full
    count); the outputs cut to that count."""
    while True:
        outs: tuple[np.ndarray, ...] = tuple(np.empty(cap, dtype=d) for d in dtypes)
        n = kernel(*outs)
        if n <= cap:
            return tuple(o[:n] for o in outs)
        cap = n


def grown(a: np.ndarray, rows: int, fill: object) -> np.ndarray:
    out = np.full((rows, *a.shape[1:]), fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


GROWTH = 1.25  # arrays sized per entry grow by a quarter: doubling left a third of a large watchlist's bytes unused


def capacity_for(current: int, needed: int) -> int:
    """The size to grow an array of `current` rows to when `needed` rows must fit."""
    return max(needed, int(current * GROWTH) + 1)
