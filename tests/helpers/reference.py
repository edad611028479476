"""Plain-Python reference implementations: slow, obvious, and what every numba kernel is checked against."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass

from anpr_engine.match.formats import FORMATS, layout
from anpr_engine.match.normalize import DEFAULT_OCR_CLASSES, MAX_LEN, canonical_char
from anpr_engine.match.policy import MatchPolicy
from anpr_engine.models import PlateRead, WatchlistEntry

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


def ref_breaks(text: str) -> int:
    """The read's layout: bit k set when a separator stood before its k-th plate character."""
    brk, n = 0, 0
    for ch in text:
        c = canonical_char(ch)
        if c == "":
            if n:
                brk |= 1 << n
        elif c is not None:
            n += 1
    return brk & ((1 << n) - 1)


def _ref_formats(plate: str, country: str | None, breaks: int) -> tuple[list[tuple[str, int, str]], bool]:
    """The formats a read is judged by: its country's (every country's if unknown) of its length,
    only those of its layout when any has it; and whether the layout chose them."""
    if country is not None and country not in FORMATS:
        return [], False
    chosen = FORMATS if country is None else {country: FORMATS[country]}
    pats = [(*layout(p), series) for series, patterns in chosen.values() for p in patterns]
    pats = [(p, b, series) for p, b, series in pats if len(p) == len(plate)]
    by_layout = breaks != 0 and any(b == breaks for _, b, _ in pats)
    if by_layout:
        pats = [(p, b, series) for p, b, series in pats if b == breaks]
    return pats, by_layout


def _allowed(sym: str, series: str) -> str:
    return {"9": "0123456789", "@": series, "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "h": "EH"}[sym]


def ref_fits(plate: str, country: str | None, breaks: int = 0) -> bool:
    """The read fits one of the formats it is judged by."""
    pats, _ = _ref_formats(plate, country, breaks)
    return any(all(ch in _allowed(s, series) for ch, s in zip(plate, p, strict=True)) for p, _, series in pats)


def ref_candidates(
    plate: str,
    country: str | None,
    budget: int,
    breaks: int = 0,
    only_unique: bool = False,
    any_country_fits: bool = False,
) -> dict[str, int]:
    """The read and its nearest format-aware corrections: {candidate plate: characters corrected}.
    With any_country_fits, a read that fits a format of any country is not corrected either."""
    if budget == 0 or (country is not None and country not in FORMATS):
        return {plate: 0}
    pats, _ = _ref_formats(plate, country, breaks)
    if ref_fits(plate, country, breaks) or (any_country_fits and country and ref_fits(plate, None, breaks)):
        return {plate: 0}
    out: dict[str, int] = {}
    classes = {c: cls for cls in DEFAULT_OCR_CLASSES for c in cls}
    for p, _, series in pats:
        options: list[list[str]] = []
        wrong = 0
        for ch, s in zip(plate, p, strict=True):
            ok = _allowed(s, series)
            if ch in ok:
                options.append([ch])
            else:
                wrong += 1
                options.append([m for m in classes.get(ch, ch) if m in ok])
        if wrong > budget or math.prod(len(o) for o in options) > 8:
            continue
        for combo in itertools.product(*options):
            out.setdefault("".join(combo), wrong)
    least = min(out.values(), default=0)
    nearest = {c: cost for c, cost in out.items() if cost == least}
    if only_unique and len(nearest) > 1:
        nearest = {}
    return {plate: 0, **nearest}  # the read itself too: a format adds hits, never removes an exact one


def ref_match(
    reads: list[tuple[str, str | None, int]],
    entries: list[WatchlistEntry],
    budget: int = MatchPolicy().max_equivalences,
    mode: str = "format",
    country_policy: str = MatchPolicy().country,
    ambiguous: str = MatchPolicy().ambiguous,
) -> set[RefHit]:
    """Hits of (plate_text, plate_country, ts_ms) reads against entries, with dict lookups:
    format mode on the read's format-aware corrections, ocr_equivalent mode on folded plates."""
    by_key: dict[str, list[tuple[str, WatchlistEntry]]] = {}
    for e in entries:
        plate, st = ref_normalize(e.plate)
        if st == OK:
            by_key.setdefault(ref_fold(plate) if mode == "ocr_equivalent" else plate, []).append((plate, e))
    hits = set()
    for i, (text, country, ts) in enumerate(reads):
        plate, st = ref_normalize(text)
        if st != OK:
            continue
        if mode == "ocr_equivalent":
            found = [
                (e, sum(a != b for a, b in zip(plate, listed, strict=True)))
                for listed, e in by_key.get(ref_fold(plate), [])
            ]
        else:
            cands = ref_candidates(
                plate, country, budget, ref_breaks(text), ambiguous == "skip", country_policy == "lenient"
            )
            found = [(e, cost) for c, cost in cands.items() for _, e in by_key.get(c, [])]
        for e, eq in found:
            if eq > budget:
                continue
            if country_policy == "strict" and e.plate_country and country and e.plate_country != country:
                continue
            if (e.valid_from_ms or 0) > ts or (e.valid_until_ms is not None and ts > e.valid_until_ms):
                continue
            hits.add(RefHit(i, e.entry_id, eq))
    return hits


def ref_deletion_variants(plate: str, max_del: int) -> dict[str, int]:
    """Every non-empty string made by deleting 0..max_del characters: {variant: fewest deletions}."""
    out: dict[str, int] = {}
    for d in range(min(max_del, len(plate) - 1) + 1):
        for gone in itertools.combinations(range(len(plate)), d):
            v = "".join(c for i, c in enumerate(plate) if i not in gone)
            out.setdefault(v, d)
    return out


def ref_indel_distance(a: str, b: str) -> int:
    """Characters inserted plus characters missing between a and b: len(a) + len(b) - 2·LCS."""
    lcs = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            lcs[i + 1][j + 1] = lcs[i][j] + 1 if x == y else max(lcs[i][j + 1], lcs[i + 1][j])
    return len(a) + len(b) - 2 * lcs[len(a)][len(b)]


def ref_alerts(reads: list[PlateRead], entries: list[WatchlistEntry]) -> set[tuple[str, str]]:
    """(read id, entry id) of every alert the default policy gives: each reading of a read (its
    plate_text and its candidates) matched on its own, the pairs united."""
    readings = [
        (r.read_id, text, r.plate_country, r.ts_ms) for r in reads for text in [r.plate_text, *(r.candidates or [])]
    ]
    hits = ref_match([(t, c, ts) for _, t, c, ts in readings], entries)
    return {(readings[h.read][0], h.entry_id) for h in hits}


def ref_flat_object(unit: bytes, fields: dict[str, str]) -> dict[str, object] | None:
    """json's reading of one unit as an object of `fields` (name -> "str", "int", "float" or "strs"),
    None for each field absent or null; None in place of the whole if the unit is not such an object
    (not JSON, not an object, a field given twice, a field's value of another type)."""
    try:
        if not isinstance(json.loads(unit), dict):
            return None
        pairs = json.loads(unit, object_pairs_hook=lambda p: p)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    keys = [k for k, _ in pairs if k in fields]
    if len(set(keys)) != len(keys):
        return None
    got = dict(pairs)
    wants = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "strs": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    }
    out: dict[str, object] = {}
    for name, kind in fields.items():
        v = got.get(name)
        if v is not None and not wants[kind](v):
            return None
        out[name] = float(v) if kind == "float" and v is not None else v
    return out
