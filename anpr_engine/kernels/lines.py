"""Numba kernel: which lines of a text buffer hold more than whitespace (for line numbers of file rows)."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def visible_lines(buf: np.ndarray, out: np.ndarray) -> int:
    """Write the 1-based numbers of the lines of buf (split at \\n) holding a byte other than space,
    tab or \\r into out (as long as buf has lines); return how many."""
    count = 0
    line = 1
    seen = False
    for k in range(buf.shape[0]):
        c = buf[k]
        if c == 10:
            if seen:
                out[count] = line
                count += 1
            line += 1
            seen = False
        elif c != 32 and c != 9 and c != 13:
            seen = True
    if seen:
        out[count] = line
        count += 1
    return count
