"""Arrays for the kernels: the wrappers' check of an array argument, output buffers grown until a
kernel's count fits, and grown copies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from anpr_engine.errors import BadInput


def checked(name: str, a: Any, dtype: type, ndim: int = 1, rows: int | None = None) -> np.ndarray:
    """`a` if it is a C-contiguous array of `dtype` with `ndim` dimensions (and `rows` rows); else
    BadInput saying what is wrong. The kernels check nothing (a wrong dtype compiles another version,
    a short array is read past its end), so their wrappers check arrays given to them once a call."""
    if not isinstance(a, np.ndarray):
        raise BadInput(f"{name}: need a numpy array, not {type(a).__name__}")
    if a.dtype != dtype or a.ndim != ndim:
        want = f"{np.dtype(dtype)} with {ndim} dimension{'s' if ndim > 1 else ''}"
        raise BadInput(f"{name}: need {want}, not {a.dtype} with {a.ndim}")
    if rows is not None and a.shape[0] != rows:
        raise BadInput(f"{name}: need {rows} rows, not {a.shape[0]}")
    if not a.flags.c_contiguous:
        raise BadInput(f"{name}: need a C-contiguous array (np.ascontiguousarray makes one)")
    return a


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
