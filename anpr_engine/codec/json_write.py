"""A table of string and int64 columns written as one flat JSON object per row: the wrapper of
kernels/json_write.py (its one caller)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from anpr_engine.codec.columns import one_array, present
from anpr_engine.errors import BadInput, InvariantBroken
from anpr_engine.kernels.codes import FIELD_INT, FIELD_STRING, NO_ROOM
from anpr_engine.kernels.json_write import write_objects


def json_objects(table: pa.Table) -> tuple[pa.Array, np.ndarray]:
    """Each row as `{"<column>":<value>,...}` (binary), and which rows are written right: False
    where a string holds a control character or an integer is negative (those rows need a full
    JSON encoder). Raises BadInput (a ValueError) for a column neither string nor int64."""
    n = table.num_rows
    fields = list(table.schema)
    wrong = [f"{f.name}: {f.type}" for f in fields if f.type not in (pa.string(), pa.int64())]
    if wrong:
        raise BadInput(f"only string and int64 columns can be written as JSON here, not {', '.join(wrong)}")
    keys = [f'"{f.name}":'.encode() for f in fields]
    key_offsets = np.cumsum([0, *map(len, keys)]).astype(np.int64)
    kinds = np.array([FIELD_STRING if f.type == pa.string() else FIELD_INT for f in fields], dtype=np.int8)
    strings = [f for f in fields if f.type == pa.string()]
    numbers = [f for f in fields if f.type != pa.string()]
    column = np.array([(strings if f.type == pa.string() else numbers).index(f) for f in fields], dtype=np.int64)
    string_offsets = np.zeros((n + 1, len(strings)), dtype=np.int64)  # row-major: the kernel writes row by row
    ints = np.zeros((n, len(numbers)), dtype=np.int64)
    has = np.zeros((n, len(fields)), dtype=bool)
    datas: list[np.ndarray] = []
    base = 0
    for f, field in enumerate(fields):
        arr = one_array(table[field.name])
        has[:, f] = present(arr)
        if field.type == pa.string():
            offs = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
            buf = arr.buffers()[2]
            data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
            string_offsets[:, column[f]] = offs.astype(np.int64) + base
            datas.append(data)
            base += data.shape[0]
        else:
            ints[:, column[f]] = arr.fill_null(0).to_numpy()
    data = np.concatenate(datas) if datas else np.zeros(0, np.uint8)
    size = int(2 * data.shape[0] + n * (key_offsets[-1] + len(fields) * 26 + 2)) + 16
    out = np.empty(size, dtype=np.uint8)
    offsets = np.empty(n + 1, dtype=np.int64)
    ok = np.empty(n, dtype=bool)
    used = write_objects(np.frombuffer(b"".join(keys), np.uint8), key_offsets, kinds, column, data, string_offsets,
                         ints, has, out, offsets, ok)  # fmt: skip
    if used == NO_ROOM:
        raise InvariantBroken("JSON buffer estimate too small")  # the estimate bounds every row
    array = pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out[:used])])
    return array, ok
