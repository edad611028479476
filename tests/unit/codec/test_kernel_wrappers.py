"""The kernels' wrappers in codec/ (json_parse, json_write, columns, csv_lines): what they refuse, and
how; the CSV line numbers against Python's csv reader."""

import csv
import io

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.codec.columns import Words, country_ok, word_ok
from anpr_engine.codec.csv_lines import row_lines
from anpr_engine.codec.entries import FLAT
from anpr_engine.codec.json_parse import parse_units
from anpr_engine.codec.json_write import json_objects
from anpr_engine.errors import BadInput


def test_parse_units_refuses_what_the_kernel_cannot_take() -> None:
    buf = np.frombuffer(b'{"a": 1}  ', np.uint8)
    for bad in (buf.astype(np.int16), np.frombuffer(b'{"a": 1}  {"a": 1}', np.uint8)[::2], buf.reshape(2, 5)):
        with pytest.raises(BadInput, match="contiguous uint8"):
            parse_units(bad, np.array([0]), np.array([4]), FLAT)
    with pytest.raises(BadInput, match="integer arrays of one length"):
        parse_units(buf, np.array([0.0]), np.array([4.0]), FLAT)
    with pytest.raises(BadInput, match="integer arrays of one length"):
        parse_units(buf, np.array([0, 1]), np.array([4]), FLAT)
    with pytest.raises(BadInput, match="outside the buffer"):
        parse_units(buf, np.array([5]), np.array([4]), FLAT)


def test_json_objects_refuses_other_column_types_as_bad_input() -> None:
    with pytest.raises(BadInput, match="only string and int64 columns can be written as JSON here, not f: double"):
        json_objects(pa.table({"f": pa.array([1.5])}))


def test_column_checks_take_string_columns_only() -> None:
    large = pa.chunked_array([pa.array(["NL"], pa.large_string())])
    with pytest.raises(BadInput, match="large_string column: need an Arrow string column"):
        country_ok(large, null_ok=False)
    with pytest.raises(BadInput, match="int64 column: need an Arrow string column"):
        word_ok(pa.chunked_array([pa.array([1])]), Words(["a"]))
    assert country_ok(pa.chunked_array([pa.array(["NL", "nl", None])]), null_ok=True).tolist() == [True, False, True]


def test_row_lines_refuses_a_delimiter_that_is_not_one_ascii_character() -> None:
    for delimiter in (";;", "", "§"):
        with pytest.raises(BadInput, match="CSV delimiter: need one ASCII character"):
            row_lines(b"a;b\n", delimiter)
    with pytest.raises(BadInput, match="CSV text: need bytes, not str"):
        row_lines("a;b\n")  # type: ignore[arg-type]


@given(st.text(alphabet='a;"\r\n ', max_size=40))
def test_row_lines_equal_pythons_csv_reader(text: str) -> None:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=False)
    want = []
    while True:
        before = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            break
        if row:
            want.append(before + 1)
    assert row_lines(text.encode(), ";").tolist() == want
