"""Watchlist files: CSV (`;` `,` tab or `:` delimited), JSON lines, or Parquet → validated entries.

Plates, wildcard patterns among them (`12-AB*`), are judged by the watchlist's own rule
(watchlist.plate_problems), so a file is refused exactly where the engine would refuse an entry.

Every row is validated on its own: a bad row is reported with its line (CSV/JSONL: the file's line
number; Parquet: the row number) and reason, and never stops the valid rows. Only the plate column
is required; list, agency, country and category can come from defaults given by the caller, and a
missing entry id is derived from agency country, list, normalized plate and plate country.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import ValidationError

from anpr_engine.match.watchlist import plate_problems
from anpr_engine.models import WatchlistEntry, WatchlistList
from anpr_engine.normalize import normalize_one


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


def _rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    """(line, row) for every row; row is a reason string when the row cannot even be parsed."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        for i, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            yield i, row
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    if suffix in (".jsonl", ".ndjson", ".json"):
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                yield i, f"not JSON: {e.msg}"
                continue
            yield i, row if isinstance(row, dict) else "not a JSON object"
        return
    if suffix in (".csv", ".txt", ".tsv"):
        sample = text[:4096]
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=";,\t:")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        for row in reader:
            if None in row:
                yield reader.line_num, "more fields than the header has"
                continue
            yield (
                reader.line_num,
                {k.strip(): (v.strip() if v and v.strip() else None) for k, v in row.items()},
            )
        return
    raise ValueError(f"{path}: unknown watchlist format {suffix!r} (use .csv, .jsonl or .parquet)")


def _reason(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())


def load_entries(
    path: Path,
    defaults: Mapping[str, Any] | None = None,
    lists: Mapping[str, WatchlistList] | None = None,
    only_list: str | None = None,
) -> tuple[list[WatchlistEntry], list[RowError]]:
    """Validated entries of a watchlist file, and the rows that failed with line number and reason.
    A row's missing fields come from `defaults`, then from its list's record in `lists` (see
    list_defaults). With `only_list`, rows name that list or none; a row naming another is refused."""
    valid: list[tuple[int, WatchlistEntry]] = []
    errors: list[RowError] = []
    for line, row in _rows(path):
        if isinstance(row, str):
            errors.append(RowError(line, row))
            continue
        given = {k: v for k, v in row.items() if v is not None}
        if only_list is not None and given.setdefault("list_name", only_list) != only_list:
            errors.append(RowError(line, f"list_name: {given['list_name']!r} is not the list replaced ({only_list!r})"))
            continue
        data = {**(defaults or {}), **given}
        record = (lists or {}).get(str(data.get("list_name")))
        if record is not None:
            data = {**list_defaults(record), **data}
        if not data.get("entry_id") and data.get("plate"):
            data["entry_id"] = derived_entry_id(data)
        try:
            valid.append((line, WatchlistEntry.model_validate(data)))
        except ValidationError as e:
            errors.append(RowError(line, _reason(e)))
    problems = plate_problems([e.plate for _, e in valid])
    errors += [RowError(line, f"plate: {why}") for (line, _), why in zip(valid, problems, strict=True) if why]
    entries = [e for (_, e), why in zip(valid, problems, strict=True) if why is None]
    return entries, sorted(errors, key=lambda err: err.line)


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
            update["valid_from_ms"] = start = e.valid_from_ms or now_ms
            update["valid_until_ms"] = start + record.default_validity_s * 1000
        out.append(e.model_copy(update=update))
    return out


def derived_entry_id(data: Mapping[str, Any]) -> str:
    """The id of an entry given without one: `<agency country>-<list>-<normalized plate>-<plate country|ANY>`."""
    parts = (
        data.get("agency_country", "XX"), data.get("list_name", "list"), listed_form(str(data["plate"])),
        data.get("plate_country") or "ANY",
    )  # fmt: skip
    return "-".join(str(x) for x in parts)


def listed_form(plate: str) -> str:
    """A plate (or each part of a wildcard pattern) normalized: how entry ids and `remove --plate` compare plates."""
    return "*".join(normalize_one(part) or part.strip() for part in plate.split("*"))


def write_entries(entries: list[WatchlistEntry], path: Path) -> None:
    """Write entries as JSON lines, CSV (`;`) or Parquet, by the file's suffix."""
    rows = [e.model_dump(mode="json") for e in entries]
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa

        pq.write_table(pa.Table.from_pylist(rows), path)
    elif suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(WatchlistEntry.model_fields), delimiter=";")
            w.writeheader()
            w.writerows(rows)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
