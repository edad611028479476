"""The benchmarks at a tiny size, so they cannot rot: they run and their outputs agree (never their speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REQUIRED = [
    "matcher.reads_per_s", "matcher.baseline_reads_per_s", "matcher.ratio", "pipeline.reads_per_s",
    "pipeline.raw_consume_per_s", "pipeline.naive_per_s", "pipeline.ratio_raw", "pipeline.ratio_naive",
    "pipeline.batched_reads_per_s", "pipeline.ratio_batched_naive", "latency_ms.p50", "latency_ms.p99",
    "watchlist.load_s_1m", "watchlist.bytes_per_entry", "watchlist.topic_load_s_1m", "watchlist.update_p99_ms",
    "watchlist.read_throughput_under_updates", "watchlist.file_check_s_1m", "pipeline.ratio_exactly_once",
    "pipeline.ratio_exactly_once_batched",
]  # fmt: skip


def test_tiny_benchmark_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--tiny", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    latest = json.loads((tmp_path / "latest.json").read_text())
    for key in REQUIRED:
        section, name = key.split(".")
        assert isinstance(latest[section][name], int | float) and latest[section][name] > 0, key
    assert latest["machine"]["cores"] and latest["machine"]["cpu_model"] and latest["timestamp"]
    details = latest["details"]
    assert all(r["hits_equal_baseline"] for r in details["matcher"])  # engine and plain Python agree
    pipe = details["pipeline"]
    assert pipe["alerts"] == pipe["batched_alerts"] == pipe["ndjson_alerts"] == pipe["exactly_once_alerts"] > 0
    assert all(r["alerts"] > 0 for r in details["latency"])
    quality = json.loads((tmp_path / "quality.json").read_text())
    assert isinstance(quality["default"]["false_alerts_added_over_exact_per_million"], float)
    for name in ("default", "exact/strict", "exact/lenient", "format_1/lenient", "ocr_equivalent_1/strict"):
        assert 0 < quality[name]["recall"] <= 1 and quality[name]["false_alerts_per_million"] >= 0
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
