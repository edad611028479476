"""Numba kernels: UTF-8 plate text → fixed-width character codes → 64-bit keys.

A plate is coded as up to MAX_LEN characters in 1..36 ('0'-'9' → 1..10, 'A'-'Z' → 11..36).
The key packs those codes in base 37 (Horner), so two plates have the same key exactly when
they have the same codes; 37**12 < 2**63, so every key fits an int64 and 0 means "no plate".

The constants and status codes are in kernels/codes.py (importable without numba). These kernels
never raise, and report bad input as a status code; match/normalize.py is their wrapper.
"""

import numpy as np

from anpr_engine.kernels.codes import BASE, INVALID, SEPARATOR
from anpr_engine.kernels.codes import MAX_LEN as MAX_LEN
from anpr_engine.kernels.codes import PLATE_BAD_CHAR as BAD_CHAR
from anpr_engine.kernels.codes import PLATE_BAD_UTF8 as BAD_UTF8
from anpr_engine.kernels.codes import PLATE_EMPTY as EMPTY
from anpr_engine.kernels.codes import PLATE_OK as OK
from anpr_engine.kernels.codes import PLATE_TOO_LONG as TOO_LONG
from anpr_engine.kernels.jit import kernel


@kernel
def _decode_utf8(data: np.ndarray, pos: int, end: int) -> tuple[int, int]:
    """Decode one code point at data[pos]; return (code point or -1 if malformed, next position)."""
    b0 = data[pos]
    if b0 < 0x80:
        return b0, pos + 1
    if b0 < 0xC2:
        return -1, pos + 1
    if b0 < 0xE0:
        need = 1
        cp = b0 & 0x1F
        lo = 0x80
    elif b0 < 0xF0:
        need = 2
        cp = b0 & 0x0F
        lo = 0x800
    elif b0 < 0xF5:
        need = 3
        cp = b0 & 0x07
        lo = 0x10000
    else:
        return -1, pos + 1
    if pos + need >= end:
        return -1, end
    for k in range(1, need + 1):
        b = data[pos + k]
        if (b & 0xC0) != 0x80:
            return -1, pos + k
        cp = (cp << 6) | (b & 0x3F)
    if cp < lo or (0xD800 <= cp <= 0xDFFF) or cp > 0x10FFFF:
        return -1, pos + need + 1
    return cp, pos + need + 1


@kernel
def normalize_batch(
    data: np.ndarray,
    offsets: np.ndarray,
    table: np.ndarray,
    fold: np.ndarray,
    codes: np.ndarray,
    lengths: np.ndarray,
    status: np.ndarray,
    keys: np.ndarray,
    folded: np.ndarray,
    breaks: np.ndarray,
    fold_keys: bool,
) -> None:
    """Normalize n strings given as Arrow-style UTF-8 `data` and `offsets` (n+1, int32 or int64).

    `table` maps each BMP code point to a character code (1..36), SEPARATOR (dropped) or INVALID;
    `fold` maps a code to its OCR-class representative. Writes per string: `codes` (MAX_LEN
    columns; the array must arrive zero-filled, so padding costs no stores), `lengths`, `status`,
    the exact key and the folded key (0 if rejected), and `breaks`: bit k set when a separator stood
    between the plate's characters k-1 and k (its layout).
    With fold_keys False (an identity `fold`) the folded key is the exact key, not computed twice.
    """
    n = offsets.shape[0] - 1
    width = codes.shape[1]
    for i in range(n):
        pos = int(offsets[i])
        end = int(offsets[i + 1])
        length = 0
        st = OK
        key = np.int64(0)
        fkey = np.int64(0)
        brk = 0
        while pos < end:
            b = data[pos]
            if b < 0x80:
                c = table[b]
                pos += 1
            else:
                cp, pos = _decode_utf8(data, pos, end)
                if cp < 0:
                    st = BAD_UTF8
                    break
                if cp >= table.shape[0]:
                    st = BAD_CHAR
                    break
                c = table[cp]
            if c == SEPARATOR:
                if length > 0:
                    brk |= 1 << length
                continue
            if c == INVALID:
                st = BAD_CHAR
                break
            if length >= width:
                st = TOO_LONG
                break
            codes[i, length] = c
            key = key * BASE + c
            if fold_keys:
                fkey = fkey * BASE + fold[c]
            length += 1
        if st == OK and length == 0:
            st = EMPTY
        brk &= (1 << length) - 1  # separators after the last character are no layout
        if st != OK:
            for k in range(length):  # the row arrived zeroed: clear what was written before the rejection
                codes[i, k] = 0
            length = 0
            key = np.int64(0)
            fkey = np.int64(0)
            brk = 0
        lengths[i] = length
        status[i] = st
        keys[i] = key
        folded[i] = fkey if fold_keys else key
        breaks[i] = brk


@kernel
def pack_keys(codes: np.ndarray, lengths: np.ndarray, fold: np.ndarray, keys: np.ndarray) -> None:
    """Pack each row of codes, mapped through `fold` (37 entries), into a base-37 key; 0 for no plate."""
    for i in range(codes.shape[0]):
        key = np.int64(0)
        for k in range(lengths[i]):
            key = key * BASE + fold[codes[i, k]]
        keys[i] = key
