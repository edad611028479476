"""The numba JSON parser (kernels/json_objects.py through codec.json_parse.parse_units) against json.loads:
never a value json would not give, and the common shape of a read always parsed."""

import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.codec.json_parse import FlatSchema, parse_units
from anpr_engine.kernels.json_objects import BLANK, OK
from tests.helpers.reference import ref_flat_object

SCHEMA = pa.schema(
    [("name", pa.string()), ("n", pa.int64()), ("x", pa.float64()), ("tags", pa.list_(pa.string())),
     ("site", pa.string())]
)  # fmt: skip
KINDS = {"name": "str", "n": "int", "x": "float", "tags": "strs", "site": "str"}
FLAT = FlatSchema(SCHEMA, max_items=4)


def parse(units: list[bytes]) -> tuple[list[dict[str, object]], np.ndarray]:
    lengths = np.array([len(u) for u in units], dtype=np.int64)
    ends = np.cumsum(lengths + 1) - 1
    table, status = parse_units(np.frombuffer(b"\n".join(units), dtype=np.uint8), ends - lengths, ends, FLAT)
    assert ((status == BLANK) == [not u.strip(b" \t\r\n") for u in units]).all()  # JSON whitespace only
    return table.to_pylist(), status == OK


def check_sound(units: list[bytes]) -> np.ndarray:
    """Every unit the kernel parsed is read as json reads it."""
    rows, parsed = parse(units)
    for unit, row, ok in zip(units, rows, parsed, strict=True):
        if ok:
            assert row == ref_flat_object(unit, KINDS), unit
        else:
            assert all(v is None for v in row.values())
    return parsed


texts = st.text(st.characters(codec="utf-8"), max_size=12)  # any code point json can write, escapes included
floats = st.floats(0, 1000, allow_nan=False).map(lambda f: round(f, 4))  # repr without exponent, <= 15 digits
values = {
    "name": st.none() | texts, "n": st.none() | st.integers(-(10**17), 10**17), "x": st.none() | floats,
    "tags": st.none() | st.lists(texts, max_size=4), "site": st.none() | texts,
}  # fmt: skip
scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | texts


@st.composite
def common_objects(draw: st.DrawFn) -> bytes:
    """Objects of the schema's fields (some left out, in any order) and unknown keys with scalar values,
    written by json with or without ASCII escapes, compact or indented."""
    obj = {k: draw(v) for k, v in values.items() if draw(st.booleans())}
    keys = st.text("abcdefghijklmnopqrstuvwxyz_", max_size=6)  # an escaped key is left to the full parser
    obj.update(draw(st.dictionaries(keys.filter(lambda k: k not in KINDS), scalars, max_size=2)))
    order = draw(st.permutations(list(obj)))
    return json.dumps(
        {k: obj[k] for k in order}, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 0, 2])),
        separators=draw(st.sampled_from([None, (",", ":"), (" , ", " : ")])),
    ).encode()  # fmt: skip


@given(st.lists(common_objects(), min_size=1, max_size=8))
def test_the_common_shape_is_always_parsed_as_json_reads_it(units: list[bytes]) -> None:
    assert check_sound(units).all()


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A common object with bytes replaced, inserted or deleted, from the bytes JSON is made of."""
    unit = bytearray(draw(common_objects()))
    alphabet = st.sampled_from(b'{}[]",:\\/ \t\n0123456789.-+eEnultrfasuU\x00\x1f\x7f\xc3\xa9\xed\xa0\x80\xf0\x9f')
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(unit)))
        how = draw(st.sampled_from(["replace", "insert", "delete"]))
        if how == "insert" or at == len(unit):
            unit.insert(at, draw(alphabet))
        elif how == "replace":
            unit[at] = draw(alphabet)
        else:
            del unit[at]
    return bytes(unit)


@given(st.lists(damaged(), min_size=1, max_size=8))
def test_damaged_units_are_parsed_as_json_reads_them_or_left_to_it(units: list[bytes]) -> None:
    check_sound(units)


@pytest.mark.parametrize(
    "unit",
    [
        b"", b"  ", b"[]", b"1", b"null", b'{"n": 1}x', b'{"n": 1,}', b'{"n": 01}', b'{"n": 1.5}', b'{"n": 1e3}',
        b'{"n": "1"}', b'{"x": 1e-3}', b'{"x": 0.12345678901234567}', b'{"n": 1234567890123456789}',
        b'{"name": 1}', b'{"name": "a", "name": "b"}', b'{"na\\u006de": "a"}', b'{"tags": ["a", null]}',
        b'{"tags": ["a", "b", "c", "d", "e"]}', b'{"other": {"a": 1}}', b'{"other": [1]}',
        b'{"name": "\\ud800"}', b'{"name": "\\ud800{udc00"}', b'{"name": "\\udc00"}',
        b'{"name": "\\x"}', b'{"name": "\xff"}', b'{"name": "\xed\xa0\x80"}', b'{"name": "a\tb"}', b'{"n": -}',
        b'{"x": .5}', b'{"x": 5.}', b'{"other": tru}', b'{"name": "a"',
    ],
)  # fmt: skip
def test_units_outside_the_common_shape_are_left_to_a_full_parser(unit: bytes) -> None:
    assert not check_sound([unit, b'{"n": 1}'])[0]


def test_escapes_are_decoded() -> None:
    name = 'a"\\/\b\f\n\r\t\u00e9\u20ac\U0001f697'
    rows, parsed = parse([json.dumps({"name": name, "tags": ["\u00b7", "x"]}).encode()])
    assert parsed.all() and rows[0]["name"] == name and rows[0]["tags"] == ["\u00b7", "x"]


def test_bad_input_to_the_wrapper_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the buffer"):
        parse_units(np.zeros(4, np.uint8), np.array([0]), np.array([5]), FLAT)
    with pytest.raises(ValueError, match="uint8"):
        parse_units(np.zeros(4, np.int64), np.array([0]), np.array([1]), FLAT)
    with pytest.raises(ValueError, match="flat schema"):
        FlatSchema(pa.schema([("when", pa.timestamp("ms"))]), 4)
