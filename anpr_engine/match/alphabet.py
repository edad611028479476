"""The plate alphabet and its OCR-equivalence classes, in plain Python: the match policy (and so the
config) needs them, and the console scripts' --help should pay neither numba's import nor numpy's.

Character code c (1..36, kernels/codes.py) is ALPHABET[c - 1]; a fold maps each code to the code of
its class representative (match/normalize.py's fold_table makes the kernels' array of it).
"""

from __future__ import annotations

from collections.abc import Sequence

from anpr_engine.kernels.codes import BASE

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Default OCR-confusion classes of the field's leading hotlist matcher; the first is the representative.
DEFAULT_OCR_CLASSES = ("0ODQ", "1I", "2Z", "5S", "8B", "6G")


def fold_codes(classes: Sequence[str] = DEFAULT_OCR_CLASSES) -> list[int]:
    """The fold of OCR classes: for each character code 0..36, the code of its class representative.
    Raises ValueError for classes that are not 2+ distinct characters of ALPHABET, each in one class."""
    fold = list(range(BASE))
    seen: set[str] = set()
    for cls in classes:
        if len(cls) < 2 or any(c not in ALPHABET or c in seen for c in cls):
            raise ValueError(f"OCR class {cls!r}: need 2+ distinct characters of {ALPHABET}, each in one class")
        seen.update(cls)
        rep = ALPHABET.index(cls[0]) + 1
        for c in cls:
            fold[ALPHABET.index(c) + 1] = rep
    return fold
