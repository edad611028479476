"""Numba kernels: an open-addressing hash index from 64-bit plate keys to chains of entry slots.

Layout (all arrays owned by the caller, so the Python side can grow or swap them):
  table_keys  int64[capacity]  EMPTY_KEY, TOMBSTONE or a key; capacity is a power of two
  table_heads int32[capacity]  first entry slot of the key's chain
  next_entry  int32[entries]   next entry slot with the same key, -1 at the end
  filter      uint64[words]    a one-hash bit filter of the keys ever inserted (a power of two of
                               words): a probe whose bit is clear skips the table. Most reads are
                               not listed, and the filter (1/8 of a key per table slot) stays in
                               cache where the table does not. Deletes leave their bit: a stale bit
                               only costs a table look-up.
Several entries may share a key (the same plate on two lists). Single inserts and deletes
are supported, so a live watchlist can change while matching continues.

Kernels never raise; they return status codes (kernels/codes.py). match/chains.py is their wrapper.
"""

import numpy as np

from anpr_engine.kernels.codes import EMPTY_KEY, TOMBSTONE
from anpr_engine.kernels.codes import NOT_FOUND as NOT_FOUND
from anpr_engine.kernels.codes import TABLE_FULL as TABLE_FULL
from anpr_engine.kernels.codes import TABLE_OK as OK
from anpr_engine.kernels.jit import inlined, kernel


@inlined
def _mix(key: np.int64) -> np.uint64:
    """splitmix64 finaliser: spreads base-37 keys (which share low digits) over the table."""
    z = np.uint64(key)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@inlined
def _filter_bit(h: np.uint64, filter_words: np.ndarray) -> tuple[np.int64, np.uint64]:
    """Word and bit of a mixed key in the filter (from the hash's high half; the table uses the low)."""
    b = (h >> np.uint64(32)) & np.uint64(filter_words.shape[0] * 64 - 1)
    return np.int64(b >> np.uint64(6)), b & np.uint64(63)


@kernel
def _probe_from(table_keys: np.ndarray, key: np.int64, s: np.int64) -> np.int64:
    """Continue a linear probe for `key` at slot `s`; the slot holding it or -1."""
    mask = np.int64(table_keys.shape[0] - 1)
    for _ in range(table_keys.shape[0]):
        k = table_keys[s]
        if k == key:
            return s
        if k == EMPTY_KEY:
            return np.int64(-1)
        s = (s + 1) & mask
    return np.int64(-1)


@kernel
def find_slot(table_keys: np.ndarray, key: np.int64) -> np.int64:
    """Table slot holding `key`, or -1."""
    return _probe_from(table_keys, key, np.int64(_mix(key) & np.uint64(table_keys.shape[0] - 1)))


@kernel
def insert(
    table_keys: np.ndarray, table_heads: np.ndarray, next_entry: np.ndarray, filter_words: np.ndarray, key: np.int64,
    entry: int,
) -> int:  # fmt: skip
    """Add entry slot `entry` under `key` (prepended to the key's chain). Returns a status code."""
    w, b = _filter_bit(_mix(key), filter_words)
    filter_words[w] |= np.uint64(1) << b
    found = find_slot(table_keys, key)
    if found >= 0:
        next_entry[entry] = table_heads[found]
        table_heads[found] = entry
        return OK
    mask = np.int64(table_keys.shape[0] - 1)
    s = np.int64(_mix(key) & np.uint64(mask))
    for _ in range(table_keys.shape[0]):
        k = table_keys[s]
        if k == EMPTY_KEY or k == TOMBSTONE:  # noqa: SIM109 (plain compares for numba)
            table_keys[s] = key
            table_heads[s] = entry
            next_entry[entry] = -1
            return OK
        s = (s + 1) & mask
    return TABLE_FULL


@kernel
def insert_many(
    table_keys: np.ndarray,
    table_heads: np.ndarray,
    next_entry: np.ndarray,
    filter_words: np.ndarray,
    keys: np.ndarray,
    entries: np.ndarray,
) -> int:
    """Insert keys[i] → entries[i] for all i; keys of 0 (no plate) are skipped."""
    for i in range(keys.shape[0]):
        if keys[i] == EMPTY_KEY:
            continue
        st = insert(table_keys, table_heads, next_entry, filter_words, keys[i], entries[i])
        if st != OK:
            return st
    return OK


@kernel
def remove(table_keys: np.ndarray, table_heads: np.ndarray, next_entry: np.ndarray, key: np.int64, entry: int) -> int:
    """Unlink entry slot `entry` from `key`'s chain; the key becomes a tombstone when its chain empties."""
    s = find_slot(table_keys, key)
    if s < 0:
        return NOT_FOUND
    prev = -1
    cur = table_heads[s]
    while cur >= 0 and cur != entry:
        prev = cur
        cur = next_entry[cur]
    if cur < 0:
        return NOT_FOUND
    if prev < 0:
        table_heads[s] = next_entry[cur]
    else:
        next_entry[prev] = next_entry[cur]
    next_entry[cur] = -1
    if table_heads[s] < 0:
        table_keys[s] = TOMBSTONE
    return OK


PROBE_BLOCK = 64


@kernel
def _lookup_block(
    table_keys: np.ndarray, filter_words: np.ndarray, keys: np.ndarray, start: int, m: int, home: np.ndarray,
    found: np.ndarray,
) -> None:  # fmt: skip
    """found[j] = slot of keys[start + j], or -1. The filter bits, then the home slots of the keys that
    pass, are loaded a whole block at a time: independent loads the CPU overlaps, hiding the cache
    misses of a table larger than the caches."""
    mask = np.uint64(table_keys.shape[0] - 1)
    for j in range(m):
        h = _mix(keys[start + j])
        home[j] = np.int64(h & mask)
        w, b = _filter_bit(h, filter_words)
        if not (filter_words[w] >> b) & np.uint64(1):
            home[j] = -1
    for j in range(m):
        found[j] = table_keys[home[j]] if home[j] >= 0 else EMPTY_KEY
    for j in range(m):
        key = keys[start + j]
        if key == EMPTY_KEY or found[j] == EMPTY_KEY:
            found[j] = -1
        elif found[j] == key:
            found[j] = home[j]
        else:
            found[j] = _probe_from(table_keys, key, (home[j] + 1) & np.int64(mask))


@kernel
def probe_batch(
    table_keys: np.ndarray,
    table_heads: np.ndarray,
    next_entry: np.ndarray,
    filter_words: np.ndarray,
    read_keys: np.ndarray,
    read_cost: np.ndarray,
    read_codes: np.ndarray,
    entry_codes: np.ndarray,
    entry_max_equiv: np.ndarray,
    out_read: np.ndarray,
    out_entry: np.ndarray,
    out_equiv: np.ndarray,
) -> int:
    """Look every folded read key up and verify each candidate entry.

    A candidate is a hit when its cost is at most entry_max_equiv[entry]: the read's own cost
    (characters already corrected, for format candidates) plus the positions where the read's codes
    differ from the entry's (characters only OCR-equivalent, in a folded index). With zero-width
    read_codes (an exact index) the comparison is skipped.
    Reads are looked up a block at a time (see _lookup_block).
    Writes at most out_read.shape[0] hits and returns the total number found, so a caller whose
    buffers were too small can grow them and call again.
    """
    n_out = 0
    cap = out_read.shape[0]
    width = read_codes.shape[1]
    n = read_keys.shape[0]
    home = np.empty(PROBE_BLOCK, dtype=np.int64)
    found = np.empty(PROBE_BLOCK, dtype=np.int64)
    for start in range(0, n, PROBE_BLOCK):
        m = min(PROBE_BLOCK, n - start)
        _lookup_block(table_keys, filter_words, read_keys, start, m, home, found)
        for j in range(m):
            if found[j] < 0:
                continue
            i = start + j
            e = table_heads[found[j]]
            while e >= 0:
                diff = read_cost[i]
                for k in range(width):
                    if read_codes[i, k] != entry_codes[e, k]:
                        diff += 1
                if diff <= entry_max_equiv[e]:
                    if n_out < cap:
                        out_read[n_out] = i
                        out_entry[n_out] = e
                        out_equiv[n_out] = diff
                    n_out += 1
                e = next_entry[e]
    return n_out
