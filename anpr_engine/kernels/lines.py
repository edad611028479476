"""Numba kernel: the line where each CSV row of a text buffer starts (for the line numbers of file rows).
codec/csv_lines.py is its wrapper."""

import numpy as np

from anpr_engine.kernels.jit import kernel


@kernel
def csv_row_lines(buf: np.ndarray, delimiter: int, quote: int, out: np.ndarray) -> int:
    """Write the 1-based line on which each CSV row of buf starts into out (one more than buf's \\n
    and \\r bytes is long enough); return how many rows. As Arrow's CSV reader (and Python's csv) read a row: a quote
    opens a quoted field only at the field's start, `""` inside one is a quote, a newline inside one
    belongs to the field; lines end at \\n, \\r\\n or \\r; an empty line is no row."""
    count = 0
    line = 1
    start = 1
    seen = False
    quoted = False
    field_start = True
    n = buf.shape[0]
    k = 0
    while k < n:
        c = buf[k]
        k += 1
        if c == 13:  # \r\n ends a line as \n does, a lone \r too
            if k < n and buf[k] == 10:
                continue
            c = 10
        if quoted:
            if c == quote:
                if k < n and buf[k] == quote:
                    k += 1
                else:
                    quoted = False
            elif c == 10:
                line += 1
            continue
        if c == 10:
            if seen:
                out[count] = start
                count += 1
            line += 1
            start = line
            seen = False
            field_start = True
        elif c == quote and field_start:
            quoted = True
            seen = True
            field_start = False
        elif c == delimiter:
            seen = True
            field_start = True
        else:
            seen = True
            field_start = False
    if seen:
        out[count] = start
        count += 1
    return count
