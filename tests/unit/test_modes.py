"""Across modes: every looser policy finds at least what a stricter one finds."""

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.config import MatchPolicy
from anpr_engine.normalize import normalize_plates
from anpr_engine.watchlist import Watchlist
from tests.strategies import national_plates, plate_texts
from tests.unit.test_index import entry

LOOSER = [
    MatchPolicy(mode="format", max_equivalences=1),
    MatchPolicy(mode="format", max_equivalences=2),
    MatchPolicy(mode="ocr_equivalent", max_equivalences=1),
    MatchPolicy(mode="ocr_equivalent", max_equivalences=2),
    MatchPolicy(mode="exact", max_differences=1),
    MatchPolicy(mode="format", max_equivalences=2, max_differences=2),
]


def _pairs(policy: MatchPolicy, entries: list, reads: list[tuple[str, str | None]]) -> set[tuple[int, str]]:  # type: ignore[type-arg]
    wl = Watchlist(policy)
    wl.upsert(entries)
    plates = normalize_plates([t for t, _ in reads])
    hits = wl.match(plates, pa.array([c for _, c in reads], pa.string()), np.zeros(len(reads), np.int64))
    return {(int(r), wl.entry(int(s)).entry_id) for r, s in zip(hits.read, hits.slot, strict=True)}


@given(
    st.lists(national_plates(), min_size=1, max_size=30),
    st.lists(st.tuples(plate_texts, st.sampled_from([None, "NL", "BE", "DE", "FR", "LU"])), max_size=40),
)
def test_an_exact_hit_is_found_by_every_looser_mode(listed: list[tuple[str, str]], reads: list) -> None:  # type: ignore[type-arg]
    entries = [entry(i, p, c) for i, (p, c) in enumerate(listed)]
    reads = reads + [(p, c) for p, c in listed] + [(p, None) for p, _ in listed]
    exact = _pairs(MatchPolicy(mode="exact"), entries, reads)
    assert len(exact) >= len(listed)  # every listed plate, read as printed, is found
    for policy in LOOSER:
        assert exact <= _pairs(policy, entries, reads), policy
