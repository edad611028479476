"""The plain-Python matcher every speed figure is compared with: str methods, dict and set, same rules."""

from __future__ import annotations

import itertools
import math
from functools import cache

from anpr_engine.match.formats import FORMATS, layout
from anpr_engine.match.normalize import DEFAULT_OCR_CLASSES, MAX_LEN, SEPARATORS, canonical_char

BAD = "\x00"


@cache
def translation() -> dict[int, str | None]:
    """str.translate table: BMP code point → plate character, None (separator) or BAD."""
    table: dict[int, str | None] = {}
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = canonical_char(chr(cp))
        table[cp] = None if c == "" else (BAD if c is None else c)
    return table


def py_normalize(text: str) -> str | None:
    t = text.translate(translation())
    if not t or len(t) > MAX_LEN or BAD in t or any(ord(ch) > 0xFFFF for ch in text):
        return None
    return t


class PyMatcher:
    """Exact mode: a dict of normalized plates. OCR mode: a dict of folded plates, verified per candidate."""

    def __init__(self, plates: list[str], max_equivalences: int) -> None:
        self.budget = max_equivalences
        self.fold = str.maketrans({c: cls[0] for cls in DEFAULT_OCR_CLASSES for c in cls})
        self.index: dict[str, list[tuple[str, int]]] = {}
        for i, p in enumerate(plates):
            n = py_normalize(p)
            if n is not None:
                key = n.translate(self.fold) if self.budget else n
                self.index.setdefault(key, []).append((n, i))

    def match(self, texts: list[str]) -> list[tuple[int, int]]:
        """(read, entry) hits."""
        out = []
        fold, index, budget = self.fold, self.index, self.budget
        for r, text in enumerate(texts):
            n = py_normalize(text)
            if n is None:
                continue
            for listed, e in index.get(n.translate(fold) if budget else n, ()):
                if budget == 0 or sum(a != b for a, b in zip(n, listed, strict=True)) <= budget:
                    out.append((r, e))
        return out


class PyFormatMatcher:
    """Format mode in plain Python: the read is looked up as read; if it fits no format of its
    country, its nearest corrections (OCR look-alikes the format allows) too, when only one is
    nearest (the default policy's `ambiguous=skip`). Country policy `lenient`: a hit's plate
    country is not compared with the read's (`strict` would), and a read that fits a format of any
    country is not corrected."""

    def __init__(self, plates: list[str], max_corrections: int) -> None:
        self.budget = max_corrections
        self.index: dict[str, list[int]] = {}
        for i, p in enumerate(plates):
            n = py_normalize(p)
            if n is not None:
                self.index.setdefault(n, []).append(i)
        self.classes = {c: cls for cls in DEFAULT_OCR_CLASSES for c in cls}
        self.patterns: dict[tuple[str, int], list[tuple[list[str], int]]] = {}
        for country, (series, printed) in FORMATS.items():
            sets = {"9": "0123456789", "@": series, "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "h": "EH"}
            for pr in printed:
                pat, brk = layout(pr)
                self.patterns.setdefault((country, len(pat)), []).append(([sets[s] for s in pat], brk))

    def candidates(self, text: str, country: str | None) -> dict[str, int]:
        n = py_normalize(text)
        if n is None:
            return {}
        if self.budget == 0 or (country is not None and country not in FORMATS):
            return {n: 0}
        brk, k = 0, 0
        for ch in text.translate(translation_with_separators()):
            if ch == SEP:
                brk |= (1 << k) if k else 0
            else:
                k += 1
        brk &= (1 << k) - 1
        pats = self._judged_by(n, brk, (country,) if country else tuple(FORMATS))
        if self._fits(n, pats) or (country and self._fits(n, self._judged_by(n, brk, tuple(FORMATS)))):
            return {n: 0}  # fits a format of its country, or of any (its country band was misread)
        out: dict[str, int] = {}
        for sets, _ in pats:
            options, wrong = [], 0
            for ch, ok in zip(n, sets, strict=True):
                if ch in ok:
                    options.append(ch)
                else:
                    wrong += 1
                    options.append("".join(m for m in self.classes.get(ch, ch) if m in ok))
            if wrong > self.budget or math.prod(len(o) for o in options) > 8:
                continue
            for combo in itertools.product(*options):
                out.setdefault("".join(combo), wrong)
        least = min(out.values(), default=0)
        nearest = [c for c, cost in out.items() if cost == least]
        return {n: 0, **({nearest[0]: least} if len(nearest) == 1 else {})}

    def _judged_by(self, n: str, brk: int, countries: tuple[str, ...]) -> list[tuple[list[str], int]]:
        """The patterns of these countries and n's length, only those of its layout if any has it."""
        pats = [p for c in countries for p in self.patterns.get((c, len(n)), [])]
        if brk != 0 and any(b == brk for _, b in pats):
            pats = [(s, b) for s, b in pats if b == brk]
        return pats

    @staticmethod
    def _fits(n: str, pats: list[tuple[list[str], int]]) -> bool:
        return any(all(ch in ok for ch, ok in zip(n, sets, strict=True)) for sets, _ in pats)

    def match(self, texts: list[str], countries: list[str | None]) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for r, (text, country) in enumerate(zip(texts, countries, strict=True)):
            for cand in self.candidates(text, country):
                out.extend((r, e) for e in self.index.get(cand, ()))
        return out


SEP = "\x01"


@cache
def translation_with_separators() -> dict[int, str | None]:
    """Like translation(), but separators become SEP, so the plate's layout can be read."""
    return {cp: (SEP if c is None and chr(cp) in SEPARATORS else c) for cp, c in translation().items()}


class PyDiffMatcher:
    """Exact plates plus a budget of inserted or missing characters, in plain Python: the same
    symmetric-deletion scheme as the engine (a dict from every deletion variant of each listed plate
    to its entries), looked up with the read's own variants."""

    def __init__(self, plates: list[str], max_differences: int) -> None:
        self.budget = max_differences
        self.index: dict[str, list[tuple[int, int]]] = {}
        for i, p in enumerate(plates):
            n = py_normalize(p)
            if n is not None:
                for v, dels in _variants(n, max_differences).items():
                    self.index.setdefault(v, []).append((i, dels))

    def match(self, texts: list[str]) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for r, text in enumerate(texts):
            n = py_normalize(text)
            if n is None:
                continue
            best: dict[int, int] = {}
            for v, read_dels in _variants(n, self.budget).items():
                for e, dels in self.index.get(v, ()):
                    if read_dels + dels <= self.budget and read_dels + dels < best.get(e, 99):
                        best[e] = read_dels + dels
            out.extend((r, e) for e in best)
        return out


def _variants(plate: str, max_del: int) -> dict[str, int]:
    """Every non-empty string made by deleting up to max_del characters: {variant: fewest deletions}."""
    out = {plate: 0}
    level = {plate}
    for d in range(1, min(max_del, len(plate) - 1) + 1):
        level = {s[:i] + s[i + 1 :] for s in level for i in range(len(s))}
        for v in level:
            out.setdefault(v, d)
    return out
