"""Numba kernels: checks of Arrow string columns (validity, offsets and data buffers) in one pass,
for the decoder's vectorized validation of reads. Never raise; write one flag per string.
codec/columns.py is their wrapper."""

import numpy as np

from anpr_engine.kernels.jit import kernel


@kernel
def two_capitals(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray, null_ok: bool, out: np.ndarray) -> None:
    """out[i]: string i is two ASCII capitals (^[A-Z]{2}$); a null string gives null_ok."""
    for i in range(valid.shape[0]):
        if not valid[i]:
            out[i] = null_ok
            continue
        s = offsets[i]
        if offsets[i + 1] - s != 2:
            out[i] = False
            continue
        a = data[s]
        b = data[s + 1]
        out[i] = 65 <= a <= 90 and 65 <= b <= 90


@kernel
def one_of(
    data: np.ndarray,
    offsets: np.ndarray,
    valid: np.ndarray,
    words: np.ndarray,
    word_offsets: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[i]: string i equals one of the words (concatenated in `words`, split by `word_offsets`); null: False."""
    for i in range(valid.shape[0]):
        out[i] = False
        if not valid[i]:
            continue
        s = offsets[i]
        n = offsets[i + 1] - s
        for w in range(word_offsets.shape[0] - 1):
            ws = word_offsets[w]
            if word_offsets[w + 1] - ws != n:
                continue
            same = True
            for k in range(n):
                if data[s + k] != words[ws + k]:
                    same = False
                    break
            if same:
                out[i] = True
                break
