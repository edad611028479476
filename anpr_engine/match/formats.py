"""National plate formats, as the format-aware matcher uses them: the wrapper of kernels/formats.py
(its one caller).

Patterns are written as printed: `9` a digit, `@` a letter of the country's series alphabet, `A` any
letter, `h` the German `E`/`H` suffix, `-` or space a separator. The separators give the layout: a
read whose separators survived (`H-B87-FK`) is judged only by the formats with that layout. They cover the current
and common older formats of the countries the Limburg cameras see most; a read of another country
is matched exactly only.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from anpr_engine.errors import BadInput
from anpr_engine.kernels import formats as k
from anpr_engine.kernels.codes import ANY_COUNTRY, BASE, MAX_LEN, NO_FORMATS
from anpr_engine.match.alphabet import ALPHABET, DEFAULT_OCR_CLASSES
from anpr_engine.match.buffers import checked, filled
from anpr_engine.match.normalize import NormalizedPlates

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# NL: the 14 sidecodes; series letters leave out vowels and C, Q, W (M only in some series).
NL = ("BDFGHJKLMNPRSTVXZ", ("@@-99-99", "99-99-@@", "99-@@-99", "@@-99-@@", "@@-@@-99", "99-@@-@@",
                            "99-@@@-9", "9-@@@-99", "@@-999-@", "@-999-@@", "@@@-99-@", "@-99-@@@",
                            "9-@@-999", "999-@@-9"))  # fmt: skip
# BE: 1-ABC-234 (since 2010), ABC-123 and 123-ABC before; no I, O, Q.
BE = ("ABCDEFGHJKLMNPRSTUVWXYZ", ("9-@@@-999", "@@@-999", "999-@@@"))
# FR: AB-123-CD (SIV, since 2009); no I, O, U.
FR = ("ABCDEFGHJKLMNPQRSTVWXYZ", ("@@-999-@@",))
# LU: AB 1234 and 1234 (also five digits).
LU = ("ABCDEFGHJKLMNPQRSTUVWXYZ", ("@@ 9999", "9999", "99999"))
# DE: district (1-3 letters) - 1-2 letters, 1-4 digits (+ E electric, H historic).
DE = (LETTERS, tuple(f"{'A' * district}-{'A' * letters} {'9' * digits}{suffix}" for district in range(1, 4)
                     for letters in range(1, 3) for digits in range(1, 5) for suffix in ("", "h")))  # fmt: skip
FORMATS = {"NL": NL, "BE": BE, "DE": DE, "FR": FR, "LU": LU}
COUNTRIES = tuple(FORMATS)
_COUNTRY_SET = pa.array(COUNTRIES)


def country_index(country: str | None) -> int:
    """A read's country as the kernel takes it: its number in COUNTRIES, ANY_COUNTRY (unknown: try
    every country's formats) or NO_FORMATS (a country without formats here: exact only)."""
    if country is None:
        return ANY_COUNTRY
    return COUNTRIES.index(country) if country in FORMATS else NO_FORMATS


def layout(printed: str) -> tuple[str, int]:
    """A printed pattern (or plate) without separators, and its breaks: bit k = separator before char k."""
    chars: list[str] = []
    brk = 0
    for ch in printed:
        if ch in "- ":
            if chars:
                brk |= 1 << len(chars)
        else:
            chars.append(ch)
    return "".join(chars), brk & ((1 << len(chars)) - 1)


def _mask(chars: str) -> int:
    return sum(1 << (ALPHABET.index(c) + 1) for c in chars)


class FormatTable(NamedTuple):
    """The pattern arrays the kernel takes, in the order it takes them (see kernels/formats.py)."""

    mask: np.ndarray  # uint64 (patterns, MAX_LEN): bit c of [p, k] = code c allowed at position k
    breaks: np.ndarray  # uint16 (patterns,): the layout
    group_start: np.ndarray  # patterns of length L, country c: rows group_start[L, c] to group_start[L, c + 1]
    class_members: np.ndarray  # uint8 (37, 4): the codes of each code's OCR class, 0-padded


class Candidates(NamedTuple):
    """The candidate exact keys of a batch of reads: candidate j is read[j]'s key[j], with cost[j]
    characters corrected (0: the read as read); fits[i] says whether read i fits a format considered."""

    read: np.ndarray  # int32
    key: np.ndarray  # int64
    cost: np.ndarray  # int8
    fits: np.ndarray  # bool, one per read


@cache
def format_table(ocr_classes: tuple[str, ...] = DEFAULT_OCR_CLASSES) -> FormatTable:
    rows = []
    for ci, (series, patterns) in enumerate(FORMATS.values()):
        allowed = {"9": _mask(DIGITS), "@": _mask(series), "A": _mask(LETTERS), "h": _mask("EH")}
        for printed in patterns:
            pat, brk = layout(printed)
            if len(pat) > MAX_LEN:
                raise ValueError(f"pattern {printed!r} longer than {MAX_LEN}")
            rows.append((len(pat), ci, [allowed[c] for c in pat] + [0] * (MAX_LEN - len(pat)), brk))
    members = np.zeros((len(ALPHABET) + 1, 4), dtype=np.uint8)
    for code in range(1, len(ALPHABET) + 1):
        ch = ALPHABET[code - 1]
        cls = next((c for c in ocr_classes if ch in c), ch)
        for j, m in enumerate(cls[:4]):
            members[code, j] = ALPHABET.index(m) + 1
    rows.sort(key=lambda r: (r[0], r[1]))
    lengths = np.array([r[0] for r in rows], dtype=np.int64)
    order = lengths * len(COUNTRIES) + np.array([r[1] for r in rows], dtype=np.int64)
    groups = np.arange(MAX_LEN + 1)[:, None] * len(COUNTRIES) + np.arange(len(COUNTRIES) + 1)[None, :]
    group_start = np.searchsorted(order, groups, side="left").astype(np.int64)
    return FormatTable(
        np.array([r[2] for r in rows], dtype=np.uint64),
        np.array([r[3] for r in rows], dtype=np.uint16),
        group_start,
        members,
    )


def read_countries(countries: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """country_index of each read's OCR'd country, for a whole column at once."""
    idx = pc.index_in(countries, value_set=_COUNTRY_SET)
    rc = np.where(countries.is_null().to_numpy(zero_copy_only=False), ANY_COUNTRY, NO_FORMATS).astype(np.int64)
    known = idx.is_valid().to_numpy(zero_copy_only=False)
    rc[known] = idx.to_numpy(zero_copy_only=False)[known]
    return rc


def format_candidates(
    plates: NormalizedPlates,
    countries: pa.Array | pa.ChunkedArray,
    table: FormatTable,
    max_corrections: int,
    only_unique: bool,
    any_country_fits: bool,
) -> Candidates:
    """Every read's candidate exact keys (kernels/formats.py): the read as read, and, for a read that
    fits no format of its OCR'd country (`countries`, one per read; null: any), its nearest
    corrections of at most `max_corrections` characters (with `only_unique`, only a nearest one that
    is unique); `any_country_fits` trusts a read that fits a format of any country."""
    n = len(plates)
    if len(countries) != n:
        raise BadInput(f"countries: need one per read ({n}), not {len(countries)}")
    checked("mask", table.mask, np.uint64, 2)
    checked("breaks", table.breaks, np.uint16, 1, table.mask.shape[0])
    checked("group_start", table.group_start, np.int64, 2, MAX_LEN + 1)
    checked("class_members", table.class_members, np.uint8, 2, BASE)
    if table.mask.shape[1] != MAX_LEN or table.group_start.shape[1] != len(COUNTRIES) + 1:
        raise BadInput(f"table: need {MAX_LEN} positions a pattern and {len(COUNTRIES)} countries (see format_table)")
    rc = read_countries(countries)
    fits = np.empty(n, dtype=bool)
    read, key, cost = filled(
        2 * n + 16, (np.int32, np.int64, np.int8),
        lambda read, key, cost: k.format_candidates(
            plates.codes, plates.keys, plates.lengths, plates.breaks, rc, *table, max_corrections, only_unique,
            any_country_fits, read, key, cost, fits,
        ),
    )  # fmt: skip
    return Candidates(read, key, cost, fits)
