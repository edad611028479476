"""Numba kernel: deletion variants of coded plates, for matching within a budget of differences.

Two plates are within d differences (characters inserted or missing, as when a screw or a sticker
is read as a character, or a character is lost behind a tow bar) when deleting i characters from
one and j from the other gives the same string, with i + j <= d. So the listed plates' deletion
variants go into a hash index once, and each read's own deletion variants are looked up in it:
symmetric deletion, as in SymSpell, with no scan of the list per read. A substitution that is not an
OCR look-alike costs two differences (one missing, one inserted). Variants are never empty: two
plates with no character in common do not match, whatever the budget.

Codes are those of kernels/normalize.py (1..36, rows of MAX_LEN, 0-padded); a variant's key packs
its remaining codes in base 37, so variants of different lengths never share a key.
Never raises; returns counts. match/plate_index.py is its wrapper.
"""

import numpy as np

from anpr_engine.kernels.codes import BASE
from anpr_engine.kernels.codes import MAX_DELETIONS as MAX_DELETIONS
from anpr_engine.kernels.jit import inlined, kernel


@inlined
def _key_without(codes: np.ndarray, i: int, n: int, a: int, b: int) -> np.int64:
    """Key of row i's first n codes with positions a and b left out (-1: none)."""
    key = np.int64(0)
    for k in range(n):
        if k != a and k != b:
            key = key * BASE + codes[i, k]
    return key


@kernel
def deletion_variants(
    codes: np.ndarray,
    lengths: np.ndarray,
    rows: np.ndarray,
    max_del: np.ndarray,
    out_row: np.ndarray,
    out_key: np.ndarray,
    out_dels: np.ndarray,
) -> int:
    """For each i in `rows`, every distinct non-empty string made by deleting 0..max_del[i] (at most
    MAX_DELETIONS) of its characters: (i, key, characters deleted), with the fewest deletions for a
    string reached in several ways. Writes at most out_row.shape[0] and returns the total, so a
    caller with short buffers can grow them and call again."""
    cap = out_row.shape[0]
    n_out = 0
    keys = np.empty(1 + 12 + 66, dtype=np.int64)  # 1 + L + L(L-1)/2 variants at most, L <= 12
    dels = np.empty(1 + 12 + 66, dtype=np.int8)
    for r in range(rows.shape[0]):
        i = rows[r]
        n = int(lengths[i])
        d = min(int(max_del[i]), MAX_DELETIONS, n - 1)
        if n == 0 or d < 0:
            continue
        m = 0
        keys[m] = _key_without(codes, i, n, -1, -1)
        dels[m] = 0
        m += 1
        for a in range(n if d >= 1 else 0):
            keys[m] = _key_without(codes, i, n, a, -1)
            dels[m] = 1
            m += 1
        for a in range(n if d >= 2 else 0):
            for b in range(a + 1, n):
                keys[m] = _key_without(codes, i, n, a, b)
                dels[m] = 2
                m += 1
        for v in range(m):  # variants come in order of deletions: keep each key's first
            dup = False
            for u in range(v):
                if keys[u] == keys[v]:
                    dup = True
                    break
            if dup:
                continue
            if n_out < cap:
                out_row[n_out] = i
                out_key[n_out] = keys[v]
                out_dels[n_out] = dels[v]
            n_out += 1
    return n_out
