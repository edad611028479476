"""Decoding a batch of Kafka message values into one Arrow table of valid plate reads.

The fast path joins the values into one buffer, parses it with the numba JSON parser (codec/json_parse.py)
and checks the model's constraints with vectorized compute, so no Python object is built per read.
Any message the fast path cannot vouch for is decided by the PlateRead model itself, one by one:
its verdict is the rule, the vectorized checks are only allowed to be stricter (a test holds them
to that). Invalid messages come back with the model's reason, for the dead-letter topic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from anpr_engine.codec.columns import Words, between, country_ok, str_ok, word_ok
from anpr_engine.codec.json_parse import FlatSchema, joined, parse_units
from anpr_engine.kernels.codes import UNIT_BLANK, UNIT_OK
from anpr_engine.models import MAX_CANDIDATES, Direction, PlateRead, first_error

READ_SCHEMA = pa.schema(
    [
        pa.field("read_id", pa.string()),
        pa.field("camera_id", pa.string()),
        pa.field("camera_country", pa.string()),
        pa.field("site", pa.string()),
        pa.field("lane", pa.int64()),
        pa.field("direction", pa.string()),
        pa.field("ts_ms", pa.int64()),
        pa.field("plate_text", pa.string()),
        pa.field("plate_country", pa.string()),
        pa.field("confidence", pa.float64()),
        pa.field("candidates", pa.list_(pa.string())),
    ]
)
_OPTIONAL = ("plate_country", "candidates")  # columns a table or stream may leave out (all null)
MESSAGE_INDEX = "_msg"  # column added to decoded tables: position of the source message in the batch
# (the same for every read of a batched message)
_DIRECTIONS = Words([d.value for d in Direction])
NDJSON = "application/x-ndjson"  # content-type of a batched message: one JSON read per line
ARROW_STREAM = "application/vnd.apache.arrow.stream"  # content-type of a batched message: Arrow IPC stream
_FLAT = FlatSchema(READ_SCHEMA, MAX_CANDIDATES)


@dataclass(frozen=True)
class TimeWindow:
    """Read times accepted, in UTC ms (inclusive): a read outside is a dead letter. Catches camera
    clocks gone wrong and seconds or nanoseconds sent as milliseconds."""

    lo: int = 0
    hi: int = 2**63 - 1

    def problem(self, ts_ms: int) -> str | None:
        if self.lo <= ts_ms <= self.hi:
            return None
        return f"ts_ms: {ts_ms} is outside the accepted window {self.lo}..{self.hi} (camera clock or unit error)"


ANY_TIME = TimeWindow()


@dataclass(frozen=True)
class DecodedBatch:
    """Valid reads (READ_SCHEMA plus MESSAGE_INDEX) and the rejected messages with their reasons."""

    reads: pa.Table
    rejects: list[tuple[int, str]]


def _valid_mask(t: pa.Table, window: TimeWindow) -> np.ndarray:
    """Rows that certainly satisfy every PlateRead constraint (nulls count as failures), from the
    columns' buffers with numpy: no Python object per read, one pass per check."""
    if t.num_rows == 0:
        return np.zeros(0, dtype=bool)
    mask = (
        str_ok(t["read_id"], 1, 128)
        & str_ok(t["camera_id"], 1, 64)
        & country_ok(t["camera_country"], null_ok=False)
        & str_ok(t["site"], 1, 128)
        & between(t["lane"], 0, 64)
        & word_ok(t["direction"], _DIRECTIONS)
        & between(t["ts_ms"], max(0, window.lo), window.hi)
        & str_ok(t["plate_text"], 0, 256)
        & country_ok(t["plate_country"], null_ok=True)
        & between(t["confidence"], 0.0, 1.0)
    )
    cand = t["candidates"]
    if cand.null_count < len(cand):
        mask &= _candidates_ok(cand.combine_chunks())
    return mask


def _candidates_ok(cand: pa.ListArray) -> np.ndarray:
    """Rows whose candidates are absent, or at most MAX_CANDIDATES strings of at most 256 characters."""
    ok = pc.fill_null(pc.less_equal(pc.list_value_length(cand), MAX_CANDIDATES), True).to_numpy(zero_copy_only=False)
    values = cand.flatten()
    bad_value = pc.fill_null(pc.greater(pc.utf8_length(values), 256), True).to_numpy(zero_copy_only=False)
    if bad_value.any():
        parents = pc.list_parent_indices(cand).to_numpy()
        ok[parents[bad_value]] = False
    return np.asarray(ok, dtype=bool)


def validate_one(value: bytes | dict[str, object] | None, window: TimeWindow = ANY_TIME) -> PlateRead | str:
    """The model's verdict on one message value (or row), and the time window's: a PlateRead, or
    the reason it is not one."""
    if value is None:
        return "empty message (null value)"
    try:
        read = PlateRead.model_validate(value) if isinstance(value, dict) else PlateRead.model_validate_json(value)
    except ValidationError as e:
        return f"invalid read: {first_error(e, 'message')}"
    return window.problem(read.ts_ms) or read


Item = bytes | dict[str, object] | None


def _slow_rows(item: Callable[[int], Item], positions: Iterable[int], window: TimeWindow) -> DecodedBatch:
    rows: list[dict[str, object]] = []
    kept: list[int] = []
    rejects: list[tuple[int, str]] = []
    for i in positions:
        verdict = validate_one(item(i), window)
        if isinstance(verdict, str):
            rejects.append((i, verdict))
        else:
            rows.append(verdict.model_dump(mode="json"))
            kept.append(i)
    table = pa.Table.from_pylist(rows, schema=READ_SCHEMA)
    return DecodedBatch(table.append_column(MESSAGE_INDEX, pa.array(kept, type=pa.int32())), rejects)


def _split(table: pa.Table, item: Callable[[int], Item] | None, window: TimeWindow) -> DecodedBatch:
    """Keep rows the vectorized checks vouch for; the model judges the rest (from `item(row)`, or the rows)."""
    ok = _valid_mask(table, window)
    if ok.all():
        return DecodedBatch(table.append_column(MESSAGE_INDEX, pa.array(np.arange(len(ok), dtype=np.int32))), [])
    fast = table.filter(pa.array(ok)).append_column(MESSAGE_INDEX, pa.array(np.flatnonzero(ok).astype(np.int32)))
    bad = np.flatnonzero(~ok)
    if item is None:
        rows = dict(zip(bad.tolist(), table.take(pa.array(bad)).to_pylist(), strict=True))

        def item(i: int) -> Item:
            return {k: v for k, v in rows[i].items() if v is not None}

    slow = _slow_rows(item, bad.tolist(), window)
    return DecodedBatch(pa.concat_tables([fast, slow.reads]).sort_by(MESSAGE_INDEX), slow.rejects)


def validate_table(table: pa.Table, window: TimeWindow = ANY_TIME) -> DecodedBatch:
    """Split a table of reads (from a file or a stream) into valid reads and (row, reason) rejects.
    Columns that cast to READ_SCHEMA are checked in bulk; otherwise the model judges every row, so
    one column of the wrong type costs speed, not the rows that are valid. Raises ValueError only
    for a table that cannot hold reads (column_problem)."""
    try:
        return _split(as_read_schema(table), None, window)
    except ValueError:
        if column_problem(table):
            raise
    rows = table.select([n for n in READ_SCHEMA.names if n in table.column_names]).to_pylist()
    return _slow_rows(lambda i: {k: v for k, v in rows[i].items() if v is not None}, range(len(rows)), window)


def column_problem(table: pa.Table) -> str | None:
    """Why a table cannot hold reads at all: READ_SCHEMA columns it lacks and may not leave out, or
    columns named twice; None if it can."""
    names = table.column_names
    missing = [n for n in READ_SCHEMA.names if n not in names and n not in _OPTIONAL]
    if missing:
        return f"missing columns {missing}"
    twice = sorted({n for n in names if names.count(n) > 1})
    return f"duplicate columns {twice}" if twice else None


def as_read_schema(table: pa.Table) -> pa.Table:
    """The READ_SCHEMA columns of `table`, in order and cast (no work when they already are); a missing
    plate_country is all unknown, missing candidates are none. Raises ValueError for missing or
    duplicate columns, or for a column whose type the model might judge otherwise than a cast would (an integer read_id
    casts to text, which the model refuses): those tables are for the model to judge row by row."""
    if table.schema.equals(READ_SCHEMA):
        return table
    names = set(table.column_names)
    problem = column_problem(table)
    if problem:
        raise ValueError(problem)
    for name in _OPTIONAL:
        if name not in names:
            table = table.append_column(name, pa.nulls(table.num_rows, READ_SCHEMA.field(name).type))
    table = table.select(READ_SCHEMA.names)
    if table.schema.equals(READ_SCHEMA):
        return table
    odd = [f"{f.name}: {f.type}" for f in table.schema if not _same_kind(f.type, READ_SCHEMA.field(f.name).type)]
    if odd:
        raise ValueError(f"columns of another type than a read's: {', '.join(odd)}")
    try:
        return table.cast(READ_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
        raise ValueError(f"columns of the wrong type: {e}") from e


def _same_kind(got: pa.DataType, want: pa.DataType) -> bool:
    """A column of type `got` casts to `want` without changing what the model would accept."""
    if pa.types.is_null(got) or got == want:
        return True
    if pa.types.is_dictionary(got):
        return _same_kind(got.value_type, want)
    if pa.types.is_string(want):
        return pa.types.is_string(got) or pa.types.is_large_string(got)
    if pa.types.is_int64(want):
        return pa.types.is_integer(got)
    if pa.types.is_float64(want):
        return pa.types.is_floating(got) or pa.types.is_integer(got)
    if pa.types.is_list(got) or pa.types.is_large_list(got):
        return _same_kind(got.value_type, want.value_type)
    return False


_NO_READS = READ_SCHEMA.empty_table().append_column(MESSAGE_INDEX, pa.array([], pa.int32()))


def _empty() -> DecodedBatch:
    return DecodedBatch(_NO_READS, [])


def _decode_units(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    item: Callable[[int], Item],
    window: TimeWindow,
    skip_blank: np.ndarray | None = None,
) -> DecodedBatch:
    """Decode units buf[starts[i]:ends[i]] (one JSON read each; `item(i)` gives unit i as the model
    should judge it) into valid reads and rejects, in unit order. Blank units where skip_blank is
    set are neither (an empty line of a batched message)."""
    table, status = parse_units(buf, starts, ends, _FLAT)
    parsed = status == UNIT_OK
    if parsed.all():
        return _split(table, item, window)
    slow_units = ~parsed if skip_blank is None else ~parsed & ~(skip_blank & (status == UNIT_BLANK))
    fast_pos = np.flatnonzero(parsed)
    fast = _split(table.filter(pa.array(parsed)), lambda i: item(int(fast_pos[i])), window)
    slow = _slow_rows(item, np.flatnonzero(slow_units).tolist(), window)
    at = fast.reads.column_names.index(MESSAGE_INDEX)
    units = pa.array(fast_pos[fast.reads[MESSAGE_INDEX].to_numpy()].astype(np.int32))
    rejects = sorted([(int(fast_pos[p]), why) for p, why in fast.rejects] + slow.rejects)
    return DecodedBatch(
        pa.concat_tables([fast.reads.set_column(at, MESSAGE_INDEX, units), slow.reads]).sort_by(MESSAGE_INDEX), rejects
    )


def decode_reads(values: Sequence[bytes | None], window: TimeWindow = ANY_TIME) -> DecodedBatch:
    """Decode message values (one JSON read each) into valid reads and rejects, keeping message order."""
    if not values:
        return _empty()
    parts = cast(Sequence[bytes], [v or b"" for v in values] if None in values else values)
    return _decode_units(*joined(parts), values.__getitem__, window)


@dataclass(frozen=True)
class Reject:
    """A read that could not be decoded: which message (and line of a batched one), its bytes, and why."""

    message: int
    row: int | None
    value: bytes | None
    reason: str


def reason_kind(reason: str) -> str:
    """A dead letter's reason as one of a few kinds (a metric label: bounded, and never the message's content)."""
    if reason.startswith("ts_ms:"):
        return "time_window"
    if reason.startswith("empty message"):
        return "null_value"
    if reason.startswith("invalid read"):
        return "invalid_read"
    return "bad_batch"  # an Arrow stream or its columns


def decode_messages(
    values: Sequence[bytes | None], content_types: Sequence[str | None], window: TimeWindow = ANY_TIME
) -> tuple[pa.Table, list[Reject]]:
    """Decode single-read, JSON-lines and Arrow-stream messages together; MESSAGE_INDEX gives each read's message.
    Never raises on a message's content: what the model or `window` refuses comes back as a Reject."""
    arrow = [i for i, ct in enumerate(content_types) if ct == ARROW_STREAM]
    if not arrow:
        return _decode_json(values, [ct == NDJSON for ct in content_types], window)
    others = [i for i, ct in enumerate(content_types) if ct != ARROW_STREAM]
    table, json_rejects = _decode_json(
        [values[i] for i in others], [content_types[i] == NDJSON for i in others], window
    )
    rejects = [replace(r, message=others[r.message]) for r in json_rejects]
    tables = [_owned(table, np.array(others, dtype=np.int32))]
    streams: list[pa.Table] = []
    owner: list[int] = []
    for i in arrow:
        got = _arrow_table(values[i])
        if isinstance(got, str):
            rejects.append(Reject(i, None, values[i], got))
        elif got.schema.equals(READ_SCHEMA):
            streams.append(got)
            owner.append(i)
        else:  # columns of other types than a read's: the model judges each row
            d = validate_table(got, window)
            rejects += [Reject(i, r, _row_json(got, r), why) for r, why in d.rejects]
            tables.append(_owned(d.reads, np.full(got.num_rows, i, dtype=np.int32)))
    if streams:
        # validate the streams' rows in one pass, then map rejected rows back to their message
        whole = pa.concat_tables(streams).combine_chunks()  # one chunk per column: cheaper for every step after
        d = validate_table(whole, window)
        message, row = _row_owners(np.array([t.num_rows for t in streams], dtype=np.int64), np.array(owner))
        for r, why in d.rejects:
            rejects.append(Reject(int(message[r]), int(row[r]), _row_json(whole, r), why))
        tables.append(_owned(d.reads, message.astype(np.int32)))
    return pa.concat_tables(tables), sorted(rejects, key=lambda r: r.message)


def _owned(reads: pa.Table, owner: np.ndarray) -> pa.Table:
    """`reads` numbered (MESSAGE_INDEX) by owner[i] where they were numbered i: by the message
    each came from, where they were numbered by unit (line, row) or within a part of the batch."""
    owners = pa.array(owner[reads[MESSAGE_INDEX].to_numpy()])
    return reads.set_column(reads.column_names.index(MESSAGE_INDEX), MESSAGE_INDEX, owners)


def _row_json(table: pa.Table, row: int) -> bytes:
    """One row of a table as JSON, for the dead-letter topic."""
    return json.dumps(table.slice(row, 1).to_pylist()[0], default=str).encode()


def _row_owners(counts: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows concatenated from messages with `counts` rows each: each row's message and its row within it."""
    return np.repeat(owners, counts), np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def _arrow_table(value: bytes | None) -> pa.Table | str:
    """The reads of one Arrow IPC stream message: a READ_SCHEMA table when its columns cast, else
    the table as sent (every read column present); or why it holds no reads."""
    if not value:
        return "empty Arrow stream message"
    try:
        with pa.ipc.open_stream(pa.py_buffer(value)) as stream:
            table = stream.read_all()
    except (pa.ArrowException, OSError, ValueError) as e:
        return f"not an Arrow IPC stream: {e}"
    problem = column_problem(table)
    if problem:
        return f"Arrow stream: {problem}"
    try:
        return as_read_schema(table)
    except ValueError:
        return table


def _decode_json(
    values: Sequence[bytes | None], batched: Sequence[bool], window: TimeWindow
) -> tuple[pa.Table, list[Reject]]:
    """Single-read and JSON-lines messages, parsed together in one buffer (no Python object per read):
    a single-read message is one unit, each line of a JSON-lines message another. Blank lines are
    skipped; a null value is judged as one unit either way."""
    if not any(batched):
        d = decode_reads(values, window)
        return d.reads, [Reject(pos, None, values[pos], why) for pos, why in d.rejects]
    lined = [b and v is not None for v, b in zip(values, batched, strict=True)]
    parts = [(v or b"").rstrip(b"\n") if b else v or b"" for v, b in zip(values, lined, strict=True)]
    buf, starts, ends = joined(parts)
    unit_starts: list[int] = []
    unit_ends: list[int] = []
    counts = np.ones(len(parts), dtype=np.int64)
    for m, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        if lined[m]:
            breaks = (s + np.flatnonzero(buf[s:e] == 10)).tolist()
            unit_starts += [s, *(x + 1 for x in breaks)]
            unit_ends += [*breaks, e]
            counts[m] = len(breaks) + 1
        else:
            unit_starts.append(s)
            unit_ends.append(e)
    message, row = _row_owners(counts, np.arange(len(parts)))
    lines: dict[int, list[bytes]] = {}

    def raw(i: int) -> bytes | None:
        m = int(message[i])
        if not lined[m]:
            return values[m]
        return lines.setdefault(m, parts[m].split(b"\n"))[row[i]]

    unit_bounds = np.array(unit_starts, dtype=np.int64), np.array(unit_ends, dtype=np.int64)
    d = _decode_units(buf, *unit_bounds, raw, window, skip_blank=np.asarray(lined, dtype=bool)[message])
    rejects = [
        Reject(int(message[p]), int(row[p]) if lined[int(message[p])] else None, raw(p), why) for p, why in d.rejects
    ]
    return _owned(d.reads, message.astype(np.int32)), rejects


def encode_read(read: PlateRead) -> bytes:
    """One read as the JSON message value the engine consumes."""
    return read.model_dump_json(exclude_none=True).encode()


def reads_to_table(reads: Sequence[PlateRead]) -> pa.Table:
    """Reads as an Arrow table with READ_SCHEMA (for files and the offline mode)."""
    return pa.Table.from_pylist([r.model_dump(mode="json") for r in reads], schema=READ_SCHEMA)


def table_to_json_lines(table: pa.Table) -> bytes:
    """Rows of a READ_SCHEMA table as JSON lines (None fields left out)."""
    out = []
    for row in table.select(READ_SCHEMA.names).to_pylist():
        out.append(json.dumps({k: v for k, v in row.items() if v is not None}, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode() if out else b""


def arrow_stream(table: pa.Table) -> bytes:
    """Reads (READ_SCHEMA table) as one Arrow IPC stream: the batched format with no parsing cost."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, READ_SCHEMA) as writer:
        writer.write_table(table.select(READ_SCHEMA.names).cast(READ_SCHEMA))
    return sink.getvalue().to_pybytes()
