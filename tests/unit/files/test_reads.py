"""Read files: every format round-trips, bad rows are reported with their line, missing columns are a clear error."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from anpr_engine.codec.reads import reads_to_table
from anpr_engine.files.reads import read_reads_file, write_reads_file
from anpr_simulators.traffic import Traffic, make_watchlists


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_reads_round_trip_and_bad_rows(tmp_path: Path, suffix: str) -> None:
    reads = [s.read for s in Traffic(make_watchlists(5, 1), seed=2).take(50)]
    table = reads_to_table(reads)
    bad = table.slice(0, 1).set_column(2, "camera_country", pa.array(["nl"]))
    write_reads_file(pa.concat_tables([table, bad]), tmp_path / f"r{suffix}")
    got, rejects = read_reads_file(tmp_path / f"r{suffix}")
    assert got.drop_columns(["_msg"]).to_pylist() == table.to_pylist()
    assert [line for line, _ in rejects] == [51]


def test_parquet_reads_missing_column_is_a_clear_error(tmp_path: Path) -> None:
    pq.write_table(pa.table({"plate_text": ["AB"]}), tmp_path / "r.parquet")
    with pytest.raises(ValueError, match="missing columns"):
        read_reads_file(tmp_path / "r.parquet")
