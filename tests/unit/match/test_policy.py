"""Across modes: every looser policy finds at least what a stricter one finds."""

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.match.normalize import normalize_plates
from anpr_engine.match.policy import MatchPolicy
from anpr_engine.match.watchlist import Watchlist
from tests.helpers.builders import entry
from tests.helpers.strategies import national_plates, plate_texts

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


ALL_MODES = [MatchPolicy(mode="exact"), *LOOSER]
SEPARATOR_CHOICES = ["", " ", "-", ".", "·", "\u00a0", "/"]


@st.composite
def respelled(draw: st.DrawFn, plate: str) -> str:
    """`plate` as a camera may send it: separators anywhere, any case, some characters full-width."""
    out = []
    for ch in plate:
        out.append(draw(st.sampled_from(SEPARATOR_CHOICES)))
        ch = ch.lower() if draw(st.booleans()) else ch
        out.append(chr(ord(ch) + 0xFEE0) if draw(st.integers(0, 9)) == 0 else ch)
    return "".join(out) + draw(st.sampled_from(SEPARATOR_CHOICES))


@st.composite
def listed_and_reads(draw: st.DrawFn) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    """Arbitrary listed plates (format-valid or not) and reads of them respelled, with any countries."""
    countries = st.sampled_from([None, "NL", "BE", "DE", "FR", "LU", "PL"])
    plates = draw(st.lists(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12),
                           min_size=1, max_size=12))  # fmt: skip
    listed = [(p, draw(countries)) for p in plates]
    reads = [(draw(respelled(p)), draw(countries)) for p in plates for _ in range(draw(st.integers(1, 3)))]
    return listed, reads


@given(listed_and_reads(), st.sampled_from(["strict", "lenient"]))
def test_every_mode_finds_every_exact_hit_of_any_plate_however_it_is_spelled(
    data: tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]], country: str
) -> None:
    listed, reads = data
    entries = [entry(i, p, c) for i, (p, c) in enumerate(listed)]
    exact = _pairs(MatchPolicy(mode="exact", country=country), entries, reads)  # type: ignore[arg-type]
    if country == "lenient":
        assert {r for r, _ in exact} == set(range(len(reads)))  # every read is of a listed plate
    for policy in ALL_MODES:
        assert exact <= _pairs(policy.model_copy(update={"country": country}), entries, reads), policy


def test_a_listed_plate_outside_its_countrys_formats_is_found_when_read_with_separators() -> None:
    entries = [entry(0, "34-OEU-5", "NL")]  # NL never issues vowels: a false or misfiled plate
    for text in ("34 oeu 5", "34-OEU-5", "34OEU5"):
        assert _pairs(MatchPolicy(), entries, [(text, "NL")]) == {(0, "e0")}, text


def test_lenient_country_policy_matches_across_countries_and_strict_does_not() -> None:
    entries = [entry(0, "12-BD-34", "NL")]
    reads = [("12-BD-34", "DE"), ("12-BD-34", None), ("I2-BD-34", "BE")]
    for mode in ("format", "ocr_equivalent"):
        assert _pairs(MatchPolicy(mode=mode, country="strict"), entries, reads) == {(1, "e0")}
    assert _pairs(MatchPolicy(country="lenient"), entries, reads) == {(0, "e0"), (1, "e0")}
    # a format mode correction follows the formats of the country read (BE has no 99-@@-99)
    everything = {(0, "e0"), (1, "e0"), (2, "e0")}
    assert _pairs(MatchPolicy(mode="ocr_equivalent", country="lenient"), entries, reads) == everything
