"""Flat JSON objects in a byte buffer to an Arrow table, through the numba parser.

Built for one JSON read per Kafka message, where the client's own cost is about 1 µs a message:
pyarrow's JSON reader took 0.7 µs a read, this parser 0.28. The kernel parses the common shape
only and marks every other unit for a full parser (see kernels/json_objects.py); this module is its
wrapper (the kernels' one caller).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from anpr_engine.errors import BadInput
from anpr_engine.kernels.codes import FIELD_FLOAT, FIELD_INT, FIELD_STRING, FIELD_STRINGS, UNIT_OK
from anpr_engine.kernels.json_objects import gather, parse_objects

_KINDS = {
    pa.string(): FIELD_STRING,
    pa.int64(): FIELD_INT,
    pa.float64(): FIELD_FLOAT,
    pa.list_(pa.string()): FIELD_STRINGS,
}


class FlatSchema:
    """A schema's field names and kinds laid out for the kernel."""

    def __init__(self, schema: pa.Schema, max_items: int) -> None:
        unknown = [f.name for f in schema if f.type not in _KINDS]
        if unknown or sum(f.type == pa.list_(pa.string()) for f in schema) > 1:
            raise BadInput(f"not a flat schema of strings, int64, float64 and one list of strings: {schema}")
        encoded = [f.name.encode() for f in schema]
        self.schema = schema
        self.max_items = max_items
        self.names = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self.name_offsets = np.cumsum([0, *map(len, encoded)]).astype(np.int64)
        self.kinds = np.array([_KINDS[f.type] for f in schema], dtype=np.int64)


def _validity(present: np.ndarray) -> tuple[pa.Buffer | None, int]:
    nulls = int(present.shape[0] - np.count_nonzero(present))
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(present, bitorder="little")), nulls


def _strings(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray, take: np.ndarray) -> pa.Array:
    offsets = np.empty(lo.shape[0] + 1, dtype=np.int32)
    data = np.empty(int(((hi - lo) * take).sum()), dtype=np.uint8)
    gather(buf, lo, hi, take, offsets, data)
    validity, nulls = _validity(take)
    data = data[: offsets[-1]]
    return pa.Array.from_buffers(pa.string(), lo.shape[0], [validity, pa.py_buffer(offsets), pa.py_buffer(data)], nulls)


def joined(parts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts joined by newlines as one buffer, with each part's start and end in it."""
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    ends = np.cumsum(lengths + 1) - 1
    return np.frombuffer(b"\n".join(parts), dtype=np.uint8), ends - lengths, ends


def parse_units(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, flat: FlatSchema) -> tuple[pa.Table, np.ndarray]:
    """One row per unit buf[starts[u]:ends[u]] (a JSON object each), and each unit's status (UNIT_OK,
    UNIT_FALLBACK or UNIT_BLANK, kernels/codes.py). Rows of units not OK are all null; a full JSON
    parser must decide the FALLBACK units."""
    if not (
        isinstance(buf, np.ndarray) and buf.dtype == np.uint8 and buf.ndim == 1 and buf.flags.c_contiguous
        and isinstance(starts, np.ndarray) and starts.dtype.kind in "iu" and starts.ndim == 1
        and isinstance(ends, np.ndarray) and starts.shape == ends.shape and ends.dtype.kind in "iu"
    ):  # fmt: skip
        raise BadInput("buf must be a contiguous uint8 array and starts, ends integer arrays of one length")
    if starts.size and (starts.min() < 0 or ends.max() > buf.shape[0] or (ends < starts).any()):
        raise BadInput("unit bounds outside the buffer")
    n, k = starts.shape[0], flat.kinds.shape[0]
    status = np.empty(n, dtype=np.uint8)
    present = np.zeros((k, n), dtype=np.bool_)
    lo = np.zeros((k, n), dtype=np.int64)
    hi = np.zeros((k, n), dtype=np.int64)
    numbers = np.zeros((k, n), dtype=np.float64)
    items = np.zeros((n, flat.max_items, 2), dtype=np.int64)
    n_items = np.zeros(n, dtype=np.int64)
    parse_objects(
        buf, starts.astype(np.int64, copy=False), ends.astype(np.int64, copy=False), flat.names,
        flat.name_offsets, flat.kinds, status, present, lo, hi, numbers, items, n_items,
        np.zeros(k, dtype=np.bool_), np.zeros(4, dtype=np.int64),
    )  # fmt: skip
    parsed = status == UNIT_OK
    present &= parsed[None, :]
    columns: list[pa.Array] = []
    for f, field in enumerate(flat.schema):
        kind, has = flat.kinds[f], present[f]
        if kind == FIELD_STRING:
            columns.append(_strings(buf, lo[f], hi[f], has))
        elif kind in (FIELD_INT, FIELD_FLOAT):
            values = lo[f] if kind == FIELD_INT else numbers[f]
            validity, nulls = _validity(has)
            columns.append(pa.Array.from_buffers(field.type, n, [validity, pa.py_buffer(values)], nulls))
        else:
            counts = np.where(has, n_items, 0)
            take = (np.arange(flat.max_items) < counts[:, None]).ravel()
            child = _strings(
                buf, items[:, :, 0].ravel()[take], items[:, :, 1].ravel()[take], np.ones(int(take.sum()), bool)
            )
            offsets = np.zeros(n + 1, dtype=np.int32)
            np.cumsum(counts, out=offsets[1:])
            validity, nulls = _validity(has)
            columns.append(
                pa.Array.from_buffers(field.type, n, [validity, pa.py_buffer(offsets)], nulls, children=[child])
            )
    return pa.Table.from_arrays(columns, schema=flat.schema), status
