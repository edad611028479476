"""The format-aware correction kernel through its wrapper (match/formats.py) against the plain-Python
reference, what the wrapper refuses, and real misreads it repairs."""

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.errors import BadInput
from anpr_engine.kernels.codes import ANY_COUNTRY, BASE, NO_FORMATS
from anpr_engine.match.formats import COUNTRIES, format_candidates, format_table, read_countries
from anpr_engine.match.normalize import codes_text, normalize_plates
from tests.helpers.reference import ref_breaks, ref_candidates, ref_fits
from tests.helpers.strategies import noisy_plates, plate_like

COUNTRY = st.sampled_from([None, "NL", "BE", "DE", "FR", "LU", "PL"])


def _plate(key: int) -> str:
    codes = []
    while key:
        key, c = divmod(key, BASE)
        codes.append(c)
    return codes_text(np.array(codes[::-1], dtype=np.uint8))


@given(
    st.lists(st.tuples(st.one_of(noisy_plates(), plate_like), COUNTRY), max_size=20),
    st.integers(0, 2),
    st.booleans(),
    st.booleans(),
)
def test_wrapper_equals_reference(
    reads: list[tuple[str, str | None]], budget: int, only_unique: bool, any_country: bool
) -> None:
    texts = [t for t, _ in reads]
    plates = normalize_plates(texts)
    got = format_candidates(
        plates, pa.array([c for _, c in reads], pa.string()), format_table(), budget, only_unique, any_country
    )
    per_read: list[dict[str, int]] = [{} for _ in reads]
    for i, key, cost in zip(got.read.tolist(), got.key.tolist(), got.cost.tolist(), strict=True):
        per_read[i][_plate(key)] = cost
    for i, (text, country) in enumerate(reads):
        plate, brk = plates.text(i), ref_breaks(text)
        want = ref_candidates(plate, country, budget, brk, only_unique, any_country) if plate else {}
        assert per_read[i] == want, (text, country)
        fits_any = any_country and country in COUNTRIES and ref_fits(plate, None, brk)
        assert bool(got.fits[i]) == (bool(plate) and (ref_fits(plate, country, brk) or fits_any)), (text, country)


def test_read_countries_are_numbers_any_or_none() -> None:
    got = read_countries(pa.array(["BE", None, "PL", "NL"], pa.string()))
    assert got.dtype == np.int64
    assert got.tolist() == [COUNTRIES.index("BE"), ANY_COUNTRY, NO_FORMATS, COUNTRIES.index("NL")]


def test_bad_input_is_refused() -> None:
    plates = normalize_plates(["12-BD-34", "I2-BD-34"])
    table = format_table()
    with pytest.raises(BadInput, match=r"countries: need one per read \(2\), not 1"):
        format_candidates(plates, pa.array(["NL"]), table, 2, True, True)
    with pytest.raises(BadInput, match="group_start: need 13 rows"):
        format_candidates(plates, pa.array(["NL", "NL"]), table._replace(group_start=table.group_start[:5]), 2, True,
                          True)  # fmt: skip
    with pytest.raises(BadInput, match="need 12 positions a pattern and 5 countries"):
        format_candidates(plates, pa.array(["NL", "NL"]), table._replace(group_start=table.group_start[:, :3].copy()),
                          2, True, True)  # fmt: skip
    with pytest.raises(BadInput, match="mask: need uint64"):
        format_candidates(plates, pa.array(["NL", "NL"]), table._replace(mask=table.mask.astype(np.int64)), 2, True,
                          True)  # fmt: skip


def kernel_candidates(
    texts: list[str],
    countries: list[str | None],
    budget: int,
    fits_out: list[bool] | None = None,
    only_unique: bool = False,
    any_country_fits: bool = False,
) -> list[dict[str, int]]:
    """Each read's candidates (plate -> corrections) through the kernel's wrapper."""
    got = format_candidates(
        normalize_plates(texts), pa.array(countries, pa.string()), format_table(), budget, only_unique, any_country_fits
    )
    if fits_out is not None:
        fits_out.extend(got.fits.tolist())
    out: list[dict[str, int]] = [{} for _ in texts]
    for i, key, cost in zip(got.read.tolist(), got.key.tolist(), got.cost.tolist(), strict=True):
        out[i][_plate(key)] = cost
    return out


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
