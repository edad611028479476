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
from anpr_engine.models import WatchlistEntry
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


def load_entries(path: Path, defaults: Mapping[str, Any] | None = None) -> tuple[list[WatchlistEntry], list[RowError]]:
    """Validated entries of a watchlist file, and the rows that failed with line number and reason."""
    valid: list[tuple[int, WatchlistEntry]] = []
    errors: list[RowError] = []
    for line, row in _rows(path):
        if isinstance(row, str):
            errors.append(RowError(line, row))
            continue
        data = {**(defaults or {}), **{k: v for k, v in row.items() if v is not None}}
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
