"""The string-check kernels of read validation against plain-Python references."""

import re

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.kernels.validate import one_of, two_capitals

texts = st.lists(st.one_of(st.none(), st.text(max_size=4), st.sampled_from(["NL", "inbound", "outbound", "ÄB"])))


def _buffers(values: list[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arr = pa.array(values, pa.string())
    data = arr.buffers()[2]
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1)
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return valid, offsets, np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)


@given(texts, st.booleans())
def test_two_capitals_equals_regex(values: list[str | None], null_ok: bool) -> None:
    valid, offsets, data = _buffers(values)
    out = np.empty(len(values), dtype=bool)
    two_capitals(data, offsets, valid, null_ok, out)
    want = [null_ok if v is None else re.fullmatch(r"[A-Z]{2}", v) is not None for v in values]
    assert out.tolist() == want


@given(texts, st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3))
def test_one_of_equals_membership(values: list[str | None], words: list[str]) -> None:
    valid, offsets, data = _buffers(values)
    encoded = [w.encode() for w in words]
    flat = np.frombuffer(b"".join(encoded), np.uint8)
    word_offsets = np.cumsum([0, *(len(w) for w in encoded)])
    out = np.empty(len(values), dtype=bool)
    one_of(data, offsets, valid, flat, word_offsets, out)
    assert out.tolist() == [v is not None and v in words for v in values]
