"""Read files for the offline mode and the simulator: Parquet, JSON lines or CSV ↔ Arrow tables of reads.

CSV has no lists: a read's candidates are one field, joined by CSV_CANDIDATE_SEP.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from anpr_engine.codec.reads import READ_SCHEMA, decode_reads, table_to_json_lines, validate_table

CSV_CANDIDATE_SEP = "|"
_CSV_TYPES = pa.schema([f if f.name != "candidates" else pa.field(f.name, pa.string()) for f in READ_SCHEMA])


def read_reads_file(path: Path) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Valid reads of a file and its invalid rows as (line or row number, reason), validated like Kafka input."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        lines = path.read_bytes().splitlines()
        numbered = [(i, ln) for i, ln in enumerate(lines, start=1) if ln.strip()]
        decoded = decode_reads([ln for _, ln in numbered])
        return decoded.reads, [(numbered[pos][0], why) for pos, why in decoded.rejects]
    if suffix == ".parquet":
        table = pq.read_table(path)
    elif suffix == ".csv":
        table = _from_csv(pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=_CSV_TYPES)))
    else:
        raise ValueError(f"{path}: unknown reads format {suffix!r} (use .parquet, .jsonl or .csv)")
    try:
        decoded = validate_table(table)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from e
    return decoded.reads, [(pos + 1, why) for pos, why in decoded.rejects]


def write_reads_file(table: pa.Table, path: Path) -> None:
    """Write a READ_SCHEMA table as Parquet, CSV or JSON lines, by the file's suffix."""
    table = table.select(READ_SCHEMA.names)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        pq.write_table(table, path)
    elif suffix == ".csv":
        joined = pc.binary_join(table["candidates"], CSV_CANDIDATE_SEP)
        pcsv.write_csv(table.set_column(table.column_names.index("candidates"), "candidates", joined), path)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        path.write_bytes(table_to_json_lines(table))
    else:
        raise ValueError(f"{path}: unknown reads format {suffix!r} (use .parquet, .jsonl or .csv)")


def _from_csv(table: pa.Table) -> pa.Table:
    """CSV has no null: an empty country is an unknown one, empty candidates are none."""
    for name in ("plate_country", "candidates"):
        if name in table.column_names:
            col = table[name]
            col = pc.if_else(pc.equal(col, ""), None, col)
            if name == "candidates":
                col = pc.split_pattern(col, CSV_CANDIDATE_SEP)
            table = table.set_column(table.column_names.index(name), name, col)
    return table
