"""Plate text normalization: the wrapper of the kernels in kernels/normalize.py (their one caller).

What a plate becomes: Unicode compatibility forms folded (NFKC: full-width letters, ligature-free
digits), Latin letters stripped of diacritics (Ä → A, so `MÜ` matches `MU`), Cyrillic and Greek
letters that look like Latin ones mapped to them, upper case, and every separator cameras send
dropped. Anything else (control characters, other scripts, punctuation) rejects the read with a
status code; it never raises out of the batch.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

from anpr_engine.errors import BadInput
from anpr_engine.kernels import normalize as k
from anpr_engine.kernels.codes import (
    BASE,
    INVALID,
    MAX_LEN,
    PLATE_BAD_CHAR,
    PLATE_BAD_UTF8,
    PLATE_EMPTY,
    PLATE_OK,
    PLATE_TOO_LONG,
    SEPARATOR,
)
from anpr_engine.match.alphabet import ALPHABET, DEFAULT_OCR_CLASSES, fold_codes
from anpr_engine.match.buffers import checked

STATUS_NAMES = {
    PLATE_OK: "ok",
    PLATE_EMPTY: "empty",
    PLATE_TOO_LONG: "too_long",
    PLATE_BAD_CHAR: "bad_char",
    PLATE_BAD_UTF8: "bad_utf8",
}

SEPARATORS = frozenset(
    " -._/·\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2022\u2027\u22c5\u2219\u30fb\uff65"
    "\u3000\uff0d\uff0e\uff0f\uff3f\u2009\u202f"
)
# Cyrillic and Greek capitals and small letters that cameras (or keyboards) produce for Latin ones.
LOOKALIKES = {
    **dict(zip("АВЕЗКМНОРСТУХІЈЅ", "ABE3KMHOPCTYXIJS", strict=True)),
    **dict(zip("авекмнорстухіјѕ", "ABEKMHOPCTYXIJS", strict=True)),
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),
    **dict(zip("οκ", "OK", strict=True)),
}


def canonical_char(ch: str) -> str | None:
    """The plate character `ch` stands for: one of ALPHABET, "" for a separator, None if not plate text.

    Only the Basic Multilingual Plane is plate text (the kernel's table covers it): mathematical
    letters and other astral look-alikes are rejected rather than folded.
    """
    if ord(ch) > 0xFFFF:
        return None
    if ch in SEPARATORS:
        return ""
    if ch in LOOKALIKES:
        return LOOKALIKES[ch]
    folded = unicodedata.normalize("NFKC", ch)
    if len(folded) == 1 and folded.upper() in ALPHABET and folded.isascii():
        return folded.upper()
    if unicodedata.category(ch).startswith("L"):
        base = unicodedata.normalize("NFD", ch)[0]
        if base.isascii() and base.upper() in ALPHABET:
            return base.upper()
    return None


@cache
def code_table() -> np.ndarray:
    """int8[0x10000]: BMP code point → character code 1..36, SEPARATOR or INVALID (for the kernel)."""
    table = np.full(0x10000, INVALID, dtype=np.int8)
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = canonical_char(chr(cp))
        if c == "":
            table[cp] = SEPARATOR
        elif c is not None:
            table[cp] = ALPHABET.index(c) + 1
    return table


def fold_table(classes: Sequence[str] = DEFAULT_OCR_CLASSES) -> np.ndarray:
    """uint8[37]: character code → code of its OCR-equivalence class representative (the kernels' fold)."""
    return np.array(fold_codes(classes), dtype=np.uint8)


IDENTITY_FOLD = np.arange(BASE, dtype=np.uint8)
_CODE_TO_CHAR = bytes.maketrans(bytes(range(1, BASE + 1)), (ALPHABET + "*").encode())  # 37: a wildcard


def _check_fold(fold: np.ndarray) -> None:
    if not (isinstance(fold, np.ndarray) and fold.shape == (BASE,) and fold.dtype == np.uint8):
        raise BadInput("fold must be a uint8 array of 37 codes (see fold_table)")


def codes_text(codes: np.ndarray) -> str:
    """A zero-padded row of character codes as plate text."""
    return codes.tobytes().rstrip(b"\0").translate(_CODE_TO_CHAR).decode("ascii")


@dataclass(frozen=True)
class NormalizedPlates:
    """A batch of normalized plates as columns: codes (n, MAX_LEN) uint8, lengths, status, exact keys,
    the keys folded through `fold` (the OCR classes the batch was normalized for), and the layout."""

    codes: np.ndarray
    lengths: np.ndarray
    status: np.ndarray
    keys: np.ndarray
    folded: np.ndarray
    fold: np.ndarray
    breaks: np.ndarray  # uint16: bit k = a separator stood before character k (the plate's layout)

    def __post_init__(self) -> None:
        """The arrays as the kernels take them (what normalize_plates makes): checked once here, so the
        wrappers that take a batch need not check it again."""
        n = checked("lengths", self.lengths, np.uint8).shape[0]
        if checked("codes", self.codes, np.uint8, 2, n).shape[1] != MAX_LEN:
            raise BadInput(f"codes: need {MAX_LEN} columns, not {self.codes.shape[1]}")
        checked("status", self.status, np.uint8, 1, n)
        checked("keys", self.keys, np.int64, 1, n)
        checked("folded", self.folded, np.int64, 1, n)
        checked("breaks", self.breaks, np.uint16, 1, n)
        _check_fold(self.fold)

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def text(self, i: int) -> str:
        """Normalized plate i as a string ('' if rejected)."""
        return codes_text(self.codes[i])

    def texts(self) -> list[str]:
        """Every normalized plate as a string ('' where rejected), in one pass over the codes."""
        fixed = np.frombuffer(self.codes.tobytes().translate(_CODE_TO_CHAR), dtype=f"S{self.codes.shape[1]}")
        return np.char.decode(fixed, "ascii").tolist()

    def folded_keys(self, fold: np.ndarray) -> np.ndarray:
        """Keys after mapping every character to its OCR-class representative under `fold`."""
        _check_fold(fold)
        if np.array_equal(fold, self.fold):
            return self.folded
        out = np.empty(len(self), dtype=np.int64)
        k.pack_keys(self.codes, self.lengths, fold, out)
        return out

    def rejection_counts(self, first: int | None = None) -> dict[str, int]:
        """How many plates (of the first `first`, if given) were rejected, by reason."""
        counts = np.bincount(self.status[:first], minlength=len(STATUS_NAMES))
        return {STATUS_NAMES[s]: int(counts[s]) for s in STATUS_NAMES if s != PLATE_OK and counts[s]}


def _as_string_array(plates: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    if isinstance(plates, pa.ChunkedArray):
        plates = plates.combine_chunks()
    if not isinstance(plates, pa.Array):
        plates = pa.array(plates, type=pa.string())
    if pa.types.is_string(plates.type) or pa.types.is_large_string(plates.type):
        return plates
    raise TypeError(f"plates must be strings, got Arrow type {plates.type}")


def normalize_plates(
    plates: pa.Array | pa.ChunkedArray | Sequence[str | None], fold: np.ndarray = IDENTITY_FOLD
) -> NormalizedPlates:
    """Normalize a column of raw plate texts (Arrow string array or sequence of str; None is rejected).

    `fold` (from fold_table) also yields the folded keys a PlateIndex with those OCR classes probes with.
    """
    arr = _as_string_array(plates)
    _check_fold(fold)
    n = len(arr)
    _, offsets_buf, data_buf = arr.buffers()
    off_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    if n:
        offsets = np.frombuffer(offsets_buf, dtype=off_type, count=n + 1, offset=arr.offset * off_type().itemsize)
    else:
        offsets = np.zeros(1, dtype=off_type)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
    codes = np.zeros((n, MAX_LEN), dtype=np.uint8)
    lengths = np.empty(n, dtype=np.uint8)
    status = np.empty(n, dtype=np.uint8)
    keys = np.empty(n, dtype=np.int64)
    folded = np.empty(n, dtype=np.int64)
    breaks = np.empty(n, dtype=np.uint16)
    fold_keys = not np.array_equal(fold, IDENTITY_FOLD)
    k.normalize_batch(data, offsets, code_table(), fold, codes, lengths, status, keys, folded, breaks, fold_keys)
    if arr.null_count:
        nulls = arr.is_null().to_numpy(zero_copy_only=False)
        status[nulls] = PLATE_EMPTY
        lengths[nulls] = 0
        codes[nulls] = 0
        keys[nulls] = 0
        folded[nulls] = 0
        breaks[nulls] = 0
    return NormalizedPlates(codes, lengths, status, keys, folded, fold, breaks)


def normalize_one(plate: str) -> str:
    """Normalized text of one plate ('' if it is not plate text): for tools and tests, not the hot path."""
    return normalize_plates([plate]).text(0)
