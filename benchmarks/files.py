"""Watchlist file checks: `anpr-watchlist check` of a CSV, end to end as a user runs it (process start
included), against the model validating every row (the path every row took before), in the same run."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from anpr_engine.files.watchlists import load_entry_rows, write_entries
from benchmarks.data import listed_plates

BASELINE_ROWS = 100_000  # the model path takes about 26 µs a row: a sample is enough for its rate


def bench_file_check(rows: int) -> dict[str, Any]:
    """Seconds of `anpr-watchlist check` on a `rows`-row CSV; and rows/s of the model path on a
    sample of it, as the baseline."""
    listed = listed_plates(rows, seed=rows + 11)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "watchlist.csv"
        write_entries(listed.entries(), path)
        del listed
        check = str(Path(sys.executable).parent / "anpr-watchlist")
        t = time.perf_counter()
        done = subprocess.run([check, "check", str(path)], capture_output=True, text=True, check=False)
        check_s = time.perf_counter() - t
        if done.returncode != 0 or f"{rows} valid entries" not in done.stdout:
            raise RuntimeError(f"check failed: {done.stdout} {done.stderr}")
        sample = Path(tmp) / "sample.csv"
        with path.open() as f, sample.open("w") as out:
            for _ in range(min(rows, BASELINE_ROWS) + 1):
                out.write(f.readline())
        t = time.perf_counter()
        entries, _ = load_entry_rows(sample, bulk=False)
        model_s = time.perf_counter() - t
    model_rate = len(entries) / model_s
    return {
        "rows": rows, "check_s": check_s, "rows_per_s": rows / check_s, "model_rows_per_s": model_rate,
        "ratio": rows / check_s / model_rate,
    }  # fmt: skip
