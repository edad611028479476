"""Vectorized checks of Arrow columns against a model's constraints, from the columns' buffers:
no Python object per row. Each check may be stricter than the model (a row it refuses goes to the
model), never looser. Used by the decoders of reads (codec/reads.py) and of watchlist entries (codec/entries.py).
The wrapper of kernels/validate.py (its one caller)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from anpr_engine.errors import BadInput
from anpr_engine.kernels.validate import one_of, two_capitals


def one_array(col: pa.ChunkedArray) -> pa.Array:
    """The column as one array; a single chunk as it is (ChunkedArray.combine_chunks copies even that)."""
    if col.num_chunks == 0:
        return pa.array([], col.type)
    return col.chunk(0) if col.num_chunks == 1 else pa.concat_arrays(col.chunks)


def present(arr: pa.Array) -> np.ndarray:
    """Non-null flags."""
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _buffers(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(non-null flags, offsets, data bytes) of a string column, straight from its Arrow buffers."""
    if not pa.types.is_string(col.type):  # int32 offsets: a large_string's are int64
        raise BadInput(f"{col.type} column: need an Arrow string column")
    arr = one_array(col)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    data = arr.buffers()[2]
    return present(arr), offsets, np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)


def str_ok(col: pa.ChunkedArray, lo: int, hi: int, null_ok: bool = False) -> np.ndarray:
    """lo..hi characters (or null where null_ok); decided on bytes, so a long non-ASCII string is
    left to the model."""
    valid, offsets, _ = _buffers(col)
    n = np.diff(offsets)
    return (valid & (n >= lo) & (n <= hi)) | (~valid & null_ok)


def country_ok(col: pa.ChunkedArray, null_ok: bool) -> np.ndarray:
    """Two ASCII capitals (^[A-Z]{2}$), or null where null_ok."""
    valid, offsets, data = _buffers(col)
    out = np.empty(valid.shape[0], dtype=bool)
    two_capitals(data, offsets, valid, null_ok, out)
    return out


class Words:
    """The values of an enumeration laid out for the `one_of` kernel."""

    def __init__(self, words: Sequence[str]) -> None:
        self.data = np.frombuffer("".join(words).encode(), dtype=np.uint8)
        self.offsets = np.cumsum([0, *(len(w.encode()) for w in words)]).astype(np.int64)


def word_ok(col: pa.ChunkedArray, words: Words) -> np.ndarray:
    """One of the words (null: not)."""
    valid, offsets, data = _buffers(col)
    out = np.empty(valid.shape[0], dtype=bool)
    one_of(data, offsets, valid, words.data, words.offsets, out)
    return out


def between(col: pa.ChunkedArray, lo: float, hi: float, null_ok: bool = False) -> np.ndarray:
    """lo..hi (or null where null_ok)."""
    arr = one_array(col)
    values = arr.fill_null(-1).to_numpy() if arr.null_count else arr.to_numpy()
    valid = present(arr)
    return (valid & (values >= lo) & (values <= hi)) | (~valid & null_ok)
