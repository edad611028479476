"""The numba hash index against plain-Python dicts: inserts, deletes, growth, and batch probes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.match.normalize import normalize_plates
from anpr_engine.match.plate_index import PlateIndex
from anpr_engine.match.watchlist import Watchlist
from tests.helpers.builders import entry
from tests.helpers.reference import ref_match
from tests.helpers.strategies import national_plates, plate_texts

COUNTRIES = st.sampled_from([None, "NL", "BE", "DE"])


@given(
    st.lists(st.tuples(national_plates(), COUNTRIES), min_size=1, max_size=40),
    st.lists(st.tuples(plate_texts, COUNTRIES, st.integers(0, 10)), max_size=60),
    st.integers(0, 2),
    st.sampled_from(["format", "ocr_equivalent", "exact"]),
    st.sampled_from(["strict", "lenient"]),
    st.sampled_from(["skip", "look_up"]),
)
def test_watchlist_match_equals_reference(listed, reads, budget, mode, country, ambiguous) -> None:  # type: ignore[no-untyped-def]
    entries = [entry(i, p, c, valid_from_ms=(i % 3), valid_until_ms=(8 if i % 4 == 0 else None))
               for i, ((p, _), c) in enumerate(listed)]  # fmt: skip
    # reads are the listed plates themselves, some noisy look-alikes, and arbitrary text
    reads = reads + [(e.plate, c, 5) for e, (_, c) in zip(entries, listed, strict=True)]
    from anpr_engine.match.policy import MatchPolicy

    wl = Watchlist(MatchPolicy(max_equivalences=budget, mode=mode, country=country, ambiguous=ambiguous))
    wl.upsert(entries)
    import pyarrow as pa

    plates = normalize_plates([r[0] for r in reads])
    hits = wl.match(plates, pa.array([r[1] for r in reads], pa.string()), np.array([r[2] for r in reads]))
    got = {
        (int(r), wl.entry(int(s)).entry_id, int(q))
        for r, s, q in zip(hits.read, hits.slot, hits.equivalences, strict=True)
    }
    ref_mode, ref_budget = ("format", 0) if mode == "exact" else (mode, budget)
    want = {
        (h.read, h.entry_id, h.equivalences)
        for h in ref_match(reads, entries, ref_budget, ref_mode, country, ambiguous)
    }
    assert got == want


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=200))
def test_inserts_and_deletes_equal_a_dict(ops: list[tuple[bool, int]]) -> None:
    """Random inserts/deletes of a small plate universe (forcing shared keys, reuse and growth)."""
    universe = [f"{a}{b}XY{n}" for a in "0OD" for b in "1I" for n in range(4)]
    ix = PlateIndex(capacity=4)
    live: dict[int, str] = {}  # slot -> plate
    for insert, n in ops:
        if insert or not live:
            plate = universe[n % len(universe)]
            slot = int(ix.add(normalize_plates([plate]), np.array([2], dtype=np.int8))[0])
            assert slot not in live
            live[slot] = plate
        else:
            slot = sorted(live)[n % len(live)]
            ix.remove(slot)
            del live[slot]
    assert len(ix) == len(live)
    hits = ix.probe(normalize_plates(universe))
    got = {(universe[r], int(s)) for r, s in zip(hits.read, hits.slot, strict=True)}
    want = {(p, s) for p in universe for s, q in live.items() if p.replace("O", "0").replace("D", "0").replace(
        "I", "1") == q.replace("O", "0").replace("D", "0").replace("I", "1")}  # fmt: skip
    assert got == want


def test_remove_unknown_slot_is_a_clear_error() -> None:
    ix = PlateIndex()
    with pytest.raises(KeyError, match="slot 3"):
        ix.remove(3)


def test_rejected_plates_get_no_slot() -> None:
    ix = PlateIndex()
    slots = ix.add(normalize_plates(["12-ABC-3", "", "bad\x00"]), np.zeros(3, dtype=np.int8))
    assert slots[0] >= 0 and slots[1:].tolist() == [-1, -1]
    assert len(ix) == 1


def test_upsert_replaces_and_delete_removes() -> None:
    wl = Watchlist()
    wl.upsert([entry(1, "12-ABC-3")])
    wl.upsert([entry(1, "99-XYZ-1")])
    assert len(wl) == 1
    import pyarrow as pa

    plates = normalize_plates(["12ABC3", "99XYZ1"])
    hits = wl.match(plates, pa.array([None, None], pa.string()), np.zeros(2, dtype=np.int64))
    assert hits.read.tolist() == [1]
    assert wl.delete("e1") and not wl.delete("e1")
    assert len(wl.match(plates, pa.array([None, None], pa.string()), np.zeros(2, dtype=np.int64))) == 0


@pytest.mark.parametrize("bad_plate", ["12-ABC-3\x00", "1*", "A**B", "x" * 40, "12-АBC-Ж"])
def test_an_invalid_update_keeps_the_listed_entry(bad_plate: str) -> None:
    import pyarrow as pa

    wl = Watchlist()
    assert wl.upsert([entry(1, "12-ABC-3"), entry(2, "*XYZ*")]) == []
    rejected = wl.upsert([entry(1, bad_plate), entry(2, bad_plate), entry(3, "99-XYZ-1")])
    assert [r.key for r in rejected] == ["e1", "e2"] and all(r.reason for r in rejected)
    assert len(wl) == 3
    plates = normalize_plates(["12ABC3", "1XYZ9", "99XYZ1"])
    hits = wl.match(plates, pa.array([None] * 3, pa.string()), np.zeros(3, dtype=np.int64))
    found = {(int(r), wl.entry(int(s)).entry_id) for r, s in zip(hits.read, hits.slot, strict=True)}
    assert found == {(0, "e1"), (1, "e2"), (2, "e3"), (2, "e2")}


def test_per_list_and_per_length_budgets() -> None:
    from anpr_engine.match.policy import MatchPolicy

    policy = MatchPolicy(list_max_equivalences={"sis": 0}, length_max_equivalences={4: 0})
    wl = Watchlist(policy)
    wl.upsert([
        entry(1, "1-ABC-234", "BE"),  # default list, 7 characters: one correction allowed
        entry(2, "12-BD-34", "NL").model_copy(update={"list_name": "sis"}),  # exact-only list
        entry(3, "AB 1234", "LU"),
        entry(4, "1234", "LU"),  # four characters: exact only
    ])  # fmt: skip
    import pyarrow as pa

    reads = ["I-ABC-234", "I2-BD-34", "AB I234", "I234", "12-BD-34", "1234"]
    plates = normalize_plates(reads)
    hits = wl.match(plates, pa.array(["BE", "NL", "LU", "LU", "NL", "LU"]), np.zeros(len(reads), dtype=np.int64))
    got = sorted((reads[int(r)], wl.entry(int(s)).entry_id) for r, s in zip(hits.read, hits.slot, strict=True))
    assert got == sorted([("1234", "e4"), ("12-BD-34", "e2"), ("AB I234", "e3"), ("I-ABC-234", "e1")])
