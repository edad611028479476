"""Format-aware correction kernel against the plain-Python reference, and real misreads it repairs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.kernels.formats import format_candidates
from anpr_engine.match.formats import country_index, format_table
from anpr_engine.match.normalize import codes_text, normalize_plates
from tests.reference import ref_breaks, ref_candidates, ref_fits
from tests.strategies import noisy_plates, plate_like

COUNTRY = st.sampled_from([None, "NL", "BE", "DE", "FR", "LU", "PL"])


def kernel_candidates(
    texts: list[str],
    countries: list[str | None],
    budget: int,
    fits_out: list[bool] | None = None,
    only_unique: bool = False,
    any_country_fits: bool = False,
) -> list[dict[str, int]]:
    plates = normalize_plates(texts)
    f = format_table()
    rc = np.array([country_index(c) for c in countries], dtype=np.int64)
    cap = 64 * len(texts) + 1
    r, k, c = np.empty(cap, np.int32), np.empty(cap, np.int64), np.empty(cap, np.int8)
    fits = np.empty(len(texts), bool)
    n = format_candidates(
        plates.codes, plates.keys, plates.lengths, plates.breaks, rc, f.mask, f.breaks,
        f.group_start, f.class_members, budget, only_unique, any_country_fits, r, k, c, fits,
    )  # fmt: skip
    assert n <= cap
    if fits_out is not None:
        fits_out.extend(fits.tolist())
    out: list[dict[str, int]] = [{} for _ in texts]
    for i, key, cost in zip(r[:n], k[:n], c[:n], strict=True):
        codes = np.zeros(12, dtype=np.uint8)
        digits = []
        key = int(key)
        while key:
            key, d = divmod(key, 37)
            digits.append(d)
        codes[: len(digits)] = digits[::-1]
        out[i][codes_text(codes)] = int(cost)
    return out


@given(
    st.lists(st.tuples(st.one_of(noisy_plates(), plate_like), COUNTRY), max_size=20),
    st.integers(0, 2),
    st.booleans(),
    st.booleans(),
)
def test_kernel_equals_reference(
    reads: list[tuple[str, str | None]], budget: int, only_unique: bool, any_country: bool
) -> None:
    fits: list[bool] = []
    got = kernel_candidates([t for t, _ in reads], [c for _, c in reads], budget, fits, only_unique, any_country)
    for (text, country), cands, fit in zip(reads, got, fits, strict=True):
        plate = normalize_plates([text]).text(0)
        want = ref_candidates(plate, country, budget, ref_breaks(text), only_unique, any_country) if plate else {}
        assert cands == want, (text, country)
        fits_any = any_country and country in ("NL", "BE", "DE", "FR", "LU") and ref_fits(plate, None, ref_breaks(text))
        assert fit == (bool(plate) and (ref_fits(plate, country, ref_breaks(text)) or fits_any)), (text, country)


@pytest.mark.parametrize(
    ("read", "country", "listed"),
    [
        ("I2-BDB-3", "NL", "12BDB3"),  # digit read as I: NL sidecode 99XXX9
        ("12-8D-34", "NL", "12BD34"),  # letter read as 8
        ("1-A8C-2O4", "BE", "1ABC204"),  # two slips, each forced by the format
        ("AB-I23-CD", "FR", "AB123CD"),
        ("AB 5O12", "LU", "AB5012"),
        ("I-A8C-234", None, "1ABC234"),  # country unknown: every country's formats
    ],
)
def test_real_misreads_are_corrected(read: str, country: str | None, listed: str) -> None:
    (cands,) = kernel_candidates([read], [country], 2)
    assert listed in cands and cands[listed] > 0


def test_the_layout_of_a_read_picks_its_format() -> None:
    (cands,) = kernel_candidates(["H-B87-FK"], ["NL"], 2)  # @-999-@@ misread; HB87FK only as read
    assert cands == {"HB87FK": 0, "H887FK": 1}
    (cands,) = kernel_candidates(["HB87FK"], ["NL"], 2)  # no layout: the plate as read
    assert cands == {"HB87FK": 0}


def test_only_the_nearest_corrections_are_candidates_and_ambiguous_ones_can_be_skipped() -> None:
    (cands,) = kernel_candidates(["BSFJ2S"], ["NL"], 2)  # BSFJ25 needs one correction, 8SFJ25 two
    assert cands == {"BSFJ2S": 0, "BSFJ25": 1}
    (cands,) = kernel_candidates(["0D-BB-12"], ["NL"], 2)  # 00-BB-12 or DD-BB-12: one correction each
    assert cands == {"0DBB12": 0, "00BB12": 1, "DDBB12": 1}
    (cands,) = kernel_candidates(["0D-BB-12"], ["NL"], 2, only_unique=True)
    assert cands == {"0DBB12": 0}


def test_a_plate_of_another_country_is_not_corrected_when_the_country_may_be_misread() -> None:
    (cands,) = kernel_candidates(["D-OB 123"], ["NL"], 2)  # a German plate read as Dutch: 9-@@-999?
    assert cands == {"DOB123": 0, "0DB123": 2}
    (cands,) = kernel_candidates(["D-OB 123"], ["NL"], 2, any_country_fits=True)  # fits DE: trusted
    assert cands == {"DOB123": 0}


def test_a_read_that_fits_a_format_is_trusted() -> None:
    (cands,) = kernel_candidates(["12-BD-34"], ["NL"], 2)  # a valid NL plate: no guessing
    assert list(cands) == ["12BD34"]
    (cands,) = kernel_candidates(["I2-BD-34"], ["PL"], 2)  # no formats known for PL: exact only
    assert list(cands) == ["I2BD34"]
