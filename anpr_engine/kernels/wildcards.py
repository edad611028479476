"""Numba kernels: wildcard entries, a partial plate from a witness with `*` for any run of characters.

A pattern is coded like a plate (kernels/normalize.py codes 1..36) with WILDCARD where a `*` stood,
and matches a whole read: `12*3` is every plate that starts with 12 and ends with 3. Patterns are
found without scanning them per read: each is indexed under one of its literal runs (an anchor of
1 to 3 characters), a read's runs of the anchor lengths in use are looked up, and only the patterns
found are checked in full (glob_pairs). Never raises; returns counts or writes flags.
match/plate_index.py is their wrapper.
"""

import numpy as np

from anpr_engine.kernels.codes import BASE
from anpr_engine.kernels.codes import WILDCARD as WILDCARD
from anpr_engine.kernels.jit import inlined, kernel


@kernel
def grams(
    codes: np.ndarray, lengths: np.ndarray, rows: np.ndarray, g: int, out_row: np.ndarray, out_key: np.ndarray
) -> int:
    """The key of every run of g characters of each row in `rows`: (row, key). Writes at most
    out_row.shape[0] and returns the total."""
    cap = out_row.shape[0]
    n_out = 0
    for r in range(rows.shape[0]):
        i = rows[r]
        for start in range(int(lengths[i]) - g + 1):
            key = np.int64(0)
            for k in range(start, start + g):
                key = key * BASE + codes[i, k]
            if n_out < cap:
                out_row[n_out] = i
                out_key[n_out] = key
            n_out += 1
    return n_out


@inlined
def _glob(text: np.ndarray, n: int, pat: np.ndarray, m: int) -> bool:
    """Whole-text match of a pattern whose WILDCARD codes stand for any run (greedy, with backtracking
    to the last star: linear for the one or two stars a pattern has)."""
    t = 0
    p = 0
    star = -1
    resume = 0
    while t < n:
        if p < m and pat[p] != WILDCARD and pat[p] == text[t]:
            t += 1
            p += 1
        elif p < m and pat[p] == WILDCARD:
            star = p
            resume = t
            p += 1
        elif star >= 0:
            p = star + 1
            resume += 1
            t = resume
        else:
            return False
    while p < m and pat[p] == WILDCARD:
        p += 1
    return p == m


@kernel
def glob_pairs(
    codes: np.ndarray,
    lengths: np.ndarray,
    rows: np.ndarray,
    pat_codes: np.ndarray,
    pat_lengths: np.ndarray,
    pats: np.ndarray,
    out_ok: np.ndarray,
) -> None:
    """out_ok[j] = read rows[j] matches pattern pats[j] in full."""
    for j in range(rows.shape[0]):
        i = rows[j]
        q = pats[j]
        out_ok[j] = _glob(codes[i], int(lengths[i]), pat_codes[q], int(pat_lengths[q]))
