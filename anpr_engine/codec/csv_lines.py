"""The line on which each row of CSV text starts, for the line numbers of a file's rows: the wrapper of
kernels/lines.py (its one caller)."""

from __future__ import annotations

import numpy as np

from anpr_engine.errors import BadInput
from anpr_engine.kernels.lines import csv_row_lines


def row_lines(data: bytes, delimiter: str = ",", quote: str = '"') -> np.ndarray:
    """int64: the 1-based line on which each CSV row of `data` starts, as Arrow's CSV reader reads
    rows (a newline inside a quoted field belongs to the field; an empty line is no row)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BadInput(f"CSV text: need bytes, not {type(data).__name__}")
    for name, char in (("delimiter", delimiter), ("quote", quote)):
        if not (isinstance(char, str) and len(char) == 1 and char.isascii()):
            raise BadInput(f"CSV {name}: need one ASCII character, not {char!r}")
    buf = np.frombuffer(data, dtype=np.uint8)
    starts = np.empty(int(np.count_nonzero((buf == 10) | (buf == 13))) + 1, dtype=np.int64)
    return starts[: csv_row_lines(buf, ord(delimiter), ord(quote), starts)]
