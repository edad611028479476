"""Numba kernel: rows of columns written as flat JSON objects, one pass, for watchlist files whose
entries are published as JSON (building it with Arrow string functions took 1.7-2 s a million rows).
Never raises: a row holding a control character is flagged, not written right. codec/json_write.py is
its wrapper."""

import numpy as np

from anpr_engine.kernels.codes import FIELD_STRING as STRING
from anpr_engine.kernels.codes import NO_ROOM
from anpr_engine.kernels.jit import kernel


@kernel
def _digits(v: int, out: np.ndarray, at: int) -> int:
    """Write v (>= 0) in decimal at out[at:]; return the position after it."""
    if v == 0:
        out[at] = 48
        return at + 1
    n = 0
    x = v
    while x > 0:
        n += 1
        x //= 10
    for k in range(n - 1, -1, -1):
        out[at + k] = 48 + v % 10
        v //= 10
    return at + n


@kernel
def write_objects(
    keys: np.ndarray,
    key_offsets: np.ndarray,
    kinds: np.ndarray,
    column: np.ndarray,
    data: np.ndarray,
    string_offsets: np.ndarray,
    ints: np.ndarray,
    present: np.ndarray,
    out: np.ndarray,
    offsets: np.ndarray,
    ok: np.ndarray,
) -> int:
    """Row i as `{<key 0><value>,<key 1><value>...}` into out, its end at offsets[i + 1]: key f is
    keys[key_offsets[f]:key_offsets[f + 1]] (e.g. `"plate":`), a value null where not present[i, f],
    else (kind STRING, c = column[f]) the string data[string_offsets[i, c]:string_offsets[i + 1, c]]
    quoted, `"` and `\\` escaped, or (kind INT) the integer ints[i, column[f]] (>= 0). ok[i] is False
    where a string holds a byte below 0x20 or an integer is negative. Returns the bytes written, or NO_ROOM
    if out is too small (nothing is valid then)."""
    n = present.shape[0]
    pos = 0
    cap = out.shape[0]
    offsets[0] = 0
    for i in range(n):
        ok[i] = True
        if pos + 1 > cap:
            return NO_ROOM
        out[pos] = 123  # {
        pos += 1
        for f in range(kinds.shape[0]):
            ks = key_offsets[f]
            ke = key_offsets[f + 1]
            need = ke - ks + 1 + 4 + 20
            c = column[f]
            if kinds[f] == STRING and present[i, f]:
                need += 2 * (string_offsets[i + 1, c] - string_offsets[i, c]) + 2
            if pos + need > cap:
                return NO_ROOM
            if f > 0:
                out[pos] = 44  # ,
                pos += 1
            for k in range(ks, ke):
                out[pos] = keys[k]
                pos += 1
            if not present[i, f]:
                out[pos] = 110  # null
                out[pos + 1] = 117
                out[pos + 2] = 108
                out[pos + 3] = 108
                pos += 4
            elif kinds[f] == STRING:
                out[pos] = 34
                pos += 1
                for k in range(string_offsets[i, c], string_offsets[i + 1, c]):
                    c = data[k]
                    if c < 32:
                        ok[i] = False
                    if c == 34 or c == 92:
                        out[pos] = 92
                        pos += 1
                    out[pos] = c
                    pos += 1
                out[pos] = 34
                pos += 1
            else:
                v = ints[i, c]
                if v < 0:
                    ok[i] = False
                    v = 0
                pos = _digits(v, out, pos)
        if pos + 1 > cap:
            return NO_ROOM
        out[pos] = 125  # }
        pos += 1
        offsets[i + 1] = pos
    return pos
