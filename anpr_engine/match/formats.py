"""National plate formats, as the format-aware matcher uses them (kernels/formats.py).

Patterns are written as printed: `9` a digit, `@` a letter of the country's series alphabet, `A` any
letter, `h` the German `E`/`H` suffix, `-` or space a separator. The separators give the layout: a
read whose separators survived (`H-B87-FK`) is judged only by the formats with that layout. They cover the current
and common older formats of the countries the Limburg cameras see most; a read of another country
is matched exactly only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from anpr_engine.match.normalize import ALPHABET, DEFAULT_OCR_CLASSES, MAX_LEN

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
ANY_COUNTRY = -1  # read country unknown: try every country's formats
NO_FORMATS = -2  # a country without formats here: exact only


def country_index(country: str | None) -> int:
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


@dataclass(frozen=True)
class FormatTable:
    """The pattern arrays the kernel takes."""

    mask: np.ndarray
    breaks: np.ndarray
    group_start: np.ndarray  # patterns of length L, country c: rows group_start[L, c] to group_start[L, c + 1]
    class_members: np.ndarray


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
