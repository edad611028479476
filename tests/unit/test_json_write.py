"""The JSON-writing and CSV row-numbering kernels against plain Python (json.dumps, the csv module)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.codec.json_write import json_objects
from anpr_engine.kernels.lines import csv_row_lines

SCHEMA = pa.schema([("s", pa.string()), ("n", pa.int64()), ("t", pa.string())])
rows = st.lists(
    st.fixed_dictionaries({
        "s": st.none() | st.text(max_size=8),
        "n": st.none() | st.integers(-5, 2**63 - 1),
        "t": st.none() | st.text(alphabet='ab"\\\x01é€', max_size=5),
    }),
    max_size=20,
)  # fmt: skip


@given(rows, st.integers(0, 3))
def test_json_objects_equal_json_dumps(values: list[dict[str, object]], offset: int) -> None:
    table = pa.Table.from_pylist([{"s": "x", "n": 1, "t": "y"}] * offset + values, schema=SCHEMA).slice(offset)
    written, ok = json_objects(table)
    for row, text, good in zip(values, written.to_pylist(), ok.tolist(), strict=True):
        clean = not any(isinstance(v, str) and any(ord(c) < 32 for c in v) for v in row.values())
        clean &= not (isinstance(row["n"], int) and row["n"] < 0)
        assert good == clean
        if clean:
            in_order = {k: row[k] for k in SCHEMA.names}
            assert text.decode() == json.dumps(in_order, ensure_ascii=False, separators=(",", ":"))


def test_json_objects_refuse_other_column_types() -> None:
    with pytest.raises(ValueError, match="only string and int64"):
        json_objects(pa.table({"f": pa.array([1.5])}))


@given(st.text(alphabet='a,"\r\n ', max_size=40))
def test_csv_row_lines_equal_pythons_csv_reader(text: str) -> None:
    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    out = np.empty(text.count("\n") + text.count("\r") + 1, dtype=np.int64)
    got = out[: csv_row_lines(buf, ord(","), ord('"'), out)].tolist()
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    want = []
    while True:
        before = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            break
        if row:
            want.append(before + 1)
    assert got == want
