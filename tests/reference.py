"""Plain-Python reference implementations: slow, obvious, and what every numba kernel is checked against."""

from __future__ import annotations

from dataclasses import dataclass

from anpr_engine.models import WatchlistEntry
from anpr_engine.normalize import DEFAULT_OCR_CLASSES, MAX_LEN, canonical_char

OK, EMPTY, TOO_LONG, BAD_CHAR = 0, 1, 2, 3


def ref_normalize(text: str | None) -> tuple[str, int]:
    """(normalized plate, status) by walking the characters one by one."""
    if text is None:
        return "", EMPTY
    out = []
    for ch in text:
        c = canonical_char(ch)
        if c is None:
            return "", BAD_CHAR
        if c == "":
            continue
        if len(out) == MAX_LEN:
            return "", TOO_LONG
        out.append(c)
    return ("", EMPTY) if not out else ("".join(out), OK)


def ref_fold(plate: str, classes: tuple[str, ...] = DEFAULT_OCR_CLASSES) -> str:
    rep = {c: cls[0] for cls in classes for c in cls}
    return "".join(rep.get(c, c) for c in plate)


@dataclass(frozen=True)
class RefHit:
    read: int
    entry_id: str
    equivalences: int


def ref_match(reads: list[tuple[str, str | None, int]], entries: list[WatchlistEntry], budget: int = 1) -> set[RefHit]:
    """Hits of (plate_text, plate_country, ts_ms) reads against entries, with dict lookups on folded plates."""
    by_folded: dict[str, list[tuple[str, WatchlistEntry]]] = {}
    for e in entries:
        plate, st = ref_normalize(e.plate)
        if st == OK:
            by_folded.setdefault(ref_fold(plate), []).append((plate, e))
    hits = set()
    for i, (text, country, ts) in enumerate(reads):
        plate, st = ref_normalize(text)
        if st != OK:
            continue
        for listed, e in by_folded.get(ref_fold(plate), []):
            eq = sum(a != b for a, b in zip(plate, listed, strict=True))
            if eq > budget:
                continue
            if e.plate_country and country and e.plate_country != country:
                continue
            if (e.valid_from_ms or 0) > ts or (e.valid_until_ms is not None and ts > e.valid_until_ms):
                continue
            hits.add(RefHit(i, e.entry_id, eq))
    return hits
