"""The plain-Python matcher every speed figure is compared with: str methods, dict and set, same rules."""

from __future__ import annotations

from functools import cache

from anpr_engine.normalize import DEFAULT_OCR_CLASSES, MAX_LEN, canonical_char

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
