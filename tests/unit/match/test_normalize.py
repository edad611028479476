"""Normalization kernel against the plain-Python reference, plus table tests with real plates."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.kernels import normalize as k
from anpr_engine.match.normalize import (
    ALPHABET,
    DEFAULT_OCR_CLASSES,
    canonical_char,
    fold_table,
    normalize_one,
    normalize_plates,
)
from tests.helpers.reference import ref_breaks, ref_fold, ref_normalize
from tests.helpers.strategies import plate_texts


@given(st.lists(st.one_of(plate_texts, st.none()), max_size=30))
def test_kernel_equals_reference(texts: list[str | None]) -> None:
    got = normalize_plates(texts)
    for i, t in enumerate(texts):
        want, status = ref_normalize(t)
        breaks = ref_breaks(t) if t is not None and status == 0 else 0
        assert (got.text(i), int(got.status[i]), int(got.breaks[i])) == (want, status, breaks), repr(t)


@given(st.lists(plate_texts, max_size=30))
def test_keys_identify_plates(texts: list[str]) -> None:
    got = normalize_plates(texts)
    by_key: dict[int, str] = {}
    for i in range(len(texts)):
        if got.status[i] == k.OK:
            assert by_key.setdefault(int(got.keys[i]), got.text(i)) == got.text(i)
            assert got.keys[i] > 0
        else:
            assert got.keys[i] == 0


@given(st.lists(plate_texts, max_size=30))
def test_folded_keys_equal_reference_fold(texts: list[str]) -> None:
    got = normalize_plates(texts)
    folded = got.folded_keys(fold_table())
    again = normalize_plates([ref_fold(got.text(i)) for i in range(len(texts))])
    ok = got.status == k.OK
    assert np.array_equal(folded[ok], again.keys[ok])


@given(plate_texts)
def test_normalization_is_idempotent(text: str) -> None:
    once = normalize_one(text)
    assert normalize_one(once) == once


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("12-ABC-3", "12ABC3"),  # NL sidecode
        ("gx-123-b", "GX123B"),  # NL, lower case
        ("1-ABC-234", "1ABC234"),  # BE current
        ("1·ABC·234", "1ABC234"),  # middle dot separators
        ("AC-AB 123", "ACAB123"),  # DE
        ("MÜ-AB 12E", "MUAB12E"),  # DE with umlaut and E suffix
        ("LÖ.X 1", "LOX1"),
        ("AB-123-CD", "AB123CD"),  # FR
        ("AB 1234", "AB1234"),  # LU
        ("  12_ab_c/3  ", "12ABC3"),
        ("１２－ＡＢＣ－３", "12ABC3"),  # full-width
        ("12-АВС-3", "12ABC3"),  # Cyrillic А В С
        ("ΑΒ-123-ΕΖ", "AB123EZ"),  # Greek capitals
    ],
)
def test_real_plates(raw: str, want: str) -> None:
    assert normalize_one(raw) == want


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("  - . ", "empty"),
        ("AB\x00123", "bad_char"),
        ("AB\n123", "bad_char"),
        ("X" * 200, "too_long"),
        ("京A12345", "bad_char"),
        ("12-ABC-3!", "bad_char"),
        ("𝐀𝐁𝟏𝟐", "bad_char"),  # mathematical letters outside the BMP
    ],
)
def test_bad_plates_are_counted_rejections(raw: str, reason: str) -> None:
    got = normalize_plates([raw, "12-ABC-3"])
    assert got.rejection_counts() == {reason: 1}
    assert got.text(1) == "12ABC3"


def test_malformed_utf8_is_rejected_not_raised() -> None:
    data = np.frombuffer(b"AB\xff12" + b"12ABC3" + b"\xe2\x82", dtype=np.uint8)
    offsets = np.array([0, 5, 11, 13], dtype=np.int64)
    codes = np.zeros((3, k.MAX_LEN), dtype=np.uint8)
    lengths = np.empty(3, dtype=np.uint8)
    status = np.empty(3, dtype=np.uint8)
    keys = np.empty(3, dtype=np.int64)
    breaks = np.empty(3, dtype=np.uint16)
    from anpr_engine.match.normalize import IDENTITY_FOLD, code_table

    k.normalize_batch(
        data, offsets, code_table(), IDENTITY_FOLD, codes, lengths, status, keys, keys.copy(), breaks, False
    )
    assert status.tolist() == [k.BAD_UTF8, k.OK, k.BAD_UTF8]


def test_canonical_char_maps_lookalikes() -> None:
    assert [canonical_char(c) for c in "Ä ÿ-Ｚк"] == ["A", "", "Y", "", "Z", "K"]
    assert canonical_char("€") is None


def test_fold_table_rejects_bad_classes() -> None:
    with pytest.raises(ValueError, match="OCR class"):
        fold_table(("0O", "O8"))
    with pytest.raises(ValueError, match="OCR class"):
        fold_table(("0",))
    fold = fold_table(DEFAULT_OCR_CLASSES)
    assert ALPHABET[fold[ALPHABET.index("Q") + 1] - 1] == "0"


def test_non_string_column_is_a_clear_error() -> None:
    import pyarrow as pa

    with pytest.raises(TypeError, match="strings"):
        normalize_plates(pa.array([1, 2]))
