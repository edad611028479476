"""match/normalize.py as the wrapper of the normalization kernels: what it refuses, and how."""

from dataclasses import replace

import numpy as np
import pytest

from anpr_engine.errors import BadInput
from anpr_engine.match.alphabet import DEFAULT_OCR_CLASSES, fold_codes
from anpr_engine.match.normalize import IDENTITY_FOLD, fold_table, normalize_plates


def test_a_fold_that_is_not_37_uint8_codes_is_refused() -> None:
    plates = normalize_plates(["AB12CD"])
    for fold in (np.arange(36, dtype=np.uint8), np.arange(37, dtype=np.int64), list(range(37))):
        with pytest.raises(BadInput, match="fold must be a uint8 array of 37 codes"):
            normalize_plates(["AB12CD"], fold)  # type: ignore[arg-type]
        with pytest.raises(BadInput, match="fold must be a uint8 array of 37 codes"):
            plates.folded_keys(fold)  # type: ignore[arg-type]


def test_a_batch_is_checked_when_it_is_made() -> None:
    plates = normalize_plates(["AB12CD", "X"])
    with pytest.raises(BadInput, match=r"keys: need int64 with 1 dimension, not int32 with 1"):
        replace(plates, keys=plates.keys.astype(np.int32))
    with pytest.raises(BadInput, match="codes: need 12 columns, not 8"):
        replace(plates, codes=np.zeros((2, 8), np.uint8))
    with pytest.raises(BadInput, match="status: need 2 rows, not 1"):
        replace(plates, status=plates.status[:1])
    with pytest.raises(BadInput, match="C-contiguous"):
        replace(plates, codes=np.asfortranarray(np.zeros((2, 12), np.uint8)))


def test_fold_table_is_the_alphabets_fold_as_the_kernels_take_it() -> None:
    fold = fold_table(DEFAULT_OCR_CLASSES)
    assert fold.dtype == np.uint8 and fold.tolist() == fold_codes(DEFAULT_OCR_CLASSES)
    assert fold_table(()).tolist() == IDENTITY_FOLD.tolist()
