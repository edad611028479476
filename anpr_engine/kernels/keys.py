"""Numba kernels for record keys (strings as UTF-8 bytes with offsets): 64-bit hashes, and byte
comparison of candidates against a key arena."""

import numpy as np

from anpr_engine.kernels.jit import kernel

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@kernel
def hash_strings(buf: np.ndarray, offsets: np.ndarray, out: np.ndarray) -> None:
    """out[i]: FNV-1a of buf[offsets[i]:offsets[i + 1]] as a non-zero int64 (0 maps to 1)."""
    for i in range(offsets.shape[0] - 1):
        h = _FNV_OFFSET
        for k in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(buf[k])) * _FNV_PRIME
        v = np.int64(h)
        out[i] = 1 if v == 0 else v


@kernel
def same_bytes(
    arena: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    items: np.ndarray,
    buf: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[j]: the arena's string of item items[j] equals string rows[j] of buf."""
    for j in range(items.shape[0]):
        item = items[j]
        r = rows[j]
        n = offsets[r + 1] - offsets[r]
        same = lengths[item] == n
        if same:
            a = starts[item]
            b = offsets[r]
            for k in range(n):
                if arena[a + k] != buf[b + k]:
                    same = False
                    break
        out[j] = same
