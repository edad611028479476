"""Matching within a budget of differences (inserted or missing characters) against plain-Python references."""

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from anpr_engine.kernels.normalize import BASE
from anpr_engine.kernels.variants import deletion_variants
from anpr_engine.match.normalize import normalize_one, normalize_plates
from anpr_engine.match.policy import MatchPolicy
from anpr_engine.match.watchlist import Watchlist
from tests.helpers.builders import entry
from tests.helpers.reference import ref_breaks, ref_deletion_variants, ref_fits, ref_indel_distance

# A small alphabet with repeats, so near misses and repeated characters are common.
short_plates = st.text(alphabet="AB12Z", min_size=1, max_size=12)


def _key(plate: str) -> int:
    key = 0
    for ch in plate:
        key = key * BASE + (ord(ch) - 47 if ch.isdigit() else ord(ch) - 54)
    return key


@given(st.lists(short_plates, min_size=1, max_size=10), st.integers(0, 3))
def test_deletion_variants_equal_reference(plates: list[str], max_del: int) -> None:
    p = normalize_plates(plates)
    cap = 100 * len(plates)
    out_row, out_key, out_dels = (np.empty(cap, t) for t in (np.int32, np.int64, np.int8))
    rows = np.arange(len(plates), dtype=np.int64)
    n = deletion_variants(p.codes, p.lengths, rows, np.full(len(plates), max_del, np.int8), out_row, out_key, out_dels)
    got = [set() for _ in plates]  # type: ignore[var-annotated]
    for r, k, d in zip(out_row[:n].tolist(), out_key[:n].tolist(), out_dels[:n].tolist(), strict=True):
        got[r].add((k, d))
    for plate, g in zip(plates, got, strict=True):
        want = {(_key(v), d) for v, d in ref_deletion_variants(plate, min(max_del, 2)).items()}
        assert g == want
    assert n == sum(len(g) for g in got)  # no variant twice for one plate


def test_deletion_variants_report_the_total_when_buffers_are_short() -> None:
    p = normalize_plates(["ABCDEFG"])
    out = [np.empty(3, t) for t in (np.int32, np.int64, np.int8)]
    assert deletion_variants(p.codes, p.lengths, np.array([0]), np.array([1], np.int8), *out) == 8


@given(
    st.lists(short_plates, min_size=1, max_size=15),
    st.lists(short_plates, max_size=25),
    st.integers(0, 2),
    st.sampled_from(["exact", "format"]),
)
def test_difference_matching_equals_reference(listed: list[str], reads: list[str], budget: int, mode: str) -> None:
    """Every read within the budget of a listed plate is found, with the fewest differences; no other.
    In format mode a read that fits a national format is trusted as read: exact hits only."""
    entries = [entry(i, p) for i, p in enumerate(listed)]
    reads = reads + listed
    wl = Watchlist(MatchPolicy(mode=mode, max_equivalences=0, max_differences=budget))
    wl.upsert(entries)
    hits = wl.match(normalize_plates(reads), pa.nulls(len(reads), pa.string()), np.zeros(len(reads), np.int64))
    got = {
        (int(r), wl.entry(int(s)).entry_id, int(d))
        for r, s, d in zip(hits.read, hits.slot, hits.differences, strict=True)
    }
    assert len(got) == len(hits)  # one hit per (read, entry)
    want = set()
    for r, text in enumerate(reads):
        for e in entries:
            a, b = normalize_one(text), normalize_one(e.plate)
            d = ref_indel_distance(a, b)
            if d and mode == "format" and ref_fits(a, None, ref_breaks(text)):
                continue
            if a and d <= budget and d < len(a) + len(b):  # plates with no character in common never match
                want.add((r, e.entry_id, d))
    assert got == want


def test_per_length_budget_deletes_and_alert_fields() -> None:
    policy = MatchPolicy(max_differences=1, length_max_differences={4: 0}, list_max_differences={"sis": 0})
    wl = Watchlist(policy)
    wl.upsert([
        entry(1, "12-ABC-3"), entry(2, "1234"),
        entry(3, "XY-99-ZZ").model_copy(update={"list_name": "sis"}),
    ])  # fmt: skip
    reads = ["12AC3", "12ABC34", "123", "XY99Z", "12ABC3"]
    hits = wl.match(normalize_plates(reads), pa.nulls(len(reads), pa.string()), np.zeros(len(reads), np.int64))
    got = sorted((reads[int(r)], wl.entry(int(s)).entry_id, int(d)) for r, s, d in
                 zip(hits.read, hits.slot, hits.differences, strict=True))  # fmt: skip
    assert got == [("12ABC3", "e1", 0), ("12ABC34", "e1", 1), ("12AC3", "e1", 1)]
    wl.delete("e1")
    assert len(wl.match(normalize_plates(reads), pa.nulls(5, pa.string()), np.zeros(5, np.int64))) == 0


def test_budgets_out_of_range_are_clear_errors() -> None:
    with pytest.raises(ValidationError, match="max_differences"):
        MatchPolicy(max_differences=3)
    with pytest.raises(ValidationError, match=r"budgets must be 0\.\.2"):
        MatchPolicy(length_max_differences={7: 5})


def test_deletes_compact_the_variant_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """After many deletes the variants are indexed afresh; matching is unchanged by it."""
    import anpr_engine.match.plate_index as index_module

    monkeypatch.setattr(index_module, "COMPACT_AFTER", 5)
    rebuilds = []
    rebuild = index_module.PlateIndex._rebuild_variants
    monkeypatch.setattr(index_module.PlateIndex, "_rebuild_variants", lambda self: rebuilds.append(1) or rebuild(self))
    plates = [f"{a}{b}-XY-{n}" for a in "1234" for b in "ABCD" for n in range(3)]
    wl = Watchlist(MatchPolicy(mode="exact", max_differences=1))
    wl.upsert([entry(i, p) for i, p in enumerate(plates)])
    kept = {f"e{i}" for i in range(0, len(plates), 3)}
    for i in range(len(plates)):
        if f"e{i}" not in kept:
            wl.delete(f"e{i}")
    assert rebuilds  # compacted at least once
    reads = [p.replace("-", "")[:-1] for p in plates]  # every plate with its last character missing
    hits = wl.match(normalize_plates(reads), pa.nulls(len(reads), pa.string()), np.zeros(len(reads), np.int64))
    got = {(reads[int(r)], wl.entry(int(s)).entry_id) for r, s in zip(hits.read, hits.slot, strict=True)}
    want = {(reads[r], e) for r in range(len(plates)) for e in kept if ref_indel_distance(
        normalize_one(reads[r]), normalize_one(plates[int(e[1:])])) <= 1}  # fmt: skip
    assert got == want and len(want) >= len(kept)
