"""Watchlist files: CSV (`;` `,` tab or `:` delimited), JSON lines, or Parquet → validated entries.

Plates, wildcard patterns among them (`12-AB*`), are judged by the watchlist's own rule
(watchlist.plate_problems), so a file is refused exactly where the engine would refuse an entry.

Every row is validated on its own: a bad row is reported with its line (CSV/JSONL: the file's line
number; Parquet: the row number) and reason, and never stops the valid rows. Only the plate column
is required; list, agency, country and category can come from defaults given by the caller or the
list's record, and a missing entry id is derived from agency country, list, normalized plate and
plate country. Rows are checked column by column, as entries from the topic are (codec/entries.py): a
1 000 000-row file in seconds, where the model row by row took 26 µs a row.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from pydantic import ValidationError

from anpr_engine.codec.columns import between
from anpr_engine.codec.csv_lines import row_lines
from anpr_engine.codec.entries import ENTRY_SCHEMA, FLAT, NEVER, EntryRows, vouched_rows
from anpr_engine.codec.json_parse import joined, parse_units
from anpr_engine.codec.json_write import json_objects
from anpr_engine.kernels.codes import UNIT_OK
from anpr_engine.match.normalize import normalize_one, normalize_plates
from anpr_engine.match.watchlist import plate_problems
from anpr_engine.models import Action, WatchlistEntry, WatchlistList


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


@dataclass(frozen=True)
class _Parsed:
    """A watchlist file parsed: its rows typed as ENTRY_SCHEMA (a field missing or not of its type:
    null), which rows hold every given value as given (the others go to the model whole), each row
    as given, and each row's line (Parquet: row number)."""

    table: pa.Table
    as_given: np.ndarray
    raw: Callable[[int], Mapping[str, Any] | str]  # a reason where the row is not even an object
    lines: np.ndarray
    errors: list[RowError]  # rows that could not be parsed at all


def _parse(path: Path) -> _Parsed:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _parse_parquet(path)
    if suffix not in (".jsonl", ".ndjson", ".json", ".csv", ".txt", ".tsv"):
        raise ValueError(f"{path}: unknown watchlist format {suffix!r} (use .csv, .jsonl or .parquet)")
    data = path.read_bytes()
    if not _utf8(data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    data = data.removeprefix(b"\xef\xbb\xbf")
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _parse_jsonl(data)
    return _parse_csv(data, data[: 1 << 16].decode("utf-8", "ignore"))


def _utf8(data: bytes) -> bool:
    """Whether data is UTF-8, checked by Arrow on the bytes in place (decoding a large file into a
    Python string took longer than parsing it)."""
    whole = pa.Array.from_buffers(
        pa.large_binary(), 1, [None, pa.py_buffer(np.array([0, len(data)], dtype=np.int64)), pa.py_buffer(data)]
    )
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _parse_jsonl(data: bytes) -> _Parsed:
    lines = data.split(b"\n")
    numbers = np.array([i for i, line in enumerate(lines, start=1) if line.strip()], dtype=np.int64)
    values = [lines[i - 1] for i in numbers.tolist()]
    table, status = parse_units(*joined(values), FLAT)

    def raw(i: int) -> Mapping[str, Any] | str:
        try:
            row = json.loads(values[i])
        except json.JSONDecodeError as e:
            return f"not JSON: {e.msg}"
        return row if isinstance(row, dict) else "not a JSON object"

    return _Parsed(table, status == UNIT_OK, raw, numbers, [])


DELIMITERS = ";,\t:"


def _delimiter(text: str) -> str:
    """The delimiter of a CSV: the one of `; , tab :` its header line holds most often (a header names
    fields, so it holds one between every two); where that is not one alone, csv.Sniffer's guess,
    else a comma."""
    first = text.split("\n", 1)[0]
    counts = sorted(((first.count(d), d) for d in DELIMITERS), reverse=True)
    if counts[0][0] > counts[1][0]:
        return counts[0][1]
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _parse_csv(data: bytes, head: str) -> _Parsed:
    """`head`: the start of the file as text, for its delimiter and header."""
    delimiter = _delimiter(head)
    first = head.split("\n", 1)[0]
    names = [h.strip() for h in next(csv.reader([first], delimiter=delimiter), [])]
    if not names:
        return _Parsed(pa.table({f.name: pa.nulls(0, f.type) for f in ENTRY_SCHEMA}), np.zeros(0, bool),
                       lambda i: "", np.zeros(0, np.int64), [])  # fmt: skip
    bad: list[RowError] = []

    def invalid(row: pcsv.InvalidRow) -> str:
        more = row.actual_columns > row.expected_columns
        bad.append(RowError(row.number or 0, f"{'more' if more else 'fewer'} fields than the header has"))
        return "skip"

    columns = [f"c{i}" for i in range(len(names))]
    parsed = pcsv.read_csv(
        io.BytesIO(data),
        read_options=pcsv.ReadOptions(column_names=columns, skip_rows=1, use_threads=False),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=invalid),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=False
        ),
    )
    given_cols: dict[str, Any] = {}
    for i, name in enumerate(names):
        if name and name not in given_cols:
            col = pc.utf8_trim_whitespace(parsed[f"c{i}"])
            given_cols[name] = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
    n = parsed.num_rows
    given = pa.table(given_cols) if given_cols else pa.table({"": pa.nulls(n, pa.string())})
    as_given = np.ones(n, dtype=bool)
    typed: dict[str, Any] = {}
    for field in ENTRY_SCHEMA:
        if field.name not in given.column_names:
            typed[field.name] = pa.nulls(n, field.type)
        elif field.type == pa.string():
            typed[field.name] = given[field.name]
        else:
            col = given[field.name]
            digits = pc.fill_null(pc.match_substring_regex(col, r"^[0-9]{1,18}$"), False)
            as_given &= np.asarray(pc.or_(digits, pc.is_null(col)).to_numpy(zero_copy_only=False), dtype=bool)
            typed[field.name] = pc.cast(pc.if_else(digits, col, pa.scalar(None, pa.string())), pa.int64())
    lines, bad = _csv_lines(data, delimiter, n, bad)
    return _Parsed(pa.table(typed, schema=ENTRY_SCHEMA), as_given, lambda i: given.slice(i, 1).to_pylist()[0], lines,
                   bad)  # fmt: skip


def _csv_lines(data: bytes, delimiter: str, rows: int, bad: list[RowError]) -> tuple[np.ndarray, list[RowError]]:
    """Each parsed row's line (where it starts), and the invalid rows with their lines: Arrow numbers
    rows (the header is row 1, empty lines are none), `bad` holds those numbers."""
    starts = row_lines(data, delimiter)
    numbers = np.arange(1, starts.shape[0] + 1)
    lines = starts[(numbers > 1) & ~np.isin(numbers, [e.line for e in bad])]
    lines = np.concatenate([lines, np.zeros(max(0, rows - lines.shape[0]), np.int64)])[:rows]
    where = [RowError(int(starts[e.line - 1]) if 0 < e.line <= starts.shape[0] else e.line, e.reason) for e in bad]
    return lines, where


def _parse_parquet(path: Path) -> _Parsed:
    given = pq.read_table(path)
    n = given.num_rows
    typed: dict[str, Any] = {}
    as_given = True
    for field in ENTRY_SCHEMA:
        if field.name not in given.column_names:
            typed[field.name] = pa.nulls(n, field.type)
            continue
        col = given[field.name]
        if field.type == pa.string():
            same = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
        else:
            same = pa.types.is_integer(col.type)
        as_given &= same or col.null_count == n
        typed[field.name] = col.cast(field.type) if same else pa.nulls(n, field.type)
    table = pa.table(typed, schema=ENTRY_SCHEMA)
    return _Parsed(table, np.full(n, as_given), lambda i: given.slice(i, 1).to_pylist()[0], np.arange(1, n + 1), [])


def _reason(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())


def load_entry_rows(
    path: Path,
    defaults: Mapping[str, Any] | None = None,
    lists: Mapping[str, WatchlistList] | None = None,
    only_list: str | None = None,
    now_ms: int = 0,
    bulk: bool = True,
    json: bool = True,
) -> tuple[EntryRows, list[RowError]]:
    """Valid entries of a watchlist file as EntryRows (each with the JSON it is published as), and
    the rows that failed with line number and reason.

    A row's missing fields come from `defaults`, then from its list's record in `lists` (see
    list_defaults); an entry of a list in `lists` takes its active generation and, without an end,
    its default validity from `now_ms` (or its own start). With `only_list`, rows name that list or
    none; a row naming another is refused. Rows are checked column by column (as entries from the
    topic are, codec/entries.py); only the rows those checks cannot vouch for go to the model one by one
    (all rows without `bulk`), which gives the reason a row is refused. Without `json` the rows
    vouched for carry no JSON (b""): for a check, which publishes nothing."""
    src = _parse(path)
    lists = lists or {}
    errors = list(src.errors)
    keep = np.ones(src.table.num_rows, dtype=bool)
    if only_list is not None:
        names = src.table["list_name"]
        other = np.asarray(pc.fill_null(pc.not_equal(names, only_list), False).to_numpy(zero_copy_only=False))
        errors += [
            RowError(int(src.lines[i]), f"list_name: {names[i].as_py()!r} is not the list replaced ({only_list!r})")
            for i in np.flatnonzero(other).tolist()
        ]
        keep &= ~other
    t = _filled(src.table, {"list_name": only_list} if only_list else {}, defaults or {}, lists, now_ms)
    given_generation = between(src.table["generation"], 0, 2**31 - 1, null_ok=True)  # a list's replaces it
    entry_json, written = json_objects(t) if json else (None, np.ones(t.num_rows, dtype=bool))
    fast = keep & src.as_given & given_generation & vouched_rows(t) & written
    if not bulk:
        fast[:] = False
    at = np.flatnonzero(fast)
    every = len(at) == t.num_rows
    ft = t if every else t.take(pa.array(at, pa.int64()))
    rows = EntryRows(
        ft["entry_id"].to_pylist(), ft["plate"].to_pylist(), ft["plate_country"].to_pylist(),
        ft["list_name"].to_pylist(), ft["valid_from_ms"].fill_null(0).to_numpy(),
        ft["valid_until_ms"].fill_null(NEVER).to_numpy(), ft["generation"].to_numpy().astype(np.int32),
        [b""] * len(at) if entry_json is None
        else (entry_json if every else entry_json.take(pa.array(at, pa.int64()))).to_pylist(),
    )  # fmt: skip
    lines = src.lines[at].tolist()
    models: list[WatchlistEntry] = []
    for i in np.flatnonzero(keep & ~fast).tolist():
        row = src.raw(i)
        if isinstance(row, str):
            errors.append(RowError(int(src.lines[i]), row))
            continue
        data = {**(defaults or {}), **{k: v for k, v in row.items() if v is not None}}
        if only_list is not None:
            data.setdefault("list_name", only_list)
        record = lists.get(str(data.get("list_name")))
        if record is not None:
            data = {**list_defaults(record), **data}
        if not data.get("entry_id") and data.get("plate"):
            data["entry_id"] = derived_entry_id(data)
        try:
            models.append(WatchlistEntry.model_validate(data))
            lines.append(int(src.lines[i]))
        except ValidationError as e:
            errors.append(RowError(int(src.lines[i]), _reason(e)))
    if models:
        rows = EntryRows.concat(rows, EntryRows.of(on_lists(models, lists, now_ms)))
    problems = plate_problems(rows.plate)
    errors += [RowError(line, f"plate: {why}") for line, why in zip(lines, problems, strict=True) if why]
    if any(problems):
        rows = rows.take([i for i, why in enumerate(problems) if why is None])
    return rows, sorted(errors, key=lambda err: err.line)


def load_entries(path: Path, defaults: Mapping[str, Any] | None = None) -> tuple[list[WatchlistEntry], list[RowError]]:
    """load_entry_rows as models (for the simulator and small files)."""
    rows, errors = load_entry_rows(path, defaults)
    return [WatchlistEntry.model_validate_json(j) for j in rows.json], errors


def _filled(
    t: pa.Table, forced: Mapping[str, Any], defaults: Mapping[str, Any], lists: Mapping[str, WatchlistList], now_ms: int
) -> pa.Table:
    """The table with missing values from `forced`, `defaults`, the rows' list records and the
    model's own defaults; entry ids derived where missing; generation and default validity from the
    lists (as on_lists)."""

    def put(table: pa.Table, name: str, column: Any) -> pa.Table:
        return table.set_column(table.schema.get_field_index(name), name, column)

    def fill(table: pa.Table, name: str, value: Any, where: Any = None) -> pa.Table:
        col = table[name]
        scalar = pa.scalar(value.value if isinstance(value, Enum) else value, col.type)
        return put(table, name, col.fill_null(scalar) if where is None else
                   pc.if_else(pc.and_(where, pc.is_null(col)), scalar, col))  # fmt: skip

    for name, value in {**defaults, **forced}.items():
        if name in ENTRY_SCHEMA.names and value is not None:
            t = fill(t, name, value)
    for name, record in lists.items():
        on_list = pc.fill_null(pc.equal(t["list_name"], name), False)
        for field, value in list_defaults(record).items():
            t = fill(t, field, value, on_list)
        t = put(t, "generation", pc.if_else(on_list, pa.scalar(record.generation, pa.int64()), t["generation"]))
        if record.default_validity_s is not None:
            open_ended = pc.and_(on_list, pc.is_null(t["valid_until_ms"]))
            start = pc.if_else(open_ended, t["valid_from_ms"].fill_null(now_ms), t["valid_from_ms"])
            until = pc.if_else(open_ended, pc.add(start, record.default_validity_s * 1000), t["valid_until_ms"])
            t = put(put(t, "valid_from_ms", start), "valid_until_ms", until)
    t = fill(fill(fill(t, "priority", 50), "action", Action.STOP_AND_CHECK), "generation", 0)
    no_id = np.flatnonzero(
        np.asarray(pc.and_(pc.is_null(t["entry_id"]), pc.is_valid(t["plate"])).to_numpy(zero_copy_only=False))
    )
    if len(no_id):
        sub = t.take(pa.array(no_id, pa.int64()))
        ids = [
            entry_id_of(c, n, p, pcc)
            for c, n, p, pcc in zip(sub["agency_country"].to_pylist(), sub["list_name"].to_pylist(),
                                    _listed_forms(sub["plate"].to_pylist()), sub["plate_country"].to_pylist(),
                                    strict=True)
        ]  # fmt: skip
        where = np.full(t.num_rows, -1, dtype=np.int64)
        where[no_id] = np.arange(len(no_id))
        derived = pa.array(ids, pa.string()).take(pa.array(where, pa.int64(), mask=where < 0))
        t = put(t, "entry_id", pc.coalesce(t["entry_id"], derived))
    return t


def _listed_forms(plates: list[str]) -> list[str]:
    """listed_form of many plates, the plain ones normalized in one batch."""
    plain = [i for i, p in enumerate(plates) if "*" not in p]
    out = [listed_form(p) if "*" in p else "" for p in plates]
    for i, text in zip(plain, normalize_plates([plates[i] for i in plain]).texts(), strict=True):
        out[i] = text or plates[i].strip()
    return out


def list_defaults(record: WatchlistList) -> dict[str, Any]:
    """The fields a list gives its entries that leave them out."""
    out = {"agency": record.agency, "agency_country": record.agency_country, "priority": record.priority,
           "action": record.action}  # fmt: skip
    if record.category is not None:
        out["category"] = record.category
    return out


def on_lists(entries: list[WatchlistEntry], lists: Mapping[str, WatchlistList], now_ms: int) -> list[WatchlistEntry]:
    """Entries as they are published: at their list's active generation, and listed for the list's
    default validity from now (or from their own start) when they have no end."""
    out = []
    for e in entries:
        record = lists.get(e.list_name)
        if record is None:
            out.append(e)
            continue
        update: dict[str, int] = {"generation": record.generation}
        if e.valid_until_ms is None and record.default_validity_s is not None:
            update["valid_from_ms"] = start = now_ms if e.valid_from_ms is None else e.valid_from_ms
            update["valid_until_ms"] = start + record.default_validity_s * 1000
        out.append(e.model_copy(update=update))
    return out


def derived_entry_id(data: Mapping[str, Any]) -> str:
    """The id of an entry given without one (see entry_id_of)."""
    plate = listed_form(str(data["plate"]))
    return entry_id_of(data.get("agency_country"), data.get("list_name"), plate, data.get("plate_country"))


def entry_id_of(agency_country: object, list_name: object, listed_plate: str, plate_country: object) -> str:
    """`<agency country|XX>-<list|list>-<plate as listed_form gives it>-<plate country|ANY>`."""
    return f"{agency_country or 'XX'}-{list_name or 'list'}-{listed_plate}-{plate_country or 'ANY'}"


def listed_form(plate: str) -> str:
    """A plate (or each part of a wildcard pattern) normalized: how entry ids and `remove --plate` compare plates."""
    return "*".join(normalize_one(part) or part.strip() for part in plate.split("*"))


def write_entries(entries: list[WatchlistEntry], path: Path) -> None:
    """Write entries as JSON lines, CSV (`;`) or Parquet, by the file's suffix. Their release to
    partners is not written: it is assessed and set on the topic (`anpr-watchlist release`)."""
    fields = [name for name in WatchlistEntry.model_fields if name != "release_to"]
    rows = [e.model_dump(mode="json", include=set(fields)) for e in entries]
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=fields, delimiter=";")
            w.writeheader()
            w.writerows(rows)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
