"""Hostile message content: any JSON value in any field, in single, JSON-lines and Arrow messages.
decode_messages never raises; every read the model refuses is rejected with a reason, and every
read it accepts decodes equal to the model."""

import json

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from anpr_engine.codec.reads import (
    ARROW_STREAM,
    MESSAGE_INDEX,
    NDJSON,
    READ_SCHEMA,
    TimeWindow,
    decode_messages,
    validate_one,
)
from anpr_engine.models import PlateRead
from tests.helpers.builders import GOOD
from tests.helpers.strategies import hostile_units, json_values


def _verdicts(units: list[bytes], window: TimeWindow) -> list[PlateRead | str]:
    return [validate_one(u, window) for u in units]


def _check(table: pa.Table, rejected: list[tuple[int, str]], verdicts: list[PlateRead | str]) -> None:
    """Valid reads equal to the model's; every invalid one rejected once with a reason."""
    assert sorted(p for p, _ in rejected) == [i for i, v in enumerate(verdicts) if isinstance(v, str)]
    assert all(why for _, why in rejected)
    rows = table.drop_columns([MESSAGE_INDEX]).to_pylist()
    want = [v.model_dump(mode="json") for v in verdicts if isinstance(v, PlateRead)]
    assert sorted(map(repr, rows)) == sorted(map(repr, want))


WINDOWS = st.sampled_from([TimeWindow(), TimeWindow(946_684_800_000, 1_800_000_000_000)])


@settings(max_examples=150)
@given(st.lists(hostile_units(), min_size=1, max_size=12), WINDOWS)
def test_single_read_messages(units: list[bytes], window: TimeWindow) -> None:
    table, rejects = decode_messages(units, [None] * len(units), window)
    _check(table, [(r.message, r.reason) for r in rejects], _verdicts(units, window))


@settings(max_examples=150)
@given(st.lists(st.lists(hostile_units(), min_size=1, max_size=5), min_size=1, max_size=4), WINDOWS)
def test_json_lines_messages(messages: list[list[bytes]], window: TimeWindow) -> None:
    values: list[bytes | None] = [b"\n".join(lines) for lines in messages]
    table, rejects = decode_messages(values, [NDJSON] * len(values), window)
    flat = [(m, r) for m, lines in enumerate(messages) for r in range(len(lines))]
    position = {pair: i for i, pair in enumerate(flat)}
    got = [(position[(r.message, r.row)], r.reason) for r in rejects]  # type: ignore[index]
    _check(table, got, _verdicts([u for lines in messages for u in lines], window))


ARROW_TYPES = {
    pa.int64(): st.integers(-(2**63), 2**63 - 1),
    pa.float64(): st.floats(allow_nan=True),
    pa.string(): st.text(max_size=6) | st.sampled_from(["NL", "inbound", "3", "1795000000000"]),
    pa.bool_(): st.booleans(),
    pa.list_(pa.int64()): st.lists(st.integers(-5, 5), max_size=2),
    pa.list_(pa.string()): st.lists(st.text(max_size=4), max_size=6),
}


@st.composite
def arrow_messages(draw: st.DrawFn) -> tuple[bytes, list[dict[str, object]]]:
    """An Arrow stream of reads in which some columns have another type, with null or any value of it."""
    n = draw(st.integers(1, 6))
    rows = [dict(GOOD, read_id=f"r{i}") for i in range(n)]
    columns = {name: pa.array([r.get(name) for r in rows], READ_SCHEMA.field(name).type) for name in READ_SCHEMA.names}
    for name in draw(st.lists(st.sampled_from(READ_SCHEMA.names), max_size=3, unique=True)):
        typ = draw(st.sampled_from(list(ARROW_TYPES)))
        values = [draw(st.none() | ARROW_TYPES[typ]) for _ in range(n)]
        columns[name] = pa.array(values, typ)
        for r, v in zip(rows, values, strict=True):
            r[name] = v
    table = pa.table(columns)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes(), [{k: v for k, v in r.items() if v is not None} for r in rows]


@settings(max_examples=150)
@given(st.lists(arrow_messages(), min_size=1, max_size=3), WINDOWS)
def test_arrow_messages_with_columns_of_any_type(
    messages: list[tuple[bytes, list[dict[str, object]]]], window: TimeWindow
) -> None:
    values: list[bytes | None] = [m for m, _ in messages]
    table, rejects = decode_messages(values, [ARROW_STREAM] * len(values), window)
    flat = [(m, r) for m, (_, rows) in enumerate(messages) for r in range(len(rows))]
    position = {pair: i for i, pair in enumerate(flat)}
    got = [(position[(r.message, r.row)], r.reason) for r in rejects]  # type: ignore[index]
    verdicts = [validate_one(row, window) for _, rows in messages for row in rows]
    _check(table, got, verdicts)


def test_reads_outside_the_time_window_are_rejected_with_the_reason() -> None:
    window = TimeWindow(946_684_800_000, 1_800_000_000_000)
    units = [json.dumps({**GOOD, "ts_ms": ts}).encode() for ts in (1_795_000_000_000, 1_795_000_000, 2**62, 0)]
    for ct in (None, NDJSON):
        table, rejects = decode_messages(units, [ct] * len(units), window)
        assert table["ts_ms"].to_pylist() == [1_795_000_000_000]
        assert len(rejects) == 3 and all("outside the accepted window" in r.reason for r in rejects)


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def test_arrow_streams_of_odd_shapes_never_raise() -> None:
    import decimal

    t = pa.table({k: pa.array([v]) for k, v in GOOD.items()})

    def swap(name: str, column: pa.Array) -> pa.Table:
        return t.set_column(t.column_names.index(name), name, column)

    odd = {
        "duplicate column": pa.Table.from_arrays([*t.columns, pa.array(["x"])], names=[*t.column_names, "read_id"]),
        "struct": swap("plate_text", pa.array([{"a": 1}])),
        "map": swap("lane", pa.array([[("a", 1)]], pa.map_(pa.string(), pa.int64()))),
        "timestamp": swap("ts_ms", pa.array([1_795_000_000_000], pa.timestamp("ms"))),
        "decimal": swap("confidence", pa.array([decimal.Decimal("0.50")], pa.decimal128(5, 2))),
        "binary": swap("read_id", pa.array([b"r1"], pa.binary())),
        "no rows": t.slice(0, 0),
        "no columns": pa.table({}),
    }
    for name, table in odd.items():
        reads, rejects = decode_messages([_stream(table)], [ARROW_STREAM])
        assert reads.num_rows + len(rejects) == max(1, table.num_rows) or (name == "no rows" and not rejects), name
        assert all(r.reason for r in rejects), name
    _, rejects = decode_messages([_stream(odd["duplicate column"])], [ARROW_STREAM])
    assert "duplicate columns" in rejects[0].reason


@st.composite
def mixed_messages(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A message of any of the three kinds, of hostile content."""
    kind = draw(st.sampled_from([None, NDJSON, ARROW_STREAM]))
    if kind is None:
        return draw(hostile_units()), None
    if kind == NDJSON:
        return b"\n".join(draw(st.lists(hostile_units(), min_size=1, max_size=4))), NDJSON
    return draw(arrow_messages())[0], ARROW_STREAM


@settings(max_examples=150)
@given(st.lists(mixed_messages(), min_size=1, max_size=8), WINDOWS)
def test_each_read_is_numbered_by_the_message_it_came_from_in_a_mixed_batch(
    messages: list[tuple[bytes, str | None]], window: TimeWindow
) -> None:
    values: list[bytes | None] = [v for v, _ in messages]
    table, _ = decode_messages(values, [ct for _, ct in messages], window)
    for i, (value, ct) in enumerate(messages):
        alone, _ = decode_messages([value], [ct], window)
        mine = table.filter(pa.compute.equal(table[MESSAGE_INDEX], i)).drop_columns([MESSAGE_INDEX])
        assert sorted(map(repr, mine.to_pylist())) == sorted(map(repr, alone.drop_columns([MESSAGE_INDEX]).to_pylist()))


@given(
    st.text("ABCDEFGHJKLMNPRSTUVXYZ0123456789-", min_size=6, max_size=10),
    st.text("abcdef0123456789", min_size=8, max_size=16),
    st.sampled_from([*sorted(set(GOOD) - {"read_id", "plate_text"}), "candidates", "extra"]),
    json_values,
)
def test_a_dead_letters_reason_never_holds_the_reads_plate_or_id(
    plate: str, read_id: str, field: str, value: object
) -> None:
    read = json.dumps({**GOOD, "read_id": read_id, "plate_text": plate, field: value}).encode()
    for ct in (None, NDJSON):
        _, rejects = decode_messages([read], [ct])
        assert not [r.reason for r in rejects if plate in r.reason or read_id in r.reason]
