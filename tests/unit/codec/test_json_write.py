"""The JSON-writing kernel, through its wrapper (codec/json_write.py), against json.dumps."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.codec.json_write import json_objects

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
